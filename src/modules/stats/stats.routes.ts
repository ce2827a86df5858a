// GET /v1/stats: the numbers behind the working group's annual monitoring report, counted over
// what the caller may see (match_only items of other organisations are not counted).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { problems } from '../../core/schemas.js'
import { statsService } from './stats.service.js'
import { stats, statsQuery } from './stats.schemas.js'

const routes: FastifyPluginAsyncZod = async (app) => {
  const service = statsService()

  app.get(
    '/stats',
    {
      schema: {
        tags: ['stats'],
        operationId: 'getStats',
        summary: 'Counts by type, sector, country and month over what the caller may see (drafts not counted)',
        querystring: statsQuery,
        response: { 200: stats, ...problems(400, 401, 403, 429, 500) },
      },
    },
    async (req) => service.get(req.ctx, req.query),
  )
}

export default routes
