// The tagger: precomputes every active holding's screening tag in the current epoch
// (tag = Evaluate(k, "<type>:<normalizedValue>")[0..8), server.ts holdingTag) and removes stale
// ones. Safe on every node at once, and incremental:
// - Each batch is one transaction holding an advisory lock (tried, not waited for: a node that
//   finds it taken leaves the work to the holder), so two nodes never evaluate the same holdings.
// - What needs a tag is what has none in the current epoch at the holding's change_seq: new
//   holdings, changed ones (every write takes a new change_seq), all of them once after a rotation
//   (a new epoch has no tags yet). Stored only if the holding is still active at that change_seq,
//   so a holding changed meanwhile is picked up by the next pass. Idempotent.
// - Stale tags (epochs no longer accepted, holdings revoked, erased or changed) are removed.
// The holdings of every organisation are read through the migration's SECURITY DEFINER functions
// (migrations/0018_screening.sql): row-level security rightly hides them from dcx_app, and these
// functions give the tagger exactly what it needs. Values never leave this process.
import type { FastifyBaseLogger } from 'fastify'
import { rows, sql, type Db, type Tx } from '../db/client.js'
import { loadFastOprf } from './fast.js'
import type { ScreeningKeys } from './keys.js'
import { holdingTag } from './server.js'

const TAG_LOCK_ID = 0x64637819
/** Holdings evaluated per transaction (about 0.15 ms each on the fast path). */
export const TAG_BATCH = 500

export interface TagRun {
  epoch: number
  /** Tags computed and stored in this run. */
  tagged: number
  /** Stale tags removed. */
  removed: number
  /** Another node held the lock: it does the work. */
  locked: boolean
}

export class ScreeningTagger {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<TagRun> | undefined

  constructor(
    private readonly db: Db,
    private readonly keys: ScreeningKeys,
    private readonly log?: Pick<FastifyBaseLogger, 'warn'>,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.runOnce().catch((err: unknown) => this.log?.warn({ err }, 'screening tagger: pass failed'))
    }, intervalMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.running?.catch(() => {})
  }

  /**
   * One pass until nothing is left to tag (joins a pass already running in this process). The
   * timer's passes leave the work to a node holding the lock; `wait` (tests, an operator) waits
   * for it instead, so what committed before the call is tagged when it resolves.
   */
  runOnce(opts: { wait?: boolean } = {}): Promise<TagRun> {
    this.running ??= this.pass(opts.wait === true).finally(() => {
      this.running = undefined
    })
    return this.running
  }

  private async pass(wait: boolean): Promise<TagRun> {
    const key = await this.keys.current()
    const fast = await loadFastOprf()
    const run: TagRun = { epoch: key.epoch, tagged: 0, removed: 0, locked: false }
    for (;;) {
      const batch = await this.db.transaction(async (tx) => {
        if (!(await this.lock(tx, wait))) return null
        const pending = await rows<{ id: string; type: string; normalized_value: string; change_seq: string | number }>(
          tx,
          sql`select id, type, normalized_value, change_seq from dcx_screening_pending(${key.epoch}::int, ${TAG_BATCH}::int)`,
        )
        if (pending.length === 0) return { pending: 0, stored: 0 }
        const ids: string[] = []
        const tags: string[] = []
        const seqs: string[] = []
        for (const p of pending) {
          ids.push(p.id)
          tags.push(`"\\\\x${Buffer.from(holdingTag(fast, key.secretKey, p.type, p.normalized_value)).toString('hex')}"`)
          seqs.push(String(p.change_seq))
        }
        const [stored] = await rows<{ n: number }>(
          tx,
          sql`select dcx_screening_store(${key.epoch}::int, ${`{${ids.join(',')}}`}::uuid[], ${`{${tags.join(',')}}`}::bytea[], ${`{${seqs.join(',')}}`}::bigint[]) as n`,
        )
        return { pending: pending.length, stored: Number(stored?.n ?? 0) }
      })
      if (!batch) return { ...run, locked: true }
      run.tagged += batch.stored
      // A short batch was the last; a batch that stored nothing (every holding changed meanwhile) ends the pass too.
      if (batch.pending < TAG_BATCH || batch.stored === 0) break
    }
    const removed = await this.db.transaction(async (tx) => {
      if (!(await this.lock(tx, wait))) return 0
      const [r] = await rows<{ n: number }>(tx, sql`select dcx_screening_prune() as n`)
      return Number(r?.n ?? 0)
    })
    run.removed = removed
    return run
  }

  /** The tagger's lock for this transaction: tried (false when another node holds it), or waited for. */
  private async lock(tx: Tx, wait: boolean): Promise<boolean> {
    if (wait) {
      await rows(tx, sql`select pg_advisory_xact_lock(${TAG_LOCK_ID})`)
      return true
    }
    const [lock] = await rows<{ ok: boolean }>(tx, sql`select pg_try_advisory_xact_lock(${TAG_LOCK_ID}) as ok`)
    return lock?.ok === true
  }
}
