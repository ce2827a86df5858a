// Every /v1 request leaves an audit event (DESIGN §4). A service that reads or writes protected
// data runs inside ctx.tx(), which writes the event (outcome ok) in the same transaction as the
// work: a write and its event commit together, and a read whose event cannot be written fails
// closed. Anything else — refusals, errors, simple directory reads — is recorded by the onSend
// hook before the response leaves; if that insert fails, the client gets a 500, not the data.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { auditEvents } from '../db/schema/index.js'
import type { Queryable, Tx } from '../db/client.js'
import type { Actor } from './auth.js'
import { withActor } from '../modules/access/visibility.js'
import { AuditChainer } from '../modules/audit/chain.js'

export type Outcome = 'ok' | 'denied' | 'error'

export interface AuditNote {
  /** Refine the event: the id of what was created, counts returned, the query, what changed. */
  set(entry: { resourceType?: string; resourceId?: string | null; details?: Record<string, unknown>; status?: number }): void
}

export interface Ctx {
  actor: Actor
  /** A transaction carrying the actor for row-level security, with the request's audit event written in it. */
  tx<T>(fn: (tx: Tx, audit: AuditNote) => Promise<T>): Promise<T>
}

interface AuditState {
  action: string
  resourceType: string | null
  resourceId: string | null
  details: Record<string, unknown>
  /** The status the route will answer with, for events written inside the transaction. */
  status?: number
  recorded: boolean
  /** For the token endpoint: the client id tried, and the account when it succeeded. */
  clientId?: string
  accountId?: string
  organisationId?: string
}

declare module 'fastify' {
  interface FastifyInstance {
    chainer: AuditChainer
    /** Benchmark-only switch (BuildOptions.auditRecording, never configuration): compare with recording off. */
    auditEnabled: boolean
  }
  interface FastifyRequest {
    auditState: AuditState | null
    ctx: Ctx
  }
  interface FastifyContextConfig {
    /** Override the audit action / resource type derived from the route. */
    audit?: { action?: string; resourceType?: string; skip?: boolean }
  }
}

const MAX_UA = 256

/** The TAXII 2.1 server (src/modules/taxii) is audited like /v1: every pull and push. */
const isTaxii = (url: string) => url.startsWith('/taxii2/')

function resourceTypeOf(url: string): string | null {
  if (isTaxii(url)) return 'taxii'
  const m = /^\/v1\/([a-z-]+)/.exec(url)
  if (!m?.[1]) return null
  const plural = m[1]
  return plural === 'me' ? 'account' : plural.replace(/-/g, '_').replace(/ies$/, 'y').replace(/s$/, '')
}

/** jsonb refuses NUL and unpaired surrogates: a refused request's query must still be recorded. */
function storable(v: unknown): unknown {
  if (typeof v === 'string') return v.replace(/\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\ufffd')
  if (Array.isArray(v)) return v.map(storable)
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [storable(k) as string, storable(x)]))
  return v
}

export function outcomeOf(status: number): Outcome {
  return status < 400 ? 'ok' : status >= 500 ? 'error' : 'denied'
}

