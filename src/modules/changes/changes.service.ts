// GET /v1/changes: created, updated and revoked items the caller may see, in commit-safe order,
// for partner systems that sync by polling. The cursor is the route's: the service takes the
// position it decodes to and returns the last position delivered.
import type { Ctx } from '../../access/scope.js'
import type { IndicatorRow, NoteRow } from '../../db/schema/index.js'
import { toIndicator } from '../indicators/indicators.rules.js'
import { toNote } from '../notes/notes.service.js'
import { recordReceipts } from '../retention/receipts.js'
import { changesRepository as repo, type FeedPosition } from './changes.repository.js'

export function changesService() {
  return {
    /** Up to `limit` changes after `from`; `cursor` is what the caller sent, for the audit event. */
    async feed(ctx: Ctx, from: FeedPosition, limit: number, cursor: string | null) {
      const actor = ctx.actor
      return ctx.tx(async (tx, audit) => {
        const horizon = await repo.horizon(tx)
        // One after the other: a transaction is one connection, and pg refuses overlapping queries.
        const inds = await repo.indicatorsAfter(tx, horizon, from, limit + 1)
        const nts = await repo.notesAfter(tx, horizon, from, limit + 1)
        const merged = [
          ...inds.map((r) => ({ kind: 'indicator' as const, row: r, xid: BigInt(r.changeXid), seq: r.changeSeq })),
          ...nts.map((r) => ({ kind: 'note' as const, row: r, xid: BigInt(r.changeXid), seq: r.changeSeq })),
        ].sort((a, b) => (a.xid === b.xid ? a.seq - b.seq : a.xid < b.xid ? -1 : 1))
        const page = merged.slice(0, limit)
        const last = page.at(-1)
        await recordReceipts(
          tx,
          'indicator',
          actor.organisationId,
          page.filter((c) => c.kind === 'indicator').map((c) => c.row),
        )
        await recordReceipts(
          tx,
          'note',
          actor.organisationId,
          page.filter((c) => c.kind === 'note').map((c) => c.row),
        )
        audit.set({ details: { cursor, returned: page.length } })
        return {
          items: page.map((c) => {
            const r = c.row as IndicatorRow & NoteRow
            // An erased item: a tombstone only (DESIGN §7, "Retraction"), nothing of its content.
            if (r.status === 'erased') {
              return {
                kind: 'retracted' as const,
                id: r.id,
                action: 'retracted' as const,
                itemKind: c.kind,
                reason: 'erased' as const,
                version: r.version,
                changedAt: r.updatedAt.toISOString(),
              }
            }
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
          /** The last change delivered: where the next page starts. */
          last: last ? { xid: last.xid, seq: last.seq } : undefined,
          hasMore: merged.length > limit,
        }
      })
    },
  }
}

export type ChangesService = ReturnType<typeof changesService>
