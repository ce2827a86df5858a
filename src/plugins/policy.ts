// The HTTP adapter of the access policy (src/access/policy.ts): every /v1 and /taxii2 route must
// name an operation the policy and the audit vocabulary know, or the boot fails naming it; before
// every handler, one check asks the policy whether the caller's roles pass.
import fp from 'fastify-plugin'
import type { FastifyRequest, RouteOptions } from 'fastify'
import { allowed, authorize, isOperation, type OperationId } from '../access/policy.js'
import { AppError } from '../core/errors.js'
import { eventSpec } from '../audit/events.js'

/** Routes under these prefixes are operations of the exchange: each needs a policy and an audit entry. */
const GOVERNED = ['/v1/', '/taxii2/']
const governed = (url: string) => GOVERNED.some((p) => url.startsWith(p) || `${url}/` === p)

/** The operation a route declares, checked at registration. */
export function routeOperation(route: Pick<RouteOptions, 'url' | 'method' | 'schema'>): OperationId | undefined {
  const id = (route.schema as { operationId?: unknown } | undefined)?.operationId
  const where = `${String(route.method)} ${route.url}`
  if (!governed(route.url)) return isOperation(id) ? id : undefined
  if (typeof id !== 'string')
    throw new Error(`Route ${where} has no operationId: every /v1 and /taxii2 route needs one, with an entry in src/access/policy.ts and src/audit/events.ts.`)
  if (!isOperation(id)) throw new Error(`Route ${where} (operation ${id}) has no entry in the access policy (src/access/policy.ts POLICY).`)
  if (!eventSpec(id)) throw new Error(`Route ${where} (operation ${id}) has no audit event type (src/audit/events.ts AUDIT_EVENTS).`)
  return id
}

declare module 'fastify' {
  interface FastifyInstance {
    /** "METHOD /url" → the operation it declares, for every route registered after this plugin. */
    routeOperations: ReadonlyMap<string, OperationId>
  }
  interface FastifyContextConfig {
    /** Set at registration from the route's operationId (plugins/policy.ts). */
    operation?: OperationId
  }
}

export const operationOf = (request: FastifyRequest): OperationId | undefined => request.routeOptions.config.operation

export default fp(
  async (app) => {
    const byRoute = new Map<string, OperationId>()
    app.decorate('routeOperations', byRoute)
    app.addHook('onRoute', (route) => {
      // HEAD routes run the GET handler: they carry the same operation and the same check.
      const operation = routeOperation(route)
      if (!operation) return
      route.config = { ...route.config, operation }
      for (const m of [route.method].flat()) byRoute.set(`${m} ${route.url}`, operation)
    })
    // After authentication (onRequest) and before validation: a role the operation does not
    // allow is refused before the body is even looked at. Routes without a token (public) pass.
    app.addHook('preValidation', async (request) => {
      const operation = operationOf(request)
      if (!operation) return
      if (request.actor) return authorize(request.actor, operation)
      if (!allowed(null, operation)) throw new AppError('unauthorized', 'This operation needs an access token.')
    })
  },
  { name: 'dcx-policy', dependencies: ['dcx-auth'] },
)
