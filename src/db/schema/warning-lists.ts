// Warning lists and yield counts (migrations/0020_warning_lists_yield.sql, which also holds their
// row-level security; dcx_count_matches() as it is now, the match events and their fold: 0022).
import { sql } from 'drizzle-orm'
import { pgTable, uuid, text, timestamp, integer, bigint, bigserial, index, primaryKey } from 'drizzle-orm/pg-core'
import { organisations } from './organisations.js'
import { accounts } from './accounts.js'
import { indicators } from './indicators.js'
import { bytea } from './types.js'

/** A warning list: platform-curated (organisationId null) or one organisation's. */
export const warningLists = pgTable(
  'warning_lists',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    scope: text('scope').notNull(),
    organisationId: uuid('organisation_id').references(() => organisations.id),
    name: text('name').notNull(),
    reason: text('reason').notNull(),
    version: integer('version').notNull().default(1),
    createdBy: uuid('created_by').references(() => accounts.id),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('warning_lists_org_idx').on(t.organisationId, t.createdAt, t.id)],
)

/** An entry: a normalised value and its match digest (the same as indicators.match_digest). */
export const warningListEntries = pgTable(
  'warning_list_entries',
  {
    listId: uuid('list_id')
      .notNull()
      .references(() => warningLists.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    normalizedValue: text('normalized_value').notNull(),
    // Its index (match_digest) INCLUDE (list_id) is declared in the migration: drizzle cannot say INCLUDE.
    matchDigest: bytea('match_digest').generatedAlwaysAs(sql`dcx_match_digest(type, normalized_value)`),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.listId, t.type, t.normalizedValue] })],
)

/** Times each indicator was returned by a match; written only by dcx_fold_match_counts(), from indicatorMatchEvents. */
export const indicatorMatchCounts = pgTable('indicator_match_counts', {
  indicatorId: uuid('indicator_id')
    .primaryKey()
    .references(() => indicators.id, { onDelete: 'cascade' }),
  organisationId: uuid('organisation_id')
    .notNull()
    .references(() => organisations.id),
  matches: bigint('matches', { mode: 'number' }).notNull().default(0),
  lastMatchedAt: timestamp('last_matched_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
})

/**
 * One match call's counts, appended by dcx_count_matches() (the ids it returned that the caller may
 * see, and how often each), until dcx_fold_match_counts() folds them into indicatorMatchCounts.
 * The owner's (migrating user's) only: no grant to the service role.
 */
export const indicatorMatchEvents = pgTable('indicator_match_events', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  ids: uuid('ids').array().notNull(),
  n: integer('n').array().notNull(),
  at: timestamp('at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
})

export type WarningListRow = typeof warningLists.$inferSelect
