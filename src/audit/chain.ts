// The chainer links committed audit events into a hash chain, in the database, off the request
// path: requests only INSERT their event (no lock, no serialisation), and one chainer at a time
// (an advisory lock, whichever node holds it) appends chain rows. It reads only events whose
// transaction ids are below the oldest transaction of this database still running (db/horizon.ts;
// other databases on the server do not hold it back), ordered by (xid, id), so an event
// that commits late is never skipped. Signed checkpoints of the chain head let an outside
// party hold the service to its log.
import { createPrivateKey, sign } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { rows, sql, type Db } from '../db/client.js'
import { horizon } from '../db/horizon.js'
import type { KeyStore } from '../access/keys.js'
import { canonicalJson, chainHashV2, CURRENT_SCHEME, GENESIS_HASH, payloadDigest, type CanonicalEvent } from './canonical.js'

const CHAIN_LOCK_ID = 0x64637804
const BATCH = 2_000
const CHECKPOINT_EVERY_EVENTS = 1_000
const CHECKPOINT_EVERY_MS = 60_000
const TICK_MS = 1_000

export interface ChainHead {
  sequence: number
  hash: string
}

interface EventRow extends CanonicalEvent {
  xid: string
}

export function signCheckpoint(keys: KeyStore, payload: { sequence: number; hash: string; time: string }) {
  const key = keys.signingKey()
  const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: key.kid, typ: 'dcx-audit-checkpoint+jws' })).toString('base64url')
  const body = Buffer.from(canonicalJson(payload)).toString('base64url')
  const signature = sign(null, Buffer.from(`${header}.${body}`), createPrivateKey(key.privatePem)).toString('base64url')
  return { kid: key.kid, jws: `${header}.${body}.${signature}` }
}

export class AuditChainer {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<number> | undefined
  /** A run queued behind the one in flight, shared by every caller that arrives meanwhile. */
  private next: Promise<number> | undefined

  constructor(
    private readonly db: Db,
    private readonly keys: KeyStore,
    private readonly log: FastifyBaseLogger,
  ) {}

  start() {
    this.timer = setInterval(() => {
      this.chainNow().catch((err) => this.log.error({ err }, 'audit chainer failed'))
    }, TICK_MS)
    this.timer.unref()
  }

  async stop() {
    clearInterval(this.timer)
    await this.next?.catch(() => {})
    await this.running?.catch(() => {})
  }

  /** Chain everything committed so far (as far as the oldest running transaction allows). */
  async chainNow(): Promise<number> {
    // One run at a time in this process; other nodes are kept out by the advisory lock. A run
    // already in flight may have read before the caller's events committed, so joining it would
    // not cover them: wait for it, then run again (one queued run serves all who wait).
    if (this.next) return this.next
    if (this.running) {
      this.next = this.running
        .catch(() => 0)
        .then(() => {
          this.next = undefined
          return this.run()
        })
      return this.next
    }
    return this.run()
  }

  private run(): Promise<number> {
    const run: Promise<number> = this.drain().finally(() => {
      if (this.running === run) this.running = undefined
    })
    this.running = run
    return run
  }

  private async drain(): Promise<number> {
    let total = 0
    for (;;) {
      const n = await this.chainBatch()
      total += n
      if (n < BATCH) return total
    }
  }

