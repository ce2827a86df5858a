// Retraction notices (DESIGN §7, "Retraction"): the receiving organisation's pending notices and
// its acknowledgement; the owner's view of who was told about an item and who acknowledged.
// Row-level security (migrations/0016) shows a notice to its recipient and to the item's owner.
import { and, asc, eq, gt, isNull, or, sql } from 'drizzle-orm'
import { indicators, notes, organisations, retractionNotices, type RetractionNoticeRow } from '../../db/schema/index.js'
import type { Ctx } from '../../access/scope.js'
import { notFound } from '../../core/errors.js'
import { decodeCursor, encodeCursor } from '../../core/cursor.js'
import type { ItemKind } from './erasure.js'

export function toNotice(r: RetractionNoticeRow) {
  return {
    id: r.id,
    kind: r.kind as ItemKind,
    itemId: r.itemId,
    ownerId: r.ownerId,
    organisationId: r.organisationId,
    reason: r.reason as 'revoked' | 'erased' | 'narrowed' | 'match_only',
    itemVersion: r.itemVersion,
    createdAt: r.createdAt.toISOString(),
    acknowledgedAt: r.acknowledgedAt?.toISOString() ?? null,
    acknowledgedBy: r.acknowledgedBy,
  }
}

const n = retractionNotices
const after = (cursor: string | undefined) => {
  if (!cursor) return undefined
  const [at, id] = decodeCursor<[string, string]>(cursor, ['t', 'u'])
  return or(gt(n.createdAt, new Date(at)), and(eq(n.createdAt, new Date(at)), gt(n.id, id)))
}
const page = (rs: RetractionNoticeRow[], limit: number) => {
  const items = rs.slice(0, limit).map(toNotice)
  const last = items.at(-1)
  return { items, nextCursor: rs.length > limit && last ? encodeCursor([last.createdAt, last.id]) : null }
}

export const retractionsService = {
  /** The caller organisation's notices not yet acknowledged, oldest first. */
  async pending(ctx: Ctx, q: { limit: number; cursor?: string | undefined }) {
    return ctx.tx(async (tx, audit) => {
      const rs = await tx
        .select()
        .from(n)
        .where(and(eq(n.organisationId, ctx.actor.organisationId), isNull(n.acknowledgedAt), after(q.cursor)))
        .orderBy(asc(n.createdAt), asc(n.id))
        .limit(q.limit + 1)
      audit.set({ details: { limit: q.limit, returned: Math.min(rs.length, q.limit) } })
      return page(rs, q.limit)
    })
  },

  /** Acknowledge one of the caller organisation's notices (again: the first acknowledgement stands). */
  async acknowledge(ctx: Ctx, id: string) {
    return ctx.tx(async (tx, audit) => {
      const [row] = await tx
        .select()
        .from(n)
        .where(and(eq(n.id, id), eq(n.organisationId, ctx.actor.organisationId)))
        .for('update')
      if (!row) throw notFound('retraction notice')
      if (row.acknowledgedAt) return toNotice(row)
      const [updated] = await tx.update(n).set({ acknowledgedAt: sql`now()`, acknowledgedBy: ctx.actor.accountId }).where(eq(n.id, id)).returning()
      audit.set({ details: { itemId: row.itemId, kind: row.kind, reason: row.reason } })
      return toNotice(updated as RetractionNoticeRow)
    })
  },

  /** The owner's view of one item: every notice sent, with its recipient and acknowledgement. */
  async ofItem(ctx: Ctx, kind: ItemKind, id: string, q: { limit: number; cursor?: string | undefined }) {
    return ctx.tx(async (tx, audit) => {
      const t = kind === 'indicator' ? indicators : notes
      const [own] = await tx
        .select({ id: t.id })
        .from(t)
        .where(and(eq(t.id, id), eq(t.organisationId, ctx.actor.organisationId)))
      // Only the owner sees who was told: anyone else gets the 404 of an item it may not see.
      if (!own) throw notFound(kind)
      const rs = await tx
        .select({ notice: n, organisationName: organisations.name })
        .from(n)
        .innerJoin(organisations, eq(organisations.id, n.organisationId))
        .where(and(eq(n.itemId, id), eq(n.ownerId, ctx.actor.organisationId), after(q.cursor)))
        .orderBy(asc(n.createdAt), asc(n.id))
        .limit(q.limit + 1)
      const p = page(
        rs.map((r) => r.notice),
        q.limit,
      )
      const names = new Map(rs.map((r) => [r.notice.id, r.organisationName]))
      audit.set({ details: { returned: p.items.length } })
      return { ...p, items: p.items.map((i) => ({ ...i, organisationName: names.get(i.id) ?? '' })) }
    })
  },
}
