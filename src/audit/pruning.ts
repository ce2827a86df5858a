// Audit payload pruning (DESIGN §7, "Audit pruning"; BDSG §76(4), LED Art. 25): the payload of an
// event older than DCX_AUDIT_PAYLOAD_RETENTION_MONTHS — details, client address, user agent — is
// cleared; its header (who, what, when, outcome) and the payload's digest stay in the chain, so
// GET /v1/audit/verify and npm run audit:verify still prove it (audit/canonical.ts, scheme 2).
//
// Only the database function dcx_audit_prune() (migration 0017, SECURITY DEFINER, owned by the
// migrating user) may clear payloads; the append-only trigger refuses every other change. Every
// node may run this job: an advisory lock lets one work at a time, and a second run finds nothing
// left to clear (idempotent). One run is one transaction: the clearing and its own audit event
// (audit.prune: the cut-off and counts, never a payload) commit together or not at all, so an
// interrupted run leaves nothing half-done.
import type { FastifyBaseLogger } from 'fastify'
import { rows, sql, type Db } from '../db/client.js'
import { SYSTEM_EVENTS } from './events.js'

const PRUNE_LOCK_ID = 0x64637817
const TICK_MS = 60 * 60 * 1000

export interface PruneRun {
  /** Another node held the lock, or retention is off: nothing was done here. */
  skipped: 'locked' | 'retention_off' | null
  cutoff: string | null
  /** Events whose payload this run cleared. */
  pruned: number
  /** Events older than the cut-off chained under scheme 1 (before 0017): kept whole, their hash needs the payload. */
  legacyKept: number
}

/** The cut-off for a retention of `months` at `now`: the same day of the month, `months` earlier (UTC). */
export function cutoffFor(now: Date, months: number): Date {
  const d = new Date(now)
  const day = d.getUTCDate()
  d.setUTCDate(1)
  d.setUTCMonth(d.getUTCMonth() - months)
  // 31 March minus one month is the last of February, not 3 March.
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate()
  d.setUTCDate(Math.min(day, last))
  return d
}

export class AuditPruner {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<PruneRun> | undefined

  constructor(
    private readonly db: Db,
    private readonly retentionMonths: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  start() {
    if (this.retentionMonths === 0) return
    this.timer = setInterval(() => {
      this.runNow().catch((err) => this.log.error({ err }, 'audit pruning failed'))
    }, TICK_MS)
    this.timer.unref()
  }

  async stop() {
    clearInterval(this.timer)
    await this.running?.catch(() => {})
  }

  /** One pruning run now (tests drive it; `now` moves the clock the cut-off is counted from). */
  async runNow(opts: { now?: Date } = {}): Promise<PruneRun> {
    if (this.running) await this.running.catch(() => {})
    const run = this.run(opts.now ?? new Date()).finally(() => {
      if (this.running === run) this.running = undefined
    })
    this.running = run
    return run
  }

  private async run(now: Date): Promise<PruneRun> {
    if (this.retentionMonths === 0) return { skipped: 'retention_off', cutoff: null, pruned: 0, legacyKept: 0 }
    const cutoff = cutoffFor(now, this.retentionMonths)
    return this.db.transaction(async (tx) => {
      const [lock] = await rows<{ ok: boolean }>(tx, sql`select pg_try_advisory_xact_lock(${PRUNE_LOCK_ID}) as ok`)
      if (!lock?.ok) return { skipped: 'locked' as const, cutoff: cutoff.toISOString(), pruned: 0, legacyKept: 0 }
      const [r] = await rows<{ pruned: string; legacy_kept: string }>(
        tx,
        sql`select pruned, legacy_kept from dcx_audit_prune(${cutoff.toISOString()}::timestamptz)`,
      )
      const result: PruneRun = { skipped: null, cutoff: cutoff.toISOString(), pruned: Number(r?.pruned ?? 0), legacyKept: Number(r?.legacy_kept ?? 0) }
      const spec = SYSTEM_EVENTS.auditPrune
      const details = { cutoff: result.cutoff, pruned: result.pruned, legacyKept: result.legacyKept, retentionMonths: this.retentionMonths }
      await rows(
        tx,
        sql`insert into audit_events (action, resource_type, outcome, status, details)
            values (${spec.type}, ${spec.resource}, 'ok', null, ${JSON.stringify(details)}::jsonb)`,
      )
      if (result.pruned > 0) this.log.info({ cutoff: result.cutoff, pruned: result.pruned, legacyKept: result.legacyKept }, 'audit payloads pruned')
      return result
    })
  }
}
