// GET /v1/changes: created, updated and revoked items the caller may see, in commit-safe order,
// for partner systems that sync by polling. Rows carry (change_xid, change_seq); the feed only
// returns rows whose writing transaction is older than every transaction still running, so a
// transaction that commits late can never land behind a cursor already handed out.
//
// The cursor is the (change_xid, change_seq) of the last row delivered to the caller, sealed
// (core/cursor.ts: CursorSeal) and bound to the caller's organisation. Both numbers are global —
// they advance with every organisation's writes — so a readable cursor let a caller count the
// writes it may not see between two of its own pages; sealed, it reads as nothing, cannot be
// forged or moved, and does not work for another organisation.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { problems } from '../../core/schemas.js'
import { CursorSeal } from '../../core/cursor.js'
import { indicator } from '../indicators/indicators.schemas.js'
import { note } from '../notes/notes.schemas.js'
import { changesService } from './changes.service.js'
import { guardConsultation } from '../../access/justification.js'
import { anyPersonal } from '../indicators/personal-data.js'

const change = z.object({
  kind: z.enum(['indicator', 'note', 'retracted']).describe('retracted: a tombstone for an erased item (itemKind says which); delete your copy'),
  id: z.uuid(),
  action: z.enum(['created', 'updated', 'revoked', 'retracted']),
  itemKind: z.enum(['indicator', 'note']).optional().describe('On a retracted tombstone: what the item was'),
  reason: z.enum(['erased']).optional().describe('On a retracted tombstone: why'),
  version: z.number().int(),
  changedAt: z.string(),
  indicator: indicator.optional(),
  note: note.optional(),
})
const changePage = z
  .object({
    items: z.array(change),
    nextCursor: z
      .string()
      .nullable()
      .describe('Poll again with this cursor; it only moves forward. Opaque and sealed: it works only for your organisation, and an altered one is a 400'),
    hasMore: z.boolean(),
  })
  .meta({ id: 'ChangePage' })

const query = z
  .object({
    cursor: z.string().min(1).max(512).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
  })
  .strict()

const routes: FastifyPluginAsyncZod<{ masterKey: string }> = async (app, opts) => {
  const seal = new CursorSeal(opts.masterKey, 'changes')
  const service = changesService()

  app.get(
    '/changes',
    {
      schema: {
        tags: ['changes'],
        operationId: 'listChanges',
        summary: 'Change feed of indicators and notes the caller may see; poll with nextCursor',
        querystring: query,
        response: { 200: changePage, ...problems(400, 401, 403, 429, 500) },
      },
    },
    async (req) => {
      const { limit } = req.query
      const actor = req.actor
      const [xid, seq] = req.query.cursor ? (seal.open(req.query.cursor, actor.organisationId, 2) as [bigint, bigint]) : [0n, 0n]
      // Content is for the reader roles; auditors audit accesses, they do not read the content.
      guardConsultation<{ items: { indicator?: { type: string } }[] }>(req, 'a feed page holding personal-data indicators', (o) =>
        anyPersonal((o?.items ?? []).map((i) => i.indicator)),
      )
      const out = await service.feed(req.ctx, { xid: xid.toString(), seq: Number(seq) }, limit, req.query.cursor ?? null)
      return {
        items: out.items,
        nextCursor: out.last ? seal.seal([out.last.xid, BigInt(out.last.seq)], actor.organisationId) : (req.query.cursor ?? null),
        hasMore: out.hasMore,
      }
    },
  )
}

export default routes
