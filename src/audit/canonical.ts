// The exact bytes each audit event's hash covers. Shared by the chainer, /v1/audit/verify and
// the offline verifier (scripts/audit-verify.ts), so all three agree by construction.
//
// Two schemes, recorded per chain row (audit_chain.scheme):
//   1  the hash covers the whole event (every event chained before migration 0017);
//   2  the hash covers the event's header and the digest of its payload (details, client
//      address, user agent), so the payload can be pruned (audit/pruning.ts) while the chain
//      still verifies; an unpruned payload is checked against its digest.
import { createHash } from 'node:crypto'

export const GENESIS_HASH = '0'.repeat(64)

export interface CanonicalEvent {
  id: number | string
  time: string
  accountId: string | null
  organisationId: string | null
  clientId: string | null
  action: string
  resourceType: string | null
  resourceId: string | null
  outcome: string
  status: number | null
  requestId: string | null
  clientAddress: string | null
  userAgent: string | null
  /** null once the payload is pruned. */
  details: unknown
}

/** The payload: what pruning clears. Everything else is the header, kept for ever. */
export const PAYLOAD_FIELDS = ['details', 'clientAddress', 'userAgent'] as const
export type ChainScheme = 1 | 2
export const CURRENT_SCHEME: ChainScheme = 2

/** SHA-256 of the canonical payload, hex. */
export function payloadDigest(e: Pick<CanonicalEvent, 'details' | 'clientAddress' | 'userAgent'>): string {
  return createHash('sha256')
    .update(canonicalJson({ details: e.details ?? {}, clientAddress: e.clientAddress, userAgent: e.userAgent }))
    .digest('hex')
}

/** Scheme 2: hash(n) = SHA-256(hash(n-1) ‖ "\n" ‖ sequence ‖ "\n" ‖ canonical header with the payload digest), hex. */
export function chainHashV2(previousHash: string, sequence: number, e: CanonicalEvent, digest: string): string {
  const header = canonicalJson({ scheme: 2, ...headerOf(e), payloadDigest: digest })
  return createHash('sha256').update(`${previousHash}\n${sequence}\n${header}`).digest('hex')
}

/** A pruned event: its payload columns all cleared. */
export const isPruned = (e: Pick<CanonicalEvent, 'details' | 'clientAddress' | 'userAgent'>) =>
  e.details === null && e.clientAddress === null && e.userAgent === null

/**
 * The hash a chain row must carry, or null when the event cannot verify: a scheme-2 event whose
 * payload does not match its digest (or is half cleared), a scheme-1 event whose payload is gone.
 */
export function expectedHash(previousHash: string, sequence: number, e: CanonicalEvent, scheme: number, digest: string | null): string | null {
  if (scheme === 1) return e.details === null ? null : chainHash(previousHash, sequence, e)
  if (scheme !== 2 || !digest) return null
  if (e.details === null) {
    if (!isPruned(e)) return null
  } else if (payloadDigest(e) !== digest) return null
  return chainHashV2(previousHash, sequence, e, digest)
}

/** JSON with object keys sorted at every depth: jsonb does not keep insertion order. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null'
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`
  const o = v as Record<string, unknown>
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`
}

/** An event's header: what every scheme's hash covers directly (canonicalJson sorts the keys). */
function headerOf(e: CanonicalEvent) {
  return {
    id: String(e.id),
    time: e.time,
    accountId: e.accountId,
    organisationId: e.organisationId,
    clientId: e.clientId,
    action: e.action,
    resourceType: e.resourceType,
    resourceId: e.resourceId,
    outcome: e.outcome,
    status: e.status,
    requestId: e.requestId,
  }
}

export function eventContent(e: CanonicalEvent): string {
  return canonicalJson({
    ...headerOf(e),
    clientAddress: e.clientAddress,
    userAgent: e.userAgent,
    details: e.details ?? {},
  })
}

/** Scheme 1: hash(n) = SHA-256(hash(n-1) ‖ "\n" ‖ sequence ‖ "\n" ‖ canonical event), hex. */
export function chainHash(previousHash: string, sequence: number, e: CanonicalEvent): string {
  return createHash('sha256')
    .update(`${previousHash}\n${sequence}\n${eventContent(e)}`)
    .digest('hex')
}
