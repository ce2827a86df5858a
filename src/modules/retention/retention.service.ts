// Review and retention (DESIGN §7): the review queue of the caller's organisation, and the
// owner's decision on an item past (or before) its review-by date — extend it with a reason, or
// erase it (modules/retention/erasure.ts, the same function the retention job uses).
import { and, eq, sql } from 'drizzle-orm'
import { indicators, notes, type IndicatorRow, type NoteRow } from '../../db/schema/index.js'
import { rows } from '../../db/client.js'
import type { Ctx } from '../../access/scope.js'
import { canSee } from '../../access/visibility.js'
import { conflict, notFound } from '../../core/errors.js'
import { decodeCursor, encodeCursor } from '../../core/cursor.js'
import { invalidFields } from '../indicators/indicators.rules.js'
import { touched } from '../indicators/indicators.service.js'
import { toIndicator } from '../indicators/indicators.rules.js'
import { indicatorColumns } from '../indicators/indicators.repository.js'
import { noteColumns } from '../notes/notes.repository.js'
import { saveRevision, toNote } from '../notes/notes.service.js'
import { eraseAfter, reviewByProblems } from './review-by.js'
import { eraseItem, type ItemKind } from './erasure.js'
import type { ReviewDecision, ReviewQueueQuery } from './retention.schemas.js'

interface QueueRow {
  kind: ItemKind
  id: string
  status: string
  review_by: string | Date
  version: number
}

export const retentionService = {
  /**
   * The caller organisation's live items (not revoked, not erased) whose review-by date has
   * passed, oldest date first, keyset-paged on (reviewBy, id). Own items only; canSee() as on
   * every read path.
   */
  async queue(ctx: Ctx, q: ReviewQueueQuery) {
    const after = q.cursor ? decodeCursor<[string, string]>(q.cursor, ['t', 'u']) : undefined
    const org = ctx.actor.organisationId
    const i = indicators
    const n = notes
    const keyset = (t: typeof indicators | typeof notes) =>
      after ? sql`and (${t.reviewBy}, ${t.id}) > (${new Date(after[0]).toISOString()}::timestamptz, ${after[1]}::uuid)` : sql``
    return ctx.tx(async (tx, audit) => {
      const rs = await rows<QueueRow>(
        tx,
        sql`select * from (
              (select 'indicator' as kind, ${i.id} as id, ${i.status} as status, ${i.reviewBy} as review_by, ${i.version} as version from ${i}
                where ${i.organisationId} = ${org} and ${i.status} not in ('revoked', 'erased') and ${i.reviewBy} <= now() and ${canSee(i)} ${keyset(i)}
                order by ${i.reviewBy}, ${i.id} limit ${q.limit + 1})
              union all
              (select 'note' as kind, ${n.id} as id, ${n.status} as status, ${n.reviewBy} as review_by, ${n.version} as version from ${n}
                where ${n.organisationId} = ${org} and ${n.status} not in ('revoked', 'erased') and ${n.reviewBy} <= now() and ${canSee(n)} ${keyset(n)}
                order by ${n.reviewBy}, ${n.id} limit ${q.limit + 1})
            ) q order by review_by, id limit ${q.limit + 1}`,
      )
      const items = rs.slice(0, q.limit).map((r) => {
        const reviewBy = new Date(r.review_by)
        return {
          kind: r.kind,
          id: r.id,
          status: r.status as 'draft' | 'active' | 'published',
          reviewBy: reviewBy.toISOString(),
          eraseAfter: eraseAfter(reviewBy).toISOString(),
          version: Number(r.version),
        }
      })
      const last = items.at(-1)
      audit.set({ details: { limit: q.limit, returned: items.length } })
      return { items, nextCursor: rs.length > q.limit && last ? encodeCursor([last.reviewBy, last.id]) : null }
    })
  },

  async reviewIndicator(ctx: Ctx, id: string, d: ReviewDecision) {
    return review(ctx, 'indicator', id, d, (row) => toIndicator(row as IndicatorRow, ctx.actor.organisationId))
  },

  async reviewNote(ctx: Ctx, id: string, d: ReviewDecision) {
    return review(ctx, 'note', id, d, (row) => toNote(row as NoteRow))
  },
}

function decisionProblems(d: ReviewDecision) {
  if (d.decision === 'extend') {
    if (!d.reviewBy) return [{ name: 'body.reviewBy', reason: 'required to extend: the new review-by date' }]
    return reviewByProblems(d.reviewBy, 'body.reviewBy')
  }
  if (d.reviewBy) return [{ name: 'body.reviewBy', reason: 'only with decision "extend"' }]
  return []
}

async function review<T>(ctx: Ctx, kind: ItemKind, id: string, d: ReviewDecision, out: (row: IndicatorRow | NoteRow) => T): Promise<T> {
  const problems = decisionProblems(d)
  if (problems.length) throw invalidFields(problems)
  const actor = ctx.actor
  return ctx.tx(async (tx, audit) => {
    const t = kind === 'indicator' ? indicators : notes
    const columns = kind === 'indicator' ? indicatorColumns : noteColumns
    // Owner only: another organisation's item is a 404 whether or not it may see it.
    const [row] = (await tx
      .select(columns)
      .from(t)
      .where(and(eq(t.id, id), eq(t.organisationId, actor.organisationId)))
      .for('update')) as (IndicatorRow | NoteRow)[]
    if (!row) throw notFound(kind)
    if (d.decision === 'erase') {
      const erased = await eraseItem(tx, kind, id, {
        accountId: actor.accountId,
        organisationId: actor.organisationId,
        clientId: actor.clientId,
        requestId: null,
        trigger: 'review',
        reason: d.reason,
      })
      if (!erased) throw notFound(kind)
      audit.set({ details: { decision: d.decision, reason: d.reason, previousReviewBy: row.reviewBy.toISOString(), version: erased.version } })
      return out(erased)
    }
    if (row.status === 'revoked' || row.status === 'erased') throw conflict(`This ${kind} is ${row.status}: there is nothing to extend.`)
    const reviewBy = new Date(d.reviewBy as string)
    const [updated] = (await tx
      .update(t)
      .set({ reviewBy, version: row.version + 1, ...touched() })
      .where(and(eq(t.id, id), eq(t.version, row.version)))
      .returning(columns)) as (IndicatorRow | NoteRow)[]
    if (!updated) throw new Error(`review of ${kind} ${id}: the locked row changed`)
    if (kind === 'note') await saveRevision(tx, updated as NoteRow, actor.accountId)
    audit.set({
      details: {
        decision: d.decision,
        reason: d.reason,
        reviewBy: reviewBy.toISOString(),
        previousReviewBy: row.reviewBy.toISOString(),
        version: updated.version,
      },
    })
    return out(updated)
  })
}
