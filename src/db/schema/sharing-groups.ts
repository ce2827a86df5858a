import { pgTable, uuid, text, timestamp, integer, primaryKey, index } from 'drizzle-orm/pg-core'
import { organisations } from './organisations.js'

export const sharingGroups = pgTable(
  'sharing_groups',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    name: text('name').notNull(),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('sharing_groups_owner_idx').on(t.organisationId)],
)

// The owner organisation is always a member (inserted with the group).
export const sharingGroupMembers = pgTable(
  'sharing_group_members',
  {
    groupId: uuid('group_id')
      .notNull()
      .references(() => sharingGroups.id, { onDelete: 'cascade' }),
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.organisationId] }), index('sharing_group_members_org_idx').on(t.organisationId, t.groupId)],
)

export type SharingGroupRow = typeof sharingGroups.$inferSelect
