// Folding the yield counts (migrations/0022): each match call appends one row of counts;
// dcx_fold_match_counts() folds the appended rows into indicator_match_counts. The yield read
// folds first (yield.service.ts); MatchCountFolder folds on a timer (plugins/maintenance.ts), so
// the rows never pile up between reads. Imports nothing but the database client, so the plugin
// that starts it pulls no route schemas in.
import { sql } from 'drizzle-orm'
import type { FastifyBaseLogger } from 'fastify'
import { rows, type Db, type Tx } from '../../db/client.js'

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
