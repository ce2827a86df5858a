// Idempotency-Key on POST (DESIGN §5). The key's row is inserted first in the same transaction
// as the work; a concurrent retry blocks on that row until the first commits, then reads the
// stored response. A failed first attempt rolls its row back, so a retry runs afresh.
import { createHash } from 'node:crypto'
import { and, eq, sql } from 'drizzle-orm'
import type { FastifyRequest } from 'fastify'
import { idempotencyKeys } from '../db/schema/index.js'
import { rows, type Tx } from '../db/client.js'
import type { AuditNote } from '../plugins/audit.js'
import { AppError } from './errors.js'
import { canonicalJson } from '../modules/audit/canonical.js'

export interface Stored<T> {
  status: number
  body: T
  replayed: boolean
}

const KEY_RE = /^[\x21-\x7e]{1,200}$/

/** Run a POST's work at most once per (account, Idempotency-Key). */
export async function idempotent<T>(
  request: FastifyRequest,
  work: (tx: Tx, audit: AuditNote) => Promise<{ status: number; body: T }>,
): Promise<Stored<T>> {
  const header = request.headers['idempotency-key']
  if (header === undefined) {
    return request.ctx.tx(async (tx, audit) => ({ ...(await work(tx, audit)), replayed: false }))
  }
  if (typeof header !== 'string' || !KEY_RE.test(header)) {
    throw new AppError('validation', 'header.idempotency-key: 1–200 printable ASCII characters', [
      { name: 'header.idempotency-key', reason: '1–200 printable ASCII characters' },
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
      audit.set({ details: { idempotentReplay: true } })
      return { status: prior.statusCode, body: prior.response as T, replayed: true }
    }
    const out = await work(tx, audit)
    await tx
      .update(idempotencyKeys)
      .set({ statusCode: out.status, response: out.body as unknown as Record<string, unknown> })
      .where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, header)))
    return { ...out, replayed: false }
  })
}
