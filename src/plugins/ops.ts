// Operations endpoints: /healthz (process up), /readyz (database reachable; 200 "degraded" naming
// Redis while the rate-limit counters count per node), /metrics (Prometheus).
import fp from 'fastify-plugin'
import { z } from 'zod'
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { problems } from '../core/schemas.js'
import { sendProblem } from './error-handler.js'

export default fp(
  async (app) => {
    // A registry per app instance: tests build many apps in one process.
    const registry = new Registry()
    collectDefaultMetrics({ register: registry, prefix: 'dcx_' })
    const duration = new Histogram({
      name: 'dcx_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    })
    const requests = new Counter({
      name: 'dcx_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    })
    app.addHook('onResponse', async (request, reply) => {
      // The route pattern, never the raw URL: ids would explode the label set.
      const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) }
      duration.observe(labels, reply.elapsedTime / 1000)
      requests.inc(labels)
    })

    const r = app.withTypeProvider<ZodTypeProvider>()
    const health = z.object({ status: z.string() })
    const readiness = z
      .object({
        status: z.enum(['ready', 'degraded']),
        degraded: z.array(z.enum(['redis'])).describe('What works in a reduced way: redis — rate limits count per node until it returns'),
      })
      .meta({ id: 'Readiness' })
    r.get(
      '/healthz',
      {
        config: { public: true },
        schema: { tags: ['operations'], operationId: 'healthz', summary: 'The process is up', response: { 200: health } },
      },
      async () => ({ status: 'ok' }),
    )

    r.get(
      '/readyz',
      {
        config: { public: true },
        schema: {
          tags: ['operations'],
          operationId: 'readyz',
          summary: 'The database is reachable (200); "degraded" names what runs reduced but serves (Redis down: per-node rate limits)',
          response: { 200: readiness, ...problems(503) },
        },
      },
      async (_req, reply) => {
        try {
          await app.database.ping(2_000)
          // Redis down is no reason to stop routing here: the counters fall back per node.
          const degraded = app.redisHealth?.degraded ? (['redis'] as const) : []
          return { status: degraded.length ? ('degraded' as const) : ('ready' as const), degraded: [...degraded] }
        } catch {
          reply.header('retry-after', '5')
          return sendProblem(reply, 'unavailable', 503, 'The database is not reachable.')
        }
      },
    )

    r.get(
      '/metrics',
      {
        config: { public: true },
        schema: {
          tags: ['operations'],
          operationId: 'metrics',
          summary: 'Prometheus metrics (text exposition format)',
          produces: ['text/plain'],
          response: { 200: z.string() },
        },
      },
      async (_req, reply) => {
        reply.type(registry.contentType)
        return registry.metrics()
      },
    )
  },
  { name: 'dcx-ops', dependencies: ['dcx-db', 'dcx-rate-limit'] },
)
