// The exact bytes each audit event's hash covers. Shared by the chainer, /v1/audit/verify and
// the offline verifier (scripts/audit-verify.ts), so all three agree by construction.
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
  details: unknown
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

export function eventContent(e: CanonicalEvent): string {
  return canonicalJson({
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
    clientAddress: e.clientAddress,
    userAgent: e.userAgent,
    details: e.details ?? {},
  })
}

/** hash(n) = SHA-256(hash(n-1) ‖ "\n" ‖ sequence ‖ "\n" ‖ canonical event), hex. */
export function chainHash(previousHash: string, sequence: number, e: CanonicalEvent): string {
  return createHash('sha256')
    .update(`${previousHash}\n${sequence}\n${eventContent(e)}`)
    .digest('hex')
}
