// The HTTP adapter of the audit trail: every /v1 and /taxii2 request leaves an event. It opens
// the request's scope (access/scope.ts) after authentication; whatever never reaches scope.tx()
// — refusals, errors, simple directory reads — is recorded by the onSend hook before the
// response leaves; if that insert fails, the client gets a 500, not the data.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Actor } from '../core/actor.js'
import { openScope, outcomeOf, writeEvent, type AuditState, type Ctx, type RequestFacts } from '../access/scope.js'
import { AuditChainer } from '../audit/chain.js'

declare module 'fastify' {
  interface FastifyInstance {
    chainer: AuditChainer
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

/** The TAXII 2.1 server (src/modules/taxii) is audited like /v1: every pull and push. */
const isTaxii = (url: string) => url.startsWith('/taxii2/')

function resourceTypeOf(url: string): string | null {
  if (isTaxii(url)) return 'taxii'
  const m = /^\/v1\/([a-z-]+)/.exec(url)
  if (!m?.[1]) return null
  const plural = m[1]
  return plural === 'me' ? 'account' : plural.replace(/-/g, '_').replace(/ies$/, 'y').replace(/s$/, '')
}

export default fp<{ recording?: boolean }>(
  async (app, opts) => {
    const chainer = new AuditChainer(app.db, app.keys, app.log)
    app.decorate('chainer', chainer)
    chainer.start()
    app.addHook('onClose', async () => chainer.stop())

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
      request.ctx = openScope(deps, request.actor, facts(request), st)
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
        await writeEvent(deps, app.db, facts(request), request.actor as Actor | null, st, outcome, reply.statusCode)
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
