// Retraction notices (DESIGN §7): GET /v1/retractions, POST /v1/retractions/{id}/ack,
// GET /v1/indicators/{id}/retractions, GET /v1/notes/{id}/retractions.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { idParams, problems, timestamp, uuid } from '../../core/schemas.js'
import { retractionsService as service } from './retractions.service.js'

const notice = z
  .object({
    id: uuid,
    kind: z.enum(['indicator', 'note']),
    itemId: uuid,
    ownerId: uuid.describe('The organisation that retracted the item: its contact card is in the directory'),
    organisationId: uuid.describe('The organisation told (the one that received the item)'),
    reason: z.enum(['revoked', 'erased', 'narrowed', 'match_only']),
    itemVersion: z.number().int().describe('The version of the item that retracted it'),
    createdAt: timestamp,
    acknowledgedAt: timestamp.nullable(),
    acknowledgedBy: uuid.nullable(),
  })
  .meta({ id: 'RetractionNotice' })
const noticePage = z.object({ items: z.array(notice), nextCursor: z.string().nullable() }).meta({ id: 'RetractionNoticePage' })
const sentPage = z
  .object({ items: z.array(notice.extend({ organisationName: z.string() })), nextCursor: z.string().nullable() })
  .meta({ id: 'RetractionsSentPage' })
const listQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: z.string().min(1).max(512).optional(),
  })
  .strict()

const routes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/retractions',
    {
      schema: {
        tags: ['retention'],
        operationId: 'listRetractions',
        summary: 'Retraction notices to your organisation not yet acknowledged: items it received that were since revoked, erased, narrowed or made match_only',
        querystring: listQuery,
        response: { 200: noticePage, ...problems(400, 401, 403, 429, 500) },
      },
    },
    async (req) => service.pending(req.ctx, req.query),
  )

  app.post(
    '/retractions/:id/ack',
    {
      schema: {
        tags: ['retention'],
        operationId: 'acknowledgeRetraction',
        summary: 'Acknowledge a retraction notice to your organisation (the owner sees who acknowledged); repeating it changes nothing',
        params: idParams,
        response: { 200: notice, ...problems(400, 401, 403, 404, 429, 500) },
      },
    },
    async (req) => service.acknowledge(req.ctx, req.params.id),
  )

  app.get(
    '/indicators/:id/retractions',
    {
      schema: {
        tags: ['indicators', 'retention'],
        operationId: 'listIndicatorRetractions',
        summary: 'Owner only: the organisations told that this indicator was retracted, and which acknowledged',
        params: idParams,
        querystring: listQuery,
        response: { 200: sentPage, ...problems(400, 401, 403, 404, 429, 500) },
      },
    },
    async (req) => service.ofItem(req.ctx, 'indicator', req.params.id, req.query),
  )

  app.get(
    '/notes/:id/retractions',
    {
      schema: {
        tags: ['notes', 'retention'],
        operationId: 'listNoteRetractions',
        summary: 'Owner only: the organisations told that this note was retracted, and which acknowledged',
        params: idParams,
        querystring: listQuery,
        response: { 200: sentPage, ...problems(400, 401, 403, 404, 429, 500) },
      },
    },
    async (req) => service.ofItem(req.ctx, 'note', req.params.id, req.query),
  )
}

export default routes
