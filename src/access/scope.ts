// One request's scope: the transaction, the caller's settings for row-level security, and the
// request's audit event, as one unit. A service that reads or writes protected data runs inside
// scope.tx(): the event (outcome ok) is written in the same transaction as the work, so a write
// and its event commit together, and a read whose event cannot be written fails closed.
// Anything that never reaches tx() — refusals, errors, directory reads — is recorded by the
// HTTP adapter (plugins/audit.ts) through recordOutside() before the response leaves.
import type { Queryable, Db, Tx } from '../db/client.js'
import type { Actor } from '../core/actor.js'
import { auditEvents } from '../db/schema/index.js'
import { withActor } from './visibility.js'
import { holdOn } from '../db/pipeline.js'
import type { Deadline } from '../core/deadline.js'

export type Outcome = 'ok' | 'denied' | 'error'

export function outcomeOf(status: number): Outcome {
  return status < 400 ? 'ok' : status >= 500 ? 'error' : 'denied'
}

export interface AuditNote {
  /** Refine the event: the id of what was created, counts returned, the query, what changed (its type is declared per operation). */
  set(entry: { resourceId?: string | null; details?: Record<string, unknown>; status?: number }): void
}

export interface Ctx {
  actor: Actor
  /** A transaction carrying the actor for row-level security, with the request's audit event written in it. */
  tx<T>(fn: (tx: Tx, audit: AuditNote) => Promise<T>): Promise<T>
}

/** The event being built for one request. */
export interface AuditState {
  action: string
  resourceType: string | null
  resourceId: string | null
  details: Record<string, unknown>
  /** The status the route will answer with, for events written inside the transaction. */
  status?: number
  recorded: boolean
  /**
   * Checked on the outermost tx()'s result before its event is written (access/justification.ts):
   * throwing rolls the work back and the refusal is recorded instead.
   */
  beforeCommit?: (out: unknown) => void
  /** Who was behind the credential when there is no actor (token endpoint, refusals). */
  clientId?: string
  accountId?: string
  organisationId?: string
}

/** What the audit row needs from the request, independent of Fastify. */
export interface RequestFacts {
  requestId: string
  clientAddress: string
  userAgent: string | undefined
}

const MAX_UA = 256

/** jsonb refuses NUL and unpaired surrogates: a refused request's query must still be recorded. */
export function storable(v: unknown): unknown {
  if (typeof v === 'string') return v.replace(/\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\ufffd')
  if (Array.isArray(v)) return v.map(storable)
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [storable(k) as string, storable(x)]))
  return v
}

const text = (v: string | null | undefined, max: number) => (v == null ? null : (storable(v.slice(0, max)) as string))

export function eventValues(facts: RequestFacts, actor: Actor | null, st: AuditState, outcome: Outcome, status: number | null) {
  return {
    accountId: actor?.accountId ?? st.accountId ?? null,
    organisationId: actor?.organisationId ?? st.organisationId ?? null,
    clientId: text(actor?.clientId ?? st.clientId ?? null, 200),
    action: st.action,
    resourceType: st.resourceType,
    resourceId: text(st.resourceId, 100),
    outcome,
    status,
    requestId: text(facts.requestId, 128) ?? '',
    clientAddress: facts.clientAddress,
    userAgent: text(facts.userAgent ?? null, MAX_UA),
    details: storable(st.details) as Record<string, unknown>,
  }
}

export interface ScopeDeps {
  db: Db
  /** False only in benchmarks that measure the cost of recording. */
  recording: boolean
}

const EVENT_INSERT =
  'insert into audit_events (account_id, organisation_id, client_id, action, resource_type, resource_id, outcome, status, request_id, client_address, user_agent, details) ' +
  'values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)'

export async function writeEvent(
  deps: ScopeDeps,
  q: Queryable,
  facts: RequestFacts,
  actor: Actor | null,
  st: AuditState,
  outcome: Outcome,
  status: number | null,
) {
  if (!deps.recording) return
  const v = eventValues(facts, actor, st, outcome, status)
  // Inside a request's transaction the insert travels with COMMIT (db/pipeline.ts), its text written once.
  const params = [
    v.accountId,
    v.organisationId,
    v.clientId,
    v.action,
    v.resourceType,
    v.resourceId,
    v.outcome,
    v.status,
    v.requestId,
    v.clientAddress,
    v.userAgent,
    JSON.stringify(v.details),
  ]
  if (!holdOn(q, { sql: EVENT_INSERT, params })) await q.insert(auditEvents).values(v)
}

/**
 * The scope of one request. Re-entrant: a service called inside an outer tx() (the idempotency
 * wrapper) joins it. With the request's deadline, tx() commits nothing after it (withActor).
 */
export function openScope(deps: ScopeDeps, actor: Actor, facts: RequestFacts, st: AuditState, deadline?: Deadline): Ctx {
  const note: AuditNote = {
    set(e) {
      if (e.resourceId !== undefined) st.resourceId = e.resourceId
      if (e.details) Object.assign(st.details, e.details)
      if (e.status !== undefined) st.status = e.status
    },
  }
  let open: Tx | undefined
  return {
    actor,
    tx: async (fn) => {
      if (open) return fn(open, note)
      const result = await withActor(
        deps.db,
        actor,
        async (tx) => {
          open = tx
          try {
            const out = await fn(tx, note)
            st.beforeCommit?.(out)
            await writeEvent(deps, tx, facts, actor, st, 'ok', st.status ?? 200)
            return out
          } finally {
            open = undefined
          }
        },
        deadline,
      )
      st.recorded = true
      return result
    },
  }
}
