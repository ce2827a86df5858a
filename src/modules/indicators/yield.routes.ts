import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { idParams, problems, timestamp, uuid } from '../../core/schemas.js'
import { yieldService } from './yield.service.js'

const count = z.number().int()

export const indicatorYield = z
  .object({
    indicatorId: uuid,
    matches: count.describe('Times a match returned this indicator (each value of a call that matched it counts once)'),
    lastMatchedAt: timestamp.nullable(),
    sightings: z
      .object({ seen: count, seized: count, nothing_found: count, controlled_delivery: count, false_positive: count })
      .describe('Items reported per outcome (the sum of the sightings’ counts)'),
    sightingReports: count.describe('Sighting reports, all outcomes'),
    yield: z.number().min(0).max(1).nullable().describe('seized / (seized + nothing_found + false_positive); null while that sum is 0'),
  })
  .meta({ id: 'IndicatorYield' })

const routes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/indicators/:id/yield',
    {
      schema: {
        tags: ['indicators'],
        operationId: 'getIndicatorYield',
        summary: "Your indicator's yield: matches, sightings by outcome, seized share (owner organisation only; others 404)",
        params: idParams,
        response: { 200: indicatorYield, ...problems(400, 401, 403, 404, 429, 500) },
      },
    },
    async (req) => yieldService.get(req.ctx, req.params.id),
  )
}

export default routes