export default fp<{ recording?: boolean }>(
  async (app, opts) => {
    const chainer = new AuditChainer(app.db, app.keys, app.log)
    app.decorate('chainer', chainer)
    app.decorate('auditEnabled', opts.recording !== false)
    chainer.start()
    app.addHook('onClose', async () => chainer.stop())

    function eventValues(request: FastifyRequest, st: AuditState, outcome: Outcome, status: number | null) {
      const actor = request.actor as Actor | null
      const ua = request.headers['user-agent']
      return {
        accountId: actor?.accountId ?? st.accountId ?? null,
        organisationId: actor?.organisationId ?? st.organisationId ?? null,
        clientId: actor?.clientId ?? st.clientId ?? null,
        action: st.action,
        resourceType: st.resourceType,
        resourceId: st.resourceId,
        outcome,
        status,
        requestId: String(request.id),
        clientAddress: request.ip,
        userAgent: typeof ua === 'string' ? ua.slice(0, MAX_UA) : null,
        details: storable(st.details) as Record<string, unknown>,
      }
    }

    async function insert(q: Queryable, request: FastifyRequest, st: AuditState, outcome: Outcome, status: number | null) {
      if (!app.auditEnabled) return
      await q.insert(auditEvents).values(eventValues(request, st, outcome, status))
    }

    app.decorateRequest('auditState', null)
    app.decorateRequest('ctx', null as unknown as Ctx)

    // Auth ran in onRequest, so the actor is known here; validation has not run yet.
    app.addHook('preValidation', async (request) => {
      prepare(request)
    })

    function prepare(request: FastifyRequest): AuditState | null {
      if (request.auditState) return request.auditState
      const url = request.routeOptions.url
      const cfg = request.routeOptions.config.audit
      if (cfg?.skip) return null
      if (url && !url.startsWith('/v1/') && !isTaxii(url)) return null
      const params = request.params as { id?: unknown } | undefined
      const st: AuditState = {
        action: cfg?.action ?? (request.routeOptions.schema?.operationId as string | undefined) ?? (url ? `${request.method} ${url}` : 'unknownRoute'),
        resourceType: cfg?.resourceType ?? (url ? resourceTypeOf(url) : isTaxii(request.url) ? 'taxii' : null),
        resourceId: typeof params?.id === 'string' ? params.id.slice(0, 100) : null,
        details: url ? {} : { method: request.method, path: (request.url.split('?')[0] ?? '').slice(0, 200) },
        recorded: false,
      }
      request.auditState = st
      const note: AuditNote = {
        set(e) {
          if (e.resourceType !== undefined) st.resourceType = e.resourceType
          if (e.resourceId !== undefined) st.resourceId = e.resourceId
          if (e.details) Object.assign(st.details, e.details)
          if (e.status !== undefined) st.status = e.status
        },
      }
      // Re-entrant: a service called inside an outer ctx.tx (e.g. the idempotency wrapper)
      // joins that transaction instead of opening a second one.
      let open: Tx | undefined
      const ctx: Ctx = {
        actor: request.actor,
        tx: async (fn) => {
          if (open) return fn(open, note)
          const result = await withActor(app.db, request.actor, async (tx) => {
            open = tx
            try {
              const out = await fn(tx, note)
              await insert(tx, request, st, 'ok', st.status ?? 200)
              return out
            } finally {
              open = undefined
            }
          })
          st.recorded = true
          return result
        },
      }
      request.ctx = ctx
      return st
    }

    app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply) => {
      const url = request.routeOptions.url
      // Unknown routes have no routeOptions.url; record those under /v1 and /taxii2 only.
      if (!url && !request.url.startsWith('/v1/') && !isTaxii(request.url)) return
      const st = request.auditState ?? prepare(request)
      if (!st || st.recorded) return
      st.recorded = true
      const outcome = outcomeOf(reply.statusCode)
      try {
        await insert(app.db, request, st, outcome, reply.statusCode)
      } catch (err) {
        request.log.error({ err }, 'audit event could not be written')
        // Fail closed: no protected data leaves without its audit record.
        if (outcome === 'ok') throw new Error('audit write failed')
      }
    })

    /** For the token endpoint: who tried, and who it turned out to be. */
    app.decorate('noteAuditIdentity', (request: FastifyRequest, who: { clientId?: string; accountId?: string; organisationId?: string }) => {
      const st = prepare(request)
      if (st) Object.assign(st, who)
    })
  },
  { name: 'dcx-audit', dependencies: ['dcx-db', 'dcx-auth'] },
)

declare module 'fastify' {
  interface FastifyInstance {
    noteAuditIdentity(request: FastifyRequest, who: { clientId?: string; accountId?: string; organisationId?: string }): void
  }
}
