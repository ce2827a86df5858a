// H1 consents and H2 share requests (migrations/0015_share_four_eyes.sql; DESIGN §7).
import { sql } from 'drizzle-orm'
import { index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { organisations } from './organisations.js'

export const handlingConsents = pgTable(
  'handling_consents',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    itemKind: text('item_kind').notNull(),
    itemId: uuid('item_id').notNull(),
    ownerOrganisationId: uuid('owner_organisation_id')
      .notNull()
      .references(() => organisations.id),
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    purpose: text('purpose').notNull(),
    createdBy: uuid('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    // Withdrawn by the owner's org_admin (migration 0024): the record stays.
    withdrawnAt: timestamp('withdrawn_at', { withTimezone: true, precision: 3 }),
    withdrawnBy: uuid('withdrawn_by'),
    withdrawalReason: text('withdrawal_reason'),
  },
  (t) => [
    // One live consent per item and organisation; a withdrawn one may be followed by a new one.
    uniqueIndex('handling_consents_once').on(t.itemId, t.organisationId).where(sql`withdrawn_at IS NULL`),
    index('handling_consents_org_idx').on(t.organisationId, t.itemId),
  ],
)

export const shareRequests = pgTable(
  'share_requests',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    itemKind: text('item_kind').notNull(),
    itemId: uuid('item_id').notNull(),
    ownerOrganisationId: uuid('owner_organisation_id')
      .notNull()
      .references(() => organisations.id),
    requesterOrganisationId: uuid('requester_organisation_id')
      .notNull()
      .references(() => organisations.id),
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    reason: text('reason').notNull(),
    status: text('status').notNull().default('pending'),
    requestedBy: uuid('requested_by').notNull(),
    decidedBy: uuid('decided_by'),
    decidedAt: timestamp('decided_at', { withTimezone: true, precision: 3 }),
    decisionReason: text('decision_reason'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    index('share_requests_owner_idx').on(t.ownerOrganisationId, t.createdAt.desc(), t.id.desc()),
    index('share_requests_requester_idx').on(t.requesterOrganisationId, t.createdAt.desc(), t.id.desc()),
  ],
)

export type HandlingConsentRow = typeof handlingConsents.$inferSelect
export type ShareRequestRow = typeof shareRequests.$inferSelect
