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
import { and, asc, getTableColumns, sql } from 'drizzle-orm'
import { indicators, notes, type IndicatorRow, type NoteRow } from '../../db/schema/index.js'
import { rows } from '../../db/client.js'
import { problems } from '../../core/schemas.js'
import { CursorSeal } from '../../core/cursor.js'
import { canSee } from '../../access/visibility.js'
import { indicator } from '../indicators/indicators.schemas.js'
import { toIndicator } from '../indicators/indicators.rules.js'
import { note } from '../notes/notes.schemas.js'
import { toNote } from '../notes/notes.service.js'

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
    nextCursor: z.string().nullable().describe('Poll again with this cursor; it only moves forward. Opaque and sealed: it works only for your organisation, and an altered one is a 400'),
    hasMore: z.boolean(),
  })
  .meta({ id: 'ChangePage' })

const query = z
  .object({
    cursor: z.string().min(1).max(512).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
  })
  .strict()

const { search: _s1, ...indicatorCols } = getTableColumns(indicators)
const { search: _s2, ...noteCols } = getTableColumns(notes)

const routes: FastifyPluginAsyncZod<{ masterKey: string }> = async (app, opts) => {
  const seal = new CursorSeal(opts.masterKey, 'changes')
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
    const actor = req.actor
    const [xid, seq] = req.query.cursor ? (seal.open(req.query.cursor, actor.organisationId, 2) as [bigint, bigint]) : [0n, 0n]
    // Content is for the reader roles; auditors audit accesses, they do not read the content.
    return req.ctx.tx(async (tx, audit) => {
      const [h] = await rows<{ horizon: string }>(tx, sql`select pg_snapshot_xmin(pg_current_snapshot())::text as horizon`)
      const horizon = h?.horizon ?? '0'
      const after = (t: typeof indicators | typeof notes) =>
        sql`${t.changeXid} < ${horizon}::xid8 and (${t.changeXid}, ${t.changeSeq}) > (${xid.toString()}::xid8, ${seq.toString()}::bigint)`
      // One after the other: a transaction is one connection, and pg refuses overlapping queries.
      const inds = await tx.select(indicatorCols).from(indicators).where(and(after(indicators), canSee(indicators))).orderBy(asc(indicators.changeXid), asc(indicators.changeSeq)).limit(limit + 1)
      const nts = await tx.select(noteCols).from(notes).where(and(after(notes), canSee(notes))).orderBy(asc(notes.changeXid), asc(notes.changeSeq)).limit(limit + 1)
      const merged = [
        ...inds.map((r) => ({ kind: 'indicator' as const, row: r, xid: BigInt(r.changeXid), seq: r.changeSeq })),
        ...nts.map((r) => ({ kind: 'note' as const, row: r, xid: BigInt(r.changeXid), seq: r.changeSeq })),
      ].sort((a, b) => (a.xid === b.xid ? a.seq - b.seq : a.xid < b.xid ? -1 : 1))
      const page = merged.slice(0, limit)
      const last = page.at(-1)
      audit.set({ details: { cursor: req.query.cursor ?? null, returned: page.length } })
      return {
        items: page.map((c) => {
          const r = c.row as IndicatorRow & NoteRow
          const action = r.status === 'revoked' ? 'revoked' : r.version === 1 ? 'created' : 'updated'
          return {
            kind: c.kind,
            id: r.id,
            action: action as 'created' | 'updated' | 'revoked',
            version: r.version,
            changedAt: r.updatedAt.toISOString(),
            ...(c.kind === 'indicator' ? { indicator: toIndicator(r, actor.organisationId) } : { note: toNote(r) }),
          }
        }),
        nextCursor: last ? seal.seal([last.xid, BigInt(last.seq)], actor.organisationId) : (req.query.cursor ?? null),
        hasMore: merged.length > limit,
      }
    })
  })
}

export default routes
