// Reading the audit trail: filtered keyset pages, a constant-memory export, chain verification.
// Auditors and platform admins see every event; an org_admin sees its own organisation's.
import { and, eq, gt, gte, lt, sql, type SQL } from 'drizzle-orm'
import { createPublicKey, verify as verifySig } from 'node:crypto'
import { auditEvents } from '../../db/schema/index.js'
import { rows, type Db } from '../../db/client.js'
import type { Actor } from '../../core/actor.js'
import { AppError } from '../../core/errors.js'
import { auditScopeOf } from '../../access/policy.js'
import { decodeCursor, encodeCursor } from '../../core/cursor.js'
import { expectedHash, GENESIS_HASH, canonicalJson } from '../../audit/canonical.js'
import { toCanonical } from '../../audit/chain.js'

export interface AuditFilter {
  accountId?: string | undefined
  organisationId?: string | undefined
  action?: string | undefined
  resourceType?: string | undefined
  resourceId?: string | undefined
  outcome?: 'ok' | 'denied' | 'error' | undefined
  from?: string | undefined
  to?: string | undefined
}

/** Who may read which events (the policy's auditScope): everything, or one organisation's. */
const auditScope = auditScopeOf

function conditions(scope: { organisationId: string | null }, f: AuditFilter): SQL[] {
  const e = auditEvents
  const out: (SQL | undefined)[] = [
    scope.organisationId ? eq(e.organisationId, scope.organisationId) : undefined,
    f.accountId ? eq(e.accountId, f.accountId) : undefined,
    f.organisationId ? eq(e.organisationId, f.organisationId) : undefined,
    f.action ? eq(e.action, f.action) : undefined,
    f.resourceType ? eq(e.resourceType, f.resourceType) : undefined,
    f.resourceId ? eq(e.resourceId, f.resourceId) : undefined,
    f.outcome ? eq(e.outcome, f.outcome) : undefined,
    f.from ? gte(e.time, new Date(f.from)) : undefined,
    f.to ? lt(e.time, new Date(f.to)) : undefined,
  ]
  return out.filter((x): x is SQL => !!x)
}

// Columns by their table name (no alias): the filter conditions are drizzle column references.
const selectEvent = sql.raw(
  [
    'id',
    'time',
    'account_id',
    'organisation_id',
    'client_id',
    'action',
    'resource_type',
    'resource_id',
    'outcome',
    'status',
    'request_id',
    'client_address',
    'user_agent',
    'details',
  ]
    .map((c) => `audit_events.${c}`)
    .join(', ') + ', c.sequence, c.hash, c.previous_hash, c.scheme, c.payload_digest',
)

export function toEvent(r: Record<string, unknown>) {
  const c = toCanonical(r)
  return {
    id: Number(c.id),
    sequence: r.sequence === null || r.sequence === undefined ? null : Number(r.sequence),
    time: c.time,
    accountId: c.accountId,
    organisationId: c.organisationId,
    clientId: c.clientId,
    action: c.action,
    resourceType: c.resourceType,
    resourceId: c.resourceId,
    outcome: c.outcome as 'ok' | 'denied' | 'error',
    status: c.status,
    requestId: c.requestId,
    clientAddress: c.clientAddress,
    userAgent: c.userAgent,
    details: c.details as Record<string, unknown> | null,
    hash: (r.hash as string | null) ?? null,
    previousHash: (r.previous_hash as string | null) ?? null,
    scheme: r.scheme === null || r.scheme === undefined ? null : Number(r.scheme),
    payloadDigest: (r.payload_digest as string | null) ?? null,
    pruned: c.details === null,
  }
}
export type AuditEvent = ReturnType<typeof toEvent>

