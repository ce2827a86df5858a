// Large TAXII pushes (TAXII 2.1 §4.3.1, §5.4; issue 14): above the configured threshold a POST to
// a collection's objects stores the accepted objects with its status row (pending_objects),
// answers 202 with status "pending", and the objects are imported after the response on the node
// that took them — as the poster, with the same import as the synchronous path, in one
// transaction that also completes the status (all or nothing, as a synchronous push).
//
// Nothing accepted is lost: a status left pending by a node that died is completed by the job
// (runOnce, on a timer on every node). The row is locked FOR UPDATE SKIP LOCKED by the
// transaction that imports it, and the import clears pending_objects in that same transaction, so
// a status is processed once: a node that finds it locked or already cleared leaves it alone, and a
// crash mid-import rolls everything back to pending for the next try.
import type { FastifyBaseLogger } from 'fastify'
import { openScope, type AuditState, type RequestFacts } from '../../access/scope.js'
import type { Actor } from '../../core/actor.js'
import { AppError } from '../../core/errors.js'
import { rows, sql, type Database, type Db } from '../../db/client.js'
import { countByStatus, importObjects, type ImportResult } from '../stix/stix.import.js'
import { findCollection } from './taxii.collections.js'
import { statusOf, type TaxiiStatus } from './taxii.status.js'

/** What a pending row holds until it is processed. */
export interface PendingWork {
  objects: unknown[]
  /** The accepting request's facts, for the processing's audit event. */
  request: RequestFacts
}

/** The audit event of the processing (the acceptance is the request's own taxiiAddObjects event). */
export const PROCESS_ACTION = 'taxii.object.add.process'

/** The status a large push answers with: every object pending. */
export function pendingStatus(id: string, requested: Date, total: number): TaxiiStatus {
  return {
    id,
    status: 'pending',
    request_timestamp: requested.toISOString(),
    total_count: total,
    success_count: 0,
    successes: [],
    failure_count: 0,
    failures: [],
    pending_count: total,
    pendings: [],
  }
}

interface Deps {
  db: Db
  database: Database
  recording: boolean
  loadActor(accountId: string): Promise<Actor | null>
  log: FastifyBaseLogger
}

export class TaxiiPending {
  private readonly inflight = new Set<Promise<unknown>>()
  private timer: NodeJS.Timeout | undefined
  private current: Promise<number> | undefined

  constructor(private readonly deps: Deps) {}

  start(intervalMs: number) {
    this.timer = setInterval(() => {
      if (this.current) return
      this.current = this.runOnce()
        .catch((err) => {
          this.deps.log.warn({ err }, 'taxii pending job: a pass failed; it retries at the next tick')
          return 0
        })
        .finally(() => {
          this.current = undefined
        })
    }, intervalMs)
    this.timer.unref()
  }

  async stop() {
    clearInterval(this.timer)
    await this.current?.catch(() => {})
    await Promise.allSettled([...this.inflight])
  }

  /** After the 202 left: process the status on this node, as the poster. */
  kick(id: string, actor: Actor) {
    const p = this.process(id, actor)
      .catch((err) => this.deps.log.error({ err, statusId: id }, 'taxii pending push failed; the pending job retries it'))
      .finally(() => this.inflight.delete(p))
    this.inflight.add(p)
  }

  /**
   * Complete every pending status of every organisation (the ones this process is working on
   * first): the recovery for statuses whose node died. Returns how many this call completed.
   */
  async runOnce(): Promise<number> {
    await Promise.allSettled([...this.inflight])
    // Across organisations: the connecting (owner) user lists them; each is processed as its poster.
    const pending = await this.deps.database.maintain((q) =>
      q(sql`select id, account_id from taxii_statuses where pending_objects is not null order by created_at limit 100`),
    )
    let done = 0
    for (const r of pending) {
      const actor = await this.deps.loadActor(String(r.account_id))
      if (!actor) {
        // A disabled or deleted account: its push stays pending (never lost) until an operator acts.
        this.deps.log.warn({ statusId: r.id }, 'taxii pending push: the posting account is not active; left pending')
        continue
      }
      if (await this.process(String(r.id), actor)) done++
    }
    return done
  }

  /** Import one pending status's objects and complete it; false when it was locked or done. */
  async process(id: string, actor: Actor): Promise<boolean> {
    const st: AuditState = { action: PROCESS_ACTION, resourceType: 'taxii', resourceId: id, details: { statusId: id }, recorded: false }
    let facts: RequestFacts = { requestId: `taxii-pending:${id}`, clientAddress: '', userAgent: undefined }
    const skip = new Error('skip')
    // The event carries the accepting request's facts; openScope reads them when it writes.
    const scopeFacts: RequestFacts = {
      get requestId() {
        return facts.requestId
      },
      get clientAddress() {
        return facts.clientAddress
      },
      get userAgent() {
        return facts.userAgent
      },
    }
    const ctx = openScope({ db: this.deps.db, recording: this.deps.recording }, actor, scopeFacts, st)
    try {
      await ctx.tx(async (tx, audit) => {
        const [row] = await rows<{ collection_id: string; status: TaxiiStatus; pending_objects: PendingWork }>(
          tx,
          sql`select collection_id, status, pending_objects from taxii_statuses
              where id = ${id}::uuid and pending_objects is not null for update skip locked`,
        )
        if (!row) throw skip
        const work = row.pending_objects
        facts = { ...work.request, requestId: String(work.request.requestId) }
        const requested = new Date(row.status.request_timestamp)
        let results: ImportResult[]
        let collection: string | undefined
        try {
          const c = await findCollection(tx, actor, row.collection_id)
          if (!c.canWrite) throw new AppError('forbidden', 'the posting account may no longer write to this collection')
          collection = c.distribution
          results = await importObjects(tx, ctx, work.objects, { distribution: c.distribution, sharingGroupId: c.groupId })
        } catch (err) {
          // The collection is gone from the poster's reach or its roles changed: every object fails, said so.
          if (!(err instanceof AppError)) throw err
          results = work.objects.map((o, index) => {
            const rec = (o ?? {}) as { id?: unknown; type?: unknown }
            return {
              index,
              id: typeof rec.id === 'string' ? rec.id.slice(0, 300) : null,
              type: typeof rec.type === 'string' ? rec.type.slice(0, 100) : null,
              status: 'invalid' as const,
              reason: err.message,
            }
          })
        }
        const s = statusOf(id, requested, work.objects, results)
        await rows(tx, sql`update taxii_statuses set status = ${JSON.stringify(s)}::jsonb, pending_objects = null, updated_at = now() where id = ${id}::uuid`)
        audit.set({ details: { collection, submitted: work.objects.length, ...countByStatus(results), statusId: id } })
      })
      return true
    } catch (err) {
      if (err === skip) return false
      throw err
    }
  }
}
