// Review and retention (DESIGN §7): GET /v1/review-queue, POST /v1/indicators/{id}/review,
// POST /v1/notes/{id}/review.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { idParams, problems } from '../../core/schemas.js'
import { etag } from '../../core/etag.js'
import { indicator } from '../indicators/indicators.schemas.js'
import { note } from '../notes/notes.schemas.js'
import { reviewDecision, reviewQueuePage, reviewQueueQuery } from './retention.schemas.js'
import { retentionService as service } from './retention.service.js'

const routes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/review-queue',
    {
      schema: {
        tags: ['retention'],
        operationId: 'listReviewQueue',
        summary: "Your organisation's items whose review-by date has passed (not revoked or erased), oldest date first",
        querystring: reviewQueueQuery,
        response: { 200: reviewQueuePage, ...problems(400, 401, 403, 429, 500) },
      },
    },
    async (req) => service.queue(req.ctx, req.query),
  )

  app.post(
    '/indicators/:id/review',
    {
      schema: {
        tags: ['indicators', 'retention'],
        operationId: 'reviewIndicator',
        summary: 'Review an indicator of your organisation: extend its review-by date, or erase it (value and free text wiped), with a reason',
        params: idParams,
        body: reviewDecision,
        response: { 200: indicator, ...problems(400, 401, 403, 404, 409, 429, 500) },
      },
    },
    async (req, reply) => {
      const out = await service.reviewIndicator(req.ctx, req.params.id, req.body)
      reply.header('etag', etag(out.version))
      return out
    },
  )

  app.post(
    '/notes/:id/review',
    {
      schema: {
        tags: ['notes', 'retention'],
        operationId: 'reviewNote',
        summary: 'Review a note of your organisation: extend its review-by date, or erase it (title, summary, body and every revision wiped), with a reason',
        params: idParams,
        body: reviewDecision,
        response: { 200: note, ...problems(400, 401, 403, 404, 409, 429, 500) },
      },
    },
    async (req, reply) => {
      const out = await service.reviewNote(req.ctx, req.params.id, req.body)
      reply.header('etag', etag(out.version))
      return out
    },
  )
}

export default routes
