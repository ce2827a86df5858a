import { sql } from 'drizzle-orm'
import { pgTable, uuid, text, timestamp, jsonb, bigint, index, smallint } from 'drizzle-orm/pg-core'
import { xid8 } from './types.js'

// Append-only: the service role holds INSERT and SELECT only, and a trigger refuses UPDATE,
// DELETE and TRUNCATE for everyone. Events are chained (hash, previous hash) by the chainer
// into audit_chain, in (xid, id) order below the oldest running transaction. The one change the
// database allows: the pruning job's dcx_audit_prune() clearing the payload (details, client
// address, user agent) of old events chained under scheme 2 (migration 0017, audit/pruning.ts).
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
    /** null once pruned. */
    details: jsonb('details').default(sql`'{}'::jsonb`),
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
  /** 1: the hash covers the whole event (chained before 0017); 2: the header and payloadDigest (audit/canonical.ts). */
  scheme: smallint('scheme').notNull(),
  /** Scheme 2: SHA-256 of the event's canonical payload, fixed when it was chained. */
  payloadDigest: text('payload_digest'),
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
