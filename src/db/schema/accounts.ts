import { pgTable, uuid, text, timestamp, integer, boolean, index } from 'drizzle-orm/pg-core'
import { organisations } from './organisations.js'

export const accounts = pgTable(
  'accounts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    name: text('name').notNull(),
    roles: text('roles').array().notNull(),
    disabled: boolean('disabled').notNull().default(false),
    clientId: text('client_id').notNull().unique(),
    // scrypt$N$r$p$salt$hash — never selected into a response schema.
    secretHash: text('secret_hash').notNull(),
    secretRotatedAt: timestamp('secret_rotated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    /** Used when a request carries no DCX-Justification header (access/justification.ts). */
    defaultJustification: text('default_justification'),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('accounts_org_created_idx').on(t.organisationId, t.createdAt, t.id)],
)

export type AccountRow = typeof accounts.$inferSelect
