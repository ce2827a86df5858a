import { sql } from 'drizzle-orm'
import { pgTable, uuid, text, timestamp, jsonb, index } from 'drizzle-orm/pg-core'
import { organisations } from './organisations.js'
import { accounts } from './accounts.js'

// TAXII 2.1 status resources (§4.3): the outcome of each POST to a collection's objects, kept so
// the client can GET /taxii2/dcx/status/{id}/ later. Readable by the posting organisation only
// (row-level security, migrations/*_taxii_grants.sql).
export const taxiiStatuses = pgTable(
  'taxii_statuses',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id),
    collectionId: text('collection_id').notNull(),
    status: jsonb('status').notNull(),
    // A large push's accepted objects until they are processed (taxii.pending.ts); null when done.
    pendingObjects: jsonb('pending_objects'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    index('taxii_statuses_org_created_idx').on(t.organisationId, t.createdAt),
    index('taxii_statuses_pending_idx').on(t.createdAt).where(sql`pending_objects IS NOT NULL`),
  ],
)

export type TaxiiStatusRow = typeof taxiiStatuses.$inferSelect
