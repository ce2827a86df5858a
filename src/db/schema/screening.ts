import { bigint, date, index, integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { accounts } from './accounts.js'
import { indicators } from './indicators.js'
import { organisations } from './organisations.js'
import { bytea } from './types.js'

// Oblivious screening (migrations/0018_screening.sql; DESIGN.md §8). The CHECKs, row-level
// security and the tagger's SECURITY DEFINER functions are in the migration.

/** One VOPRF key per epoch; the secret half sealed under DCX_MASTER_KEY. */
export const screeningKeys = pgTable('screening_keys', {
  epoch: integer('epoch').primaryKey(),
  publicKey: bytea('public_key').notNull(),
  secretKeyEnc: text('secret_key_enc').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  /** Current until then; accepted (evaluate, resolve) until notAfter. */
  rotatesAt: timestamp('rotates_at', { withTimezone: true, precision: 3 }).notNull(),
  notAfter: timestamp('not_after', { withTimezone: true, precision: 3 }).notNull(),
})

/** A holding's 8-byte tag in an epoch, at the holding's change_seq. */
export const screeningTags = pgTable(
  'screening_tags',
  {
    indicatorId: uuid('indicator_id')
      .notNull()
      .references(() => indicators.id, { onDelete: 'cascade' }),
    epoch: integer('epoch')
      .notNull()
      .references(() => screeningKeys.epoch, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    tag: bytea('tag').notNull(),
    changeSeq: bigint('change_seq', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.indicatorId, t.epoch] }), index('screening_tags_lookup_idx').on(t.epoch, t.type, t.tag)],
)

/** Elements evaluated per organisation and UTC day. */
export const screeningQuota = pgTable(
  'screening_quota',
  {
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    day: date('day').notNull(),
    used: integer('used').notNull(),
  },
  (t) => [primaryKey({ columns: [t.organisationId, t.day] })],
)

/** Which holding a resolve disclosed to which organisation: the owner's notices. */
export const screeningDisclosures = pgTable(
  'screening_disclosures',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    indicatorId: uuid('indicator_id')
      .notNull()
      .references(() => indicators.id, { onDelete: 'cascade' }),
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => organisations.id),
    disclosedTo: uuid('disclosed_to')
      .notNull()
      .references(() => organisations.id),
    accountId: uuid('account_id').references(() => accounts.id),
    epoch: integer('epoch').notNull(),
    type: text('type').notNull(),
    justification: text('justification'),
    requestId: text('request_id'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('screening_disclosures_owner_idx').on(t.ownerId, t.createdAt, t.id)],
)

export type ScreeningKeyRow = typeof screeningKeys.$inferSelect
