import { pgTable, uuid, text, timestamp, integer, index, boolean, smallint } from 'drizzle-orm/pg-core'

export const organisations = pgTable(
  'organisations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull().unique(),
    sector: text('sector').notNull(),
    country: text('country').notNull(),
    status: text('status').notNull().default('active'),
    contactEmail: text('contact_email').notNull(),
    contactPhone: text('contact_phone'),
    contactHours: text('contact_hours'),
    // The lifecycle's settings (migrations/0014): four-eyes publication, retention periods in months.
    fourEyes: boolean('four_eyes').notNull().default(true),
    retentionPersonalMonths: smallint('retention_personal_months').notNull().default(12),
    retentionOtherMonths: smallint('retention_other_months').notNull().default(36),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('organisations_created_id_idx').on(t.createdAt, t.id)],
)

export type OrganisationRow = typeof organisations.$inferSelect
