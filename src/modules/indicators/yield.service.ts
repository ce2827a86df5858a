// Yield (DESIGN §8): per indicator, how often a match returned it and what sightings reported,
// and yield = seized / (seized + nothing_found + false_positive) — the feedback an originator
// never gets elsewhere. Shown to the owner organisation only; another organisation that can see
// the item gets 404 (as for an item it cannot see: the answer says nothing about the item's
// feedback). Matches are counted in the match transaction itself (recordMatches): one appended
// row for the whole call, which waits for no other call (migrations/0022). The appended rows are
// folded into the counts by MatchCountFolder on a timer and by every yield read first, so the
// read is exact.
import { eq, sql } from 'drizzle-orm'
import type { FastifyBaseLogger } from 'fastify'
import { indicatorMatchCounts, sightings } from '../../db/schema/index.js'
import { rows, type Db, type Tx } from '../../db/client.js'
import type { Ctx } from '../../access/scope.js'
import { notFound } from '../../core/errors.js'
import { holdOn } from '../../db/pipeline.js'
import { findReadable } from './indicators.service.js'

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

/** Fold the appended match rows into the counts (dcx_fold_match_counts, one fold at a time); returns the counts rows written. */
export async function foldMatchCounts(q: Db | Tx): Promise<number> {
  const [r] = await rows<{ n: number }>(q, sql`select dcx_fold_match_counts() as n`)
  return Number(r?.n ?? 0)
}

/**
 * Folds the match rows on a timer, so they never pile up between yield reads (each read folds
 * too). Safe on every node at once: the fold takes its own lock, and a fold finding nothing
 * costs one index-less scan of an empty table.
 */
export class MatchCountFolder {
  private timer: NodeJS.Timeout | undefined
  private current: Promise<number> | undefined
  private failing = false

  constructor(
    private readonly db: Db,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(intervalMs: number) {
    this.timer = setInterval(() => this.tick(), intervalMs)
    this.timer.unref()
  }

  async stop() {
    clearInterval(this.timer)
    await this.current?.catch(() => {})
  }

  runOnce(): Promise<number> {
    return foldMatchCounts(this.db)
  }

  private tick() {
    if (this.current) return
    this.current = this.runOnce()
    this.current
      .then(
        () => {
          this.failing = false
        },
        (err) => {
          if (!this.failing) this.log.warn({ err }, 'yield: folding the match counts failed; it retries every interval')
          this.failing = true
        },
      )
      .finally(() => {
        this.current = undefined
      })
  }
}