export const auditService = {
  /** Newest first, keyset by id. */
  async list(db: Db, actor: Actor, f: AuditFilter, limit: number, cursor: string | undefined) {
    const scope = auditScope(actor)
    const where = conditions(scope, f)
    if (cursor) where.push(lt(auditEvents.id, decodeCursor<[number]>(cursor, ['n'])[0]))
    const rs = await rows<Record<string, unknown>>(
      db,
      sql`select ${selectEvent} from ${auditEvents} left join audit_chain c on c.event_id = audit_events.id
          where ${where.length ? and(...where) : sql`true`} order by audit_events.id desc limit ${limit + 1}`,
    )
    const items = rs.slice(0, limit).map(toEvent)
    const last = items.at(-1)
    return { items, nextCursor: rs.length > limit && last ? encodeCursor([last.id]) : null }
  },

  /** Oldest first, in batches: memory stays flat however many events match. */
  async *export(db: Db, actor: Actor, f: AuditFilter, batch = 2_000): AsyncGenerator<AuditEvent> {
    const scope = auditScope(actor)
    let after = 0
    for (;;) {
      const where = [...conditions(scope, f), gt(auditEvents.id, after)]
      const rs = await rows<Record<string, unknown>>(
        db,
        // The join repeats the page bound so the chain's index scan starts at the page, not at event 1.
        sql`select ${selectEvent} from ${auditEvents} left join audit_chain c on c.event_id = audit_events.id and c.event_id > ${after}
            where ${and(...where)} order by audit_events.id limit ${batch}`,
      )
      for (const r of rs) yield toEvent(r)
      if (rs.length < batch) return
      after = Number(rs.at(-1)?.id)
    }
  },

  /** Recompute the chain (optionally a sequence range) and name the first altered event. */
  async verify(db: Db, range: { from?: number | undefined; to?: number | undefined }) {
    let expectedSeq = Math.max(1, range.from ?? 1)
    let previous = GENESIS_HASH
    if (expectedSeq > 1) {
      const [p] = await rows<{ hash: string }>(db, sql`select hash from audit_chain where sequence = ${expectedSeq - 1}`)
      if (!p) throw new AppError('validation', 'query.from: no chained event before that sequence', [{ name: 'query.from', reason: 'beyond the chain' }])
      previous = p.hash
    }
    let checked = 0
    let firstInvalid: number | null = null
    const to = range.to ?? Number.MAX_SAFE_INTEGER
    while (firstInvalid === null && expectedSeq <= to) {
      const rs = await rows<Record<string, unknown>>(
        db,
        sql`select c.sequence, c.hash, c.previous_hash, c.scheme, c.payload_digest, c.event_id, e.id, e.time, e.account_id, e.organisation_id, e.client_id,
                   e.action, e.resource_type, e.resource_id, e.outcome, e.status, e.request_id, e.client_address, e.user_agent, e.details
            from audit_chain c left join audit_events e on e.id = c.event_id
            where c.sequence >= ${expectedSeq} and c.sequence <= ${to} order by c.sequence limit 5000`,
      )
      if (rs.length === 0) break
      for (const r of rs) {
        const seq = Number(r.sequence)
        // A gap (a deleted link), a missing event, a broken link, altered content, or a payload
        // that does not match its digest (audit/canonical.ts: scheme 1 or 2, per row).
        const ok =
          seq === expectedSeq &&
          r.previous_hash === previous &&
          r.id !== null &&
          r.id !== undefined &&
          expectedHash(previous, seq, toCanonical(r), Number(r.scheme), (r.payload_digest as string | null) ?? null) === r.hash
        if (!ok) {
          firstInvalid = Math.min(seq, expectedSeq)
          break
        }
        previous = r.hash as string
        expectedSeq += 1
        checked += 1
      }
    }
    // An unchained event is an orphan only if the chainer has passed it — it sorts before the
    // chain head in (xid, id) order, the order the chainer links in. One committed after the
    // chainer last ran (a request finishing while verify reads, or another node holding the
    // chain lock) is merely pending, not a removed link.
    const [state] = await rows<{ chained: string | null; pending: number; orphans: number }>(
      db,
      sql`with head as (
            select e.xid, e.id from audit_chain c join audit_events e on e.id = c.event_id order by c.sequence desc limit 1
          ), unchained as (
            select e.xid, e.id from audit_events e where not exists (select 1 from audit_chain c where c.event_id = e.id)
          )
          select (select max(sequence) from audit_chain) as chained,
                 (select count(*)::int from unchained u where not exists (select 1 from head h where (u.xid, u.id) < (h.xid, h.id))) as pending,
                 (select count(*)::int from unchained u where exists (select 1 from head h where (u.xid, u.id) < (h.xid, h.id))) as orphans`,
    )
    // Events the chainer has passed but that are not in the chain: their link was removed.
    const chainedThrough = state?.chained ? Number(state.chained) : 0
    if (firstInvalid === null && (state?.orphans ?? 0) > 0 && range.from === undefined && range.to === undefined) {
      firstInvalid = chainedThrough + 1
    }
    // The signed checkpoints pin the chain: a rewritten or truncated-and-rechained history no
    // longer reaches the hash a checkpoint signed at that sequence.
    const checkpoints = await rows<{
      sequence: string
      hash: string
      time: Date
      signature: string
      public_jwk: Record<string, string>
      chain_hash: string | null
    }>(
      db,
      sql`select p.sequence, p.hash, p.time, p.signature, k.public_jwk, c.hash as chain_hash
          from audit_checkpoints p join signing_keys k on k.kid = p.kid left join audit_chain c on c.sequence = p.sequence
          where p.sequence >= ${range.from ?? 1} and p.sequence <= ${range.to ?? Number.MAX_SAFE_INTEGER}
          order by p.sequence`,
    )
    for (const cp of checkpoints) {
      const seq = Number(cp.sequence)
      const signed = verifyCheckpointJws({ sequence: seq, hash: cp.hash, time: new Date(cp.time).toISOString(), jws: cp.signature }, cp.public_jwk)
      if (!signed || cp.chain_hash !== cp.hash) {
        firstInvalid = firstInvalid === null ? seq : Math.min(firstInvalid, seq)
        break
      }
    }
    return { ok: firstInvalid === null, checked, firstInvalid, chainedThrough, pending: state?.pending ?? 0, checkpoints: checkpoints.length }
  },

  async checkpoints(db: Db, limit: number, cursor: string | undefined) {
    const before = cursor ? decodeCursor<[number]>(cursor, ['n'])[0] : Number.MAX_SAFE_INTEGER
    const rs = await rows<{ sequence: string; hash: string; time: Date; kid: string; signature: string; public_jwk: Record<string, string> }>(
      db,
      sql`select p.sequence, p.hash, p.time, p.kid, p.signature, k.public_jwk
          from audit_checkpoints p join signing_keys k on k.kid = p.kid
          where p.sequence < ${before} order by p.sequence desc limit ${limit + 1}`,
    )
    const items = rs.slice(0, limit).map((r) => ({
      sequence: Number(r.sequence),
      hash: r.hash,
      time: new Date(r.time).toISOString(),
      kid: r.kid,
      jws: r.signature,
      publicJwk: { ...r.public_jwk, kid: r.kid, alg: 'EdDSA', use: 'sig' } as Record<string, string>,
    }))
    const last = items.at(-1)
    return { items, nextCursor: rs.length > limit && last ? encodeCursor([last.sequence]) : null }
  },
}

/** Check a checkpoint's detached claims against its compact JWS and public key (used offline too). */
export function verifyCheckpointJws(cp: { sequence: number; hash: string; time: string; jws: string }, publicJwk: Record<string, string>): boolean {
  const [h, p, s] = cp.jws.split('.')
  if (!h || !p || !s) return false
  try {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string }
    if (header.alg !== 'EdDSA') return false
    const key = createPublicKey({ key: { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x } as never, format: 'jwk' })
    if (!verifySig(null, Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) return false
    const claims = Buffer.from(p, 'base64url').toString()
    return claims === canonicalJson({ sequence: cp.sequence, hash: cp.hash, time: cp.time })
  } catch {
    return false
  }
}
