// The retention job: erases every item left 30 days past its review-by date (DESIGN §7), with
// the same erasure function as the owner's review decision (erasure.ts). Every node may run it
// at once: each batch runs in one transaction that first takes a transaction-level advisory
// lock (pg_try_advisory_xact_lock; released by COMMIT or ROLLBACK, so a pooled connection never
// keeps it), and a node that does not get the lock does nothing this time. It is idempotent:
// the due items are looked up under the lock, each row is locked and checked again before it is
// erased, and an erased item is never due again. Each item is erased in a savepoint of its own,
// as its owner organisation, so one failing item neither stops nor undoes the others.
// The interval is configuration (DCX_RETENTION_INTERVAL_MS); tests call runOnce().
import { sql } from 'drizzle-orm'
import type { FastifyBaseLogger } from 'fastify'
import { rows, type Db } from '../../db/client.js'
import { ERASE_AFTER_DAYS } from './review-by.js'
import { actAs, eraseItem, type ItemKind } from './erasure.js'

// Any constant: the same on every node of one database (maintenance.ts uses 0x64637811).
const RETENTION_LOCK_ID = 0x64637812
const DAY_MS = 86_400_000
export const RETENTION_CLIENT_ID = 'dcx:retention'

export interface RetentionRun {
  /** Items erased by this run. */
  erased: { kind: ItemKind; id: string }[]
  /** Items that failed (logged; tried again next run). */
  failed: number
  /** Another node held the lock: nothing was done here. */
  locked: boolean
}

export class RetentionJob {
  private timer: NodeJS.Timeout | undefined
  private current: Promise<RetentionRun> | undefined
  private failing = false

  constructor(
    private readonly db: Db,
    private readonly log: FastifyBaseLogger,
    private readonly batchSize = 200,
  ) {}

  start(intervalMs: number) {
    this.timer = setInterval(() => this.tick(), intervalMs)
    this.timer.unref()
  }

  async stop() {
    clearInterval(this.timer)
    await this.current?.catch(() => {})
  }

  private tick() {
    if (this.current) return
    this.runOnce().then(
      (r) => {
        this.failing = false
        if (r.erased.length) this.log.info({ erased: r.erased.length, failed: r.failed }, 'retention: items erased 30 days past their review-by date')
      },
      (err) => {
        if (!this.failing) this.log.warn({ err }, 'retention: a run failed; it retries every interval')
        this.failing = true
      },
    )
  }

  /** One run: erase everything due at `now` (items whose review-by date is more than 30 days before it). */
  async runOnce(now = new Date()): Promise<RetentionRun> {
    if (this.current) await this.current.catch(() => {})
    const run = this.pass(now).finally(() => {
      if (this.current === run) this.current = undefined
    })
    this.current = run
    return run
  }

  private async pass(now: Date): Promise<RetentionRun> {
    const cutoff = new Date(now.getTime() - ERASE_AFTER_DAYS * DAY_MS)
    const result: RetentionRun = { erased: [], failed: 0, locked: false }
    const runId = `retention:${now.toISOString()}`
    for (;;) {
      const batch = await this.db.transaction(async (tx) => {
        const [lock] = await rows<{ ok: boolean }>(tx, sql`select pg_try_advisory_xact_lock(${RETENTION_LOCK_ID}) as ok`)
        if (!lock?.ok) return undefined
        const due = await rows<{ kind: ItemKind; id: string; organisation_id: string }>(
          tx,
          sql`select kind, id, organisation_id from dcx_retention_due(${cutoff.toISOString()}::timestamptz, ${this.batchSize})`,
        )
        const erased: { kind: ItemKind; id: string }[] = []
        let failed = 0
        for (const d of due) {
          try {
            const done = await tx.transaction(async (sp) => {
              await actAs(sp, d.organisation_id)
              return eraseItem(
                sp,
                d.kind,
                d.id,
                { accountId: null, organisationId: d.organisation_id, clientId: RETENTION_CLIENT_ID, requestId: runId, trigger: 'retention' },
                cutoff,
              )
            })
            if (done) erased.push({ kind: d.kind, id: d.id })
          } catch (err) {
            failed++
            this.log.warn({ err, kind: d.kind, id: d.id }, 'retention: an item could not be erased; it is tried again next run')
          }
        }
        return { due: due.length, erased, failed }
      })
      if (!batch) return { ...result, locked: true }
      result.erased.push(...batch.erased)
      result.failed += batch.failed
      // Another batch while this one made progress (the next finds nothing once all are done);
      // items that only failed wait for the next run.
      if (batch.due === 0 || batch.erased.length === 0) break
    }
    return result
  }
}