  private async chainBatch(): Promise<number> {
    // A checkpoint may be signed in the transaction: confirm the signing key first, outside it
    // (PGlite has one connection, which the transaction holds).
    await this.keys.fresh()
    return this.db.transaction(async (tx) => {
      const [lock] = await rows<{ ok: boolean }>(tx, sql`select pg_try_advisory_xact_lock(${CHAIN_LOCK_ID}) as ok`)
      if (!lock?.ok) return 0
      const [head] = await rows<{ sequence: string; hash: string; xid: string; event_id: string }>(
        tx,
        sql`select c.sequence, c.hash, e.xid::text as xid, c.event_id
            from audit_chain c join audit_events e on e.id = c.event_id
            order by c.sequence desc limit 1`,
      )
      // The horizon in a statement of its own (dcx_horizon() is volatile); the read below takes a
      // later snapshot, which sees every transaction the horizon counts as finished.
      const below = await horizon(tx)
      const after = head ? sql`and (e.xid, e.id) > (${head.xid}::xid8, ${Number(head.event_id)}::bigint)` : sql``
      const events = await rows<Record<string, unknown>>(
        tx,
        sql`select e.id, e.time, e.account_id, e.organisation_id, e.client_id, e.action, e.resource_type,
                   e.resource_id, e.outcome, e.status, e.request_id, e.client_address, e.user_agent, e.details,
                   e.xid::text as xid
            from audit_events e
            where e.xid < ${below}::xid8 ${after}
            order by e.xid, e.id
            limit ${BATCH}`,
      )
      if (events.length === 0) return 0
      let sequence = head ? Number(head.sequence) : 0
      let previous = head?.hash ?? GENESIS_HASH
      const chainRows: { sequence: number; eventId: number; hash: string; previousHash: string; digest: string }[] = []
      for (const raw of events) {
        const e = toCanonical(raw)
        sequence += 1
        // Scheme 2 (audit/canonical.ts): the link covers the header and the payload's digest, so
        // the payload can be pruned later and the chain still verifies.
        const digest = payloadDigest(e)
        const hash = chainHashV2(previous, sequence, e, digest)
        chainRows.push({ sequence, eventId: Number(e.id), hash, previousHash: previous, digest })
        previous = hash
      }
      // One multi-row insert per batch: a few thousand events cost one round trip.
      const values = sql.join(
        chainRows.map((r) => sql`(${r.sequence}, ${r.eventId}, ${r.hash}, ${r.previousHash}, ${CURRENT_SCHEME}, ${r.digest})`),
        sql`, `,
      )
      await rows(tx, sql`insert into audit_chain (sequence, event_id, hash, previous_hash, scheme, payload_digest) values ${values}`)
      await this.maybeCheckpoint(tx, { sequence, hash: previous })
      return events.length
    })
  }

  private async maybeCheckpoint(tx: Parameters<Parameters<Db['transaction']>[0]>[0], head: ChainHead) {
    const [last] = await rows<{ sequence: string; time: Date | string }>(tx, sql`select sequence, time from audit_checkpoints order by sequence desc limit 1`)
    const lastSeq = last ? Number(last.sequence) : 0
    const lastTime = last ? new Date(last.time).getTime() : 0
    if (head.sequence - lastSeq < CHECKPOINT_EVERY_EVENTS && Date.now() - lastTime < CHECKPOINT_EVERY_MS) return
    const time = new Date().toISOString()
    const { kid, jws } = signCheckpoint(this.keys, { sequence: head.sequence, hash: head.hash, time })
    await rows(tx, sql`insert into audit_checkpoints (sequence, hash, time, kid, signature) values (${head.sequence}, ${head.hash}, ${time}, ${kid}, ${jws})`)
  }
}

export function toCanonical(raw: Record<string, unknown>): EventRow {
  const time = raw.time instanceof Date ? raw.time : new Date(String(raw.time))
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v))
  const str = (v: unknown) => (v === null || v === undefined ? null : String(v))
  return {
    id: String(raw.id),
    time: time.toISOString(),
    accountId: str(raw.account_id ?? raw.accountId),
    organisationId: str(raw.organisation_id ?? raw.organisationId),
    clientId: str(raw.client_id ?? raw.clientId),
    action: String(raw.action),
    resourceType: str(raw.resource_type ?? raw.resourceType),
    resourceId: str(raw.resource_id ?? raw.resourceId),
    outcome: String(raw.outcome),
    status: num(raw.status),
    requestId: str(raw.request_id ?? raw.requestId),
    clientAddress: str(raw.client_address ?? raw.clientAddress),
    userAgent: str(raw.user_agent ?? raw.userAgent),
    // null once pruned (audit/pruning.ts); an event is never written without details.
    details: typeof raw.details === 'string' ? JSON.parse(raw.details) : (raw.details ?? null),
    xid: String(raw.xid ?? ''),
  }
}
