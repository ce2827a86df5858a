// Yield (DESIGN §8): per indicator, how often a match returned it and what sightings reported,
// and yield = seized / (seized + nothing_found + false_positive) — the feedback an originator
// never gets elsewhere. Shown to the owner organisation only; another organisation that can see
// the item gets 404 (as for an item it cannot see: the answer says nothing about the item's
// feedback). Matches are counted in the match transaction itself (recordMatches): one appended
// row for the whole call, which waits for no other call (migrations/0022). The appended rows are
// folded into the counts by MatchCountFolder on a timer and by every yield read first, so the
// read is exact.
import { eq, sql } from 'drizzle-orm'
import { indicatorMatchCounts, sightings } from '../../db/schema/index.js'
import { rows, type Tx } from '../../db/client.js'
import type { Ctx } from '../../access/scope.js'
import { notFound } from '../../core/errors.js'
import { holdOn } from '../../db/pipeline.js'
import { findReadable } from './indicators.service.js'
import { foldMatchCounts } from './yield.fold.js'

export const OUTCOMES = ['seen', 'seized', 'nothing_found', 'controlled_delivery', 'false_positive'] as const
type Outcome = (typeof OUTCOMES)[number]

/**
 * Count one match for each time a row of `found` returned an indicator (a value of the call that
 * matched it). One statement (dcx_count_matches, migrations/0022) for the whole call, appending
 * one row: no upsert, so concurrent calls over the same indicators never wait on each other's row
 * locks. On PostgreSQL it is held and travels with the transaction's next statement, so it costs
 * no round trip of its own. Only indicators the caller may see are counted (the function checks).
 */
export async function recordMatches(tx: Tx, found: readonly { id: string }[]): Promise<void> {
  if (found.length === 0) return
  const n = new Map<string, number>()
  for (const r of found) n.set(r.id, (n.get(r.id) ?? 0) + 1)
  const ids = [...n.keys()].sort()
  const q = sql`select dcx_count_matches(${`{${ids.join(',')}}`}::uuid[], ${`{${ids.map((id) => n.get(id)).join(',')}}`}::int[])`
  if (!holdOn(tx, q)) await rows(tx, q)
}

export const yieldService = {
  async get(ctx: Ctx, id: string) {
    return ctx.tx(async (tx) => {
      const row = await findReadable(tx, ctx, id)
      if (row.organisationId !== ctx.actor.organisationId) throw notFound('indicator')
      // Every match counted so far is in the counts before they are read.
      await foldMatchCounts(tx)
      const [counted] = await tx
        .select({ matches: indicatorMatchCounts.matches, lastMatchedAt: indicatorMatchCounts.lastMatchedAt })
        .from(indicatorMatchCounts)
        .where(eq(indicatorMatchCounts.indicatorId, id))
      const byOutcome = await tx
        .select({ outcome: sightings.outcome, items: sql<number>`sum(${sightings.count})::int`, reports: sql<number>`count(*)::int` })
        .from(sightings)
        .where(eq(sightings.indicatorId, id))
        .groupBy(sightings.outcome)
      const items = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>
      let reports = 0
      for (const r of byOutcome) {
        if ((OUTCOMES as readonly string[]).includes(r.outcome)) items[r.outcome as Outcome] = r.items
        reports += r.reports
      }
      const denominator = items.seized + items.nothing_found + items.false_positive
      return {
        indicatorId: id,
        matches: counted?.matches ?? 0,
        lastMatchedAt: counted ? counted.lastMatchedAt.toISOString() : null,
        sightings: items,
        sightingReports: reports,
        yield: denominator === 0 ? null : items.seized / denominator,
      }
    })
  },
}
