import { sql } from 'drizzle-orm'
import { pgTable, uuid, text, timestamp, jsonb, bigint, index } from 'drizzle-orm/pg-core'
import { xid8 } from './types.js'

// Append-only: the service role holds INSERT and SELECT only, and a trigger refuses UPDATE,
// DELETE and TRUNCATE for everyone. Events are chained (hash, previous hash) by the chainer
// into audit_chain, in (xid, id) order below the oldest running transaction.
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    time: timestamp('time', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    accountId: uuid('account_id'),
    organisationId: uuid('organisation_id'),
    clientId: text('client_id'),
    action: text('action').notNull(),
    resourceType: text('resource_type'),
    resourceId: text('resource_id'),
    outcome: text('outcome').notNull(),
    status: bigint('status', { mode: 'number' }),
    requestId: text('request_id'),
    clientAddress: text('client_address'),
    userAgent: text('user_agent'),
    details: jsonb('details').notNull().default(sql`'{}'::jsonb`),
    xid: xid8('xid').notNull().default(sql`pg_current_xact_id()`),
  },
  (t) => [
    index('audit_events_xid_idx').on(t.xid, t.id),
    index('audit_events_time_idx').on(t.time, t.id),
    index('audit_events_org_time_idx').on(t.organisationId, t.time, t.id),
    index('audit_events_account_time_idx').on(t.accountId, t.time, t.id),
    index('audit_events_resource_idx').on(t.resourceType, t.resourceId),
  ],
)

export const auditChain = pgTable('audit_chain', {
  sequence: bigint('sequence', { mode: 'number' }).primaryKey(),
  eventId: bigint('event_id', { mode: 'number' }).notNull().unique(),
  hash: text('hash').notNull(),
  previousHash: text('previous_hash').notNull(),
  chainedAt: timestamp('chained_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
})

export const auditCheckpoints = pgTable('audit_checkpoints', {
  sequence: bigint('sequence', { mode: 'number' }).primaryKey(),
  hash: text('hash').notNull(),
  time: timestamp('time', { withTimezone: true, precision: 3 }).notNull(),
  kid: text('kid').notNull(),
  // Compact JWS (EdDSA) over {"sequence","hash","time"}.
  signature: text('signature').notNull(),
})

export type AuditEventRow = typeof auditEvents.$inferSelect
