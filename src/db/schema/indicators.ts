import { sql } from 'drizzle-orm'
import { pgTable, uuid, text, timestamp, integer, smallint, index, bigint, jsonb } from 'drizzle-orm/pg-core'
import { organisations } from './organisations.js'
import { sharingGroups } from './sharing-groups.js'
import { accounts } from './accounts.js'
import { bytea, tsvector, xid8 } from './types.js'

export const indicators = pgTable(
  'indicators',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    type: text('type').notNull(),
    value: text('value').notNull(),
    normalizedValue: text('normalized_value').notNull(),
    network: text('network'),
    valueVisibility: text('value_visibility').notNull().default('full'),
    description: text('description').notNull().default(''),
    confidence: smallint('confidence').notNull().default(50),
    reliability: text('reliability').notNull().default('F'),
    credibility: smallint('credibility').notNull().default(6),
    tlp: text('tlp').notNull(),
    distribution: text('distribution').notNull(),
    sharingGroupId: uuid('sharing_group_id').references(() => sharingGroups.id),
    validFrom: timestamp('valid_from', { withTimezone: true, precision: 3 }),
    validUntil: timestamp('valid_until', { withTimezone: true, precision: 3 }),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    countries: text('countries').array().notNull().default(sql`'{}'::text[]`),
    status: text('status').notNull().default('active'),
    // The lifecycle (migrations/0014): SIENA handling code (H3 states its restriction in the
    // note), organisations added by an approved share request, and the review-by date (a trigger
    // fills it from the owner's retention settings when the writer gives none).
    handlingCode: text('handling_code').notNull().default('H0'),
    handlingNote: text('handling_note'),
    grantedTo: uuid('granted_to').array().notNull().default(sql`'{}'::uuid[]`),
    // No column default: the BEFORE INSERT trigger fills a missing date (default(null) only makes it optional to drizzle).
    reviewBy: timestamp('review_by', { withTimezone: true, precision: 3 }).notNull().default(sql`null`),
    // What a STIX producer said that the columns above cannot hold (migrations/0019): its id (the
    // object is served under it), its properties kept verbatim, and the objects it pushed along
    // that the object references (modules/stix/stix.provenance.ts).
    stixId: text('stix_id'),
    stix: jsonb('stix').$type<Record<string, unknown>>(),
    stixRefs: jsonb('stix_refs').$type<Record<string, unknown>[]>(),
    version: integer('version').notNull().default(1),
    createdBy: uuid('created_by').references(() => accounts.id),
    // Four-eyes (migrations/0015): a draft sent back, why, by whom, when.
    sentBackReason: text('sent_back_reason'),
    sentBackBy: uuid('sent_back_by'),
    sentBackAt: timestamp('sent_back_at', { withTimezone: true, precision: 3 }),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    changeXid: xid8('change_xid').notNull().default(sql`pg_current_xact_id()`),
    changeSeq: bigint('change_seq', { mode: 'number' }).notNull().default(sql`nextval('change_seq')`),
    search: tsvector('search').generatedAlwaysAs(sql`to_tsvector('simple'::regconfig, value || ' ' || description)`),
    // What matching probes (migrations/0013; the same digest as modules/indicators/digest.ts). Its
    // covering index (match_digest) INCLUDE (…) is declared in that migration: drizzle cannot say INCLUDE.
    matchDigest: bytea('match_digest').generatedAlwaysAs(sql`dcx_match_digest(type, normalized_value)`),
  },
  (t) => [
    index('indicators_normalized_idx').on(t.normalizedValue),
    index('indicators_updated_idx').on(t.updatedAt, t.id),
    // Lists are newest first by creation, keyset-paged: scanned backwards, this index serves
    // ORDER BY created_at DESC, id DESC at any size.
    index('indicators_created_idx').on(t.createdAt, t.id),
    index('indicators_org_updated_idx').on(t.organisationId, t.updatedAt, t.id),
    index('indicators_change_idx').on(t.changeXid, t.changeSeq),
    index('indicators_search_idx').using('gin', t.search),
    index('indicators_tags_idx').using('gin', t.tags),
    index('indicators_stix_id_idx').on(t.stixId).where(sql`stix_id IS NOT NULL`),
  ],
)

export const sightings = pgTable(
  'sightings',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    indicatorId: uuid('indicator_id')
      .notNull()
      .references(() => indicators.id),
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id),
    seenAt: timestamp('seen_at', { withTimezone: true, precision: 3 }).notNull(),
    count: integer('count').notNull().default(1),
    outcome: text('outcome').notNull().default('seen'),
    note: text('note'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('sightings_indicator_idx').on(t.indicatorId, t.organisationId)],
)

export type IndicatorRow = typeof indicators.$inferSelect
export type SightingRow = typeof sightings.$inferSelect
