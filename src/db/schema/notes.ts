import { sql } from 'drizzle-orm'
import { pgTable, uuid, text, timestamp, integer, index, bigint, primaryKey } from 'drizzle-orm/pg-core'
import { organisations } from './organisations.js'
import { sharingGroups } from './sharing-groups.js'
import { accounts } from './accounts.js'
import { tsvector, xid8 } from './types.js'

export const notes = pgTable(
  'notes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    title: text('title').notNull(),
    summary: text('summary').notNull(),
    body: text('body').notNull(),
    topics: text('topics').array().notNull(),
    sectors: text('sectors').array().notNull().default(sql`'{}'::text[]`),
    language: text('language').notNull(),
    tlp: text('tlp').notNull(),
    distribution: text('distribution').notNull(),
    sharingGroupId: uuid('sharing_group_id').references(() => sharingGroups.id),
    status: text('status').notNull().default('published'),
    // The lifecycle (migrations/0014): SIENA handling code (H3 states its restriction in the
    // note), organisations added by an approved share request, and the review-by date (a trigger
    // fills it from the owner's retention settings when the writer gives none).
    handlingCode: text('handling_code').notNull().default('H0'),
    handlingNote: text('handling_note'),
    grantedTo: uuid('granted_to').array().notNull().default(sql`'{}'::uuid[]`),
    // No column default: the BEFORE INSERT trigger fills a missing date (default(null) only makes it optional to drizzle).
    reviewBy: timestamp('review_by', { withTimezone: true, precision: 3 }).notNull().default(sql`null`),
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
    search: tsvector('search').generatedAlwaysAs(
      sql`setweight(to_tsvector('simple'::regconfig, title), 'A') || setweight(to_tsvector('simple'::regconfig, summary), 'B') || setweight(to_tsvector('simple'::regconfig, body), 'C')`,
    ),
  },
  (t) => [
    index('notes_updated_idx').on(t.updatedAt, t.id),
    index('notes_created_idx').on(t.createdAt, t.id),
    index('notes_change_idx').on(t.changeXid, t.changeSeq),
    index('notes_search_idx').using('gin', t.search),
  ],
)

// Every version of a note as it was written; the current one is also in notes. A revision is an
// item of its own: owner, TLP, distribution and group as that version had them, and row-level
// security shows each one only to those that version reaches.
export const noteRevisions = pgTable(
  'note_revisions',
  {
    noteId: uuid('note_id')
      .notNull()
      .references(() => notes.id),
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    version: integer('version').notNull(),
    title: text('title').notNull(),
    summary: text('summary').notNull(),
    body: text('body').notNull(),
    topics: text('topics').array().notNull(),
    sectors: text('sectors').array().notNull(),
    language: text('language').notNull(),
    tlp: text('tlp').notNull(),
    distribution: text('distribution').notNull(),
    sharingGroupId: uuid('sharing_group_id'),
    status: text('status').notNull(),
    handlingCode: text('handling_code').notNull().default('H0'),
    handlingNote: text('handling_note'),
    grantedTo: uuid('granted_to').array().notNull().default(sql`'{}'::uuid[]`),
    editedBy: uuid('edited_by').references(() => accounts.id),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.noteId, t.version] })],
)

export type NoteRow = typeof notes.$inferSelect
export type NoteRevisionRow = typeof noteRevisions.$inferSelect
