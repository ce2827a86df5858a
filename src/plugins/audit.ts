// The HTTP adapter of the audit trail: every /v1 and /taxii2 request leaves an event. It opens
// the request's scope (access/scope.ts) after authentication; whatever never reaches scope.tx()
// — refusals, errors, simple directory reads — is recorded by the onSend hook before the
// response leaves; if that insert fails, the client gets a 500, not the data.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Actor } from '../core/actor.js'
import { openScope, outcomeOf, writeEvent, type AuditState, type Ctx, type RequestFacts } from '../access/scope.js'
import { AuditChainer } from '../audit/chain.js'
import { AuditPruner } from '../audit/pruning.js'
import { eventSpec, UNKNOWN_ROUTE } from '../audit/events.js'
import { operationOf } from './policy.js'

declare module 'fastify' {
  interface FastifyInstance {
    chainer: AuditChainer
    auditPruner: AuditPruner
  }
  interface FastifyRequest {
    auditState: AuditState | null
    ctx: Ctx
  }
}

/** Requests to unknown paths are recorded under the prefixes of the exchange only. */
const audited = (url: string) => url.startsWith('/v1/') || url.startsWith('/taxii2/')
export default fp<{ recording?: boolean }>(
  async (app, opts) => {
    const chainer = new AuditChainer(app.db, app.keys, app.log)
    app.decorate('chainer', chainer)
    if (app.config.auditChainTimer) chainer.start()
    app.addHook('onClose', async () => chainer.stop())
    const pruner = new AuditPruner(app.db, app.config.auditPayloadRetentionMonths, app.log)
    app.decorate('auditPruner', pruner)
    if (app.config.auditPruneTimer) pruner.start()
    app.addHook('onClose', async () => pruner.stop())

    const deps = { db: app.db, recording: opts.recording !== false }
    const facts = (request: FastifyRequest): RequestFacts => {
      const ua = request.headers['user-agent']
      return { requestId: String(request.id), clientAddress: request.ip, userAgent: typeof ua === 'string' ? ua : undefined }
    }

    app.decorateRequest('auditState', null)
    app.decorateRequest('ctx', null as unknown as Ctx)

    // Auth ran in onRequest, so the actor is known here; validation has not run yet.
    app.addHook('preValidation', async (request) => {
      prepare(request)
    })

    function prepare(request: FastifyRequest): AuditState | null {
      if (request.auditState) return request.auditState
      // The event type is declared per operation (audit/events.ts), never derived from the URL.
      const known = request.routeOptions.url !== undefined
      const spec = known ? eventSpec(operationOf(request)) : audited(request.url) ? UNKNOWN_ROUTE : undefined
      if (!spec) return null
      const params = request.params as { id?: unknown } | undefined
      const st: AuditState = {
        action: spec.type,
        resourceType: spec.resource,
        resourceId: typeof params?.id === 'string' ? params.id : null,
        details: known ? {} : { method: request.method, path: (request.url.split('?')[0] ?? '').slice(0, 200) },
        recorded: false,
      }
      request.auditState = st
      request.ctx = openScope(deps, request.actor, facts(request), st, request.deadline ?? undefined)
      return st
    }

    app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply) => {
      const st = request.auditState ?? prepare(request)
      if (!st || st.recorded) return
      st.recorded = true
      const outcome = outcomeOf(reply.statusCode)
      try {
        await writeEvent(deps, app.db, facts(request), request.actor as Actor | null, st, outcome, reply.statusCode)
      } catch (err) {
        request.log.error({ err }, 'audit event could not be written')
        // Fail closed: no protected data leaves without its audit record.
        if (outcome === 'ok') throw new Error('audit write failed', { cause: err })
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
