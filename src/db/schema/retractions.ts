import { pgTable, uuid, text, timestamp, integer, index, primaryKey, unique } from 'drizzle-orm/pg-core'
import { sql } from 'drizzle-orm'
import { organisations } from './organisations.js'
import { accounts } from './accounts.js'

// Retraction (migrations/0016): which organisations received an item, and the notices they get
// when it is revoked, erased, narrowed or switched to match_only. Row-level security: a receipt
// is its receiving organisation's; a notice is its recipient's and its owner's.
export const itemReceipts = pgTable(
  'item_receipts',
  {
    itemId: uuid('item_id').notNull(),
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    kind: text('kind').notNull(),
    firstAt: timestamp('first_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.itemId, t.organisationId] })],
)

export const retractionNotices = pgTable(
  'retraction_notices',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: text('kind').notNull(),
    itemId: uuid('item_id').notNull(),
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => organisations.id),
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    reason: text('reason').notNull(),
    itemVersion: integer('item_version').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    acknowledgedAt: timestamp('acknowledged_at', { withTimezone: true, precision: 3 }),
    acknowledgedBy: uuid('acknowledged_by').references(() => accounts.id),
  },
  (t) => [
    unique().on(t.itemId, t.organisationId, t.itemVersion),
    index('retraction_notices_pending_idx').on(t.organisationId, t.createdAt, t.id).where(sql`acknowledged_at IS NULL`),
    index('retraction_notices_item_idx').on(t.itemId, t.createdAt, t.id),
  ],
)

export type RetractionNoticeRow = typeof retractionNotices.$inferSelect
