// Idempotency-Key on POST (safe retries). The key's row is inserted first in the same transaction
// as the work; a concurrent retry blocks on that row until the first commits, then reads the
// stored response. A failed first attempt rolls its row back, so a retry runs afresh.
import { createHash } from 'node:crypto'
import { and, eq, sql } from 'drizzle-orm'
import type { FastifyRequest } from 'fastify'
import { idempotencyKeys } from '../db/schema/index.js'
import { rows, type Tx } from '../db/client.js'
import type { AuditNote } from './scope.js'
import { AppError } from '../core/errors.js'
import { canonicalJson } from '../audit/canonical.js'

export interface Stored<T> {
  status: number
  body: T
  replayed: boolean
}

/** 1–200 printable ASCII characters (openapi.yaml says the same). */
export const IDEMPOTENCY_KEY_PATTERN = '^[\\x21-\\x7e]{1,200}$'
const KEY_RE = new RegExp(IDEMPOTENCY_KEY_PATTERN)
const MAX_BODY_DEPTH = 64

/** True when a JSON value nests arrays/objects deeper than max (iterative: never overflows itself). */
function nestingExceeds(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length) {
    const [v, depth] = stack.pop() as [unknown, number]
    if (v === null || typeof v !== 'object') continue
    if (depth >= max) return true
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1])
  }
  return false
}

/** Run a POST's work at most once per (account, Idempotency-Key). */
export async function idempotent<T>(
  request: FastifyRequest,
  work: (tx: Tx, audit: AuditNote) => Promise<{ status: number; body: T }>,
  /** What to keep of the response: a client secret is never stored, so its replay lacks it. */
  keep: (body: T) => unknown = (body) => body,
): Promise<Stored<T>> {
  const header = request.headers['idempotency-key']
  if (header === undefined) {
    return request.ctx.tx(async (tx, audit) => {
      const out = await work(tx, audit)
      audit.set({ status: out.status })
      return { ...out, replayed: false }
    })
  }
  if (typeof header !== 'string' || !KEY_RE.test(header)) {
    throw new AppError('validation', 'header.idempotency-key: 1–200 printable ASCII characters', [
      { name: 'header.idempotency-key', reason: '1–200 printable ASCII characters' },
    ])
  }
  // canonicalJson recurses: a body nested thousands deep would overflow the stack (a 500).
  // No request schema nests anywhere near this deep, so such a body is refused before hashing.
  if (nestingExceeds(request.body, MAX_BODY_DEPTH)) {
    throw new AppError('validation', `body: nested more than ${MAX_BODY_DEPTH} levels deep`, [
      { name: 'body', reason: `nested more than ${MAX_BODY_DEPTH} levels deep` },
    ])
  }
  const route = `${request.method} ${request.routeOptions.url}`
  const hash = createHash('sha256')
    .update(`${route}\n${request.url}\n${canonicalJson(request.body ?? null)}`)
    .digest('hex')
  const accountId = request.actor.accountId
  return request.ctx.tx(async (tx, audit) => {
    const inserted = await rows(
      tx,
      sql`insert into idempotency_keys (account_id, key, route, request_hash)
          values (${accountId}, ${header}, ${route}, ${hash})
          on conflict do nothing returning 1 as ok`,
    )
    if (inserted.length === 0) {
      const [prior] = await tx
        .select()
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, header)))
      if (!prior || prior.requestHash !== hash || prior.statusCode === null) {
        throw new AppError('unprocessable', 'This Idempotency-Key was already used with a different request; use a new key.')
      }
      audit.set({ details: { idempotentReplay: true }, status: prior.statusCode })
      return { status: prior.statusCode, body: prior.response as T, replayed: true }
    }
    const out = await work(tx, audit)
    audit.set({ status: out.status })
    await tx
      .update(idempotencyKeys)
      .set({ statusCode: out.status, response: keep(out.body) as Record<string, unknown> })
      .where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, header)))
    return { ...out, replayed: false }
  })
}
