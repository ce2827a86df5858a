// GET /v1/changes: created, updated and revoked items the caller may see, in commit-safe order,
// for partner systems that sync by polling. Rows carry (change_xid, change_seq); the feed only
// returns rows whose writing transaction is older than every transaction still running, so a
// transaction that commits late can never land behind a cursor already handed out.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { problems } from '../../core/schemas.js'
import { decodeCursor, encodeCursor } from '../../core/cursor.js'
import { indicator } from '../indicators/indicators.schemas.js'
import { note } from '../notes/notes.schemas.js'
import { changesService } from './changes.service.js'

const change = z.object({
  kind: z.enum(['indicator', 'note']),
  id: z.uuid(),
  action: z.enum(['created', 'updated', 'revoked']),
  version: z.number().int(),
  changedAt: z.string(),
  indicator: indicator.optional(),
  note: note.optional(),
})
const changePage = z
  .object({
    items: z.array(change),
    nextCursor: z.string().nullable().describe('Poll again with this cursor; it only moves forward'),
    hasMore: z.boolean(),
  })
  .meta({ id: 'ChangePage' })

const query = z
  .object({
    cursor: z.string().min(1).max(512).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
  })
  .strict()

const routes: FastifyPluginAsyncZod = async (app) => {
  const service = changesService()

  app.get('/changes', {
    schema: {
      tags: ['changes'],
      operationId: 'listChanges',
      summary: 'Change feed of indicators and notes the caller may see; poll with nextCursor',
      querystring: query,
      response: { 200: changePage, ...problems(400, 401, 403, 429, 500) },
    },
  }, async (req) => {
    const { limit } = req.query
    const [xid, seq] = req.query.cursor ? decodeCursor<[string, number]>(req.query.cursor, ['s', 'n']) : ['0', 0]
    if (!/^\d{1,20}$/.test(xid)) decodeCursor('!', ['s'])
    // Content is for the reader roles; auditors audit accesses, they do not read the content.
    const out = await service.feed(req.ctx, { xid, seq }, limit, req.query.cursor ?? null)
    const last = out.last
    return {
      items: out.items,
      nextCursor: last ? encodeCursor([last.xid.toString(), last.seq]) : (req.query.cursor ?? null),
      hasMore: out.hasMore,
    }
  })
}

export default routes
