// Client credentials, checked one way for every door that takes them (the token endpoint and
// TAXII's HTTP Basic): one Basic parser, one failed-attempt throttle per client id and per
// address, one slow comparison. An attempt is counted *before* the slow check and uncounted when
// it succeeds, so twenty guesses sent at once cannot all be tried: past the limit they are
// refused without a check — also while Redis is down, when the counter counts in this node's
// memory (core/counter.ts). Unknown client ids cost one scrypt like wrong secrets, so timing does
// not reveal which ids exist.
import { eq } from 'drizzle-orm'
import type { Queryable } from '../db/client.js'
import { accounts, type AccountRow } from '../db/schema/index.js'
import type { Counter, Hit } from '../core/counter.js'
import { AppError } from '../core/errors.js'
import { DUMMY_HASH, verifySecret } from '../core/secrets.js'

const MAX_ID = 128
const MAX_SECRET = 500

/**
 * HTTP Basic (RFC 7617): base64 of "id:secret"; the id cannot contain a colon, the secret may.
 * The OAuth token endpoint form-urlencodes both parts first (RFC 6749 §2.3.1): `formEncoded`.
 * Undefined when the header is not Basic at all or does not decode.
 */
export function parseBasic(header: string | undefined, opts: { formEncoded?: boolean } = {}): { id: string; secret: string } | undefined {
  const m = header ? /^Basic\s+([A-Za-z0-9+/=]{4,2000})\s*$/i.exec(header) : null
  if (!m?.[1]) return undefined
  const decoded = Buffer.from(m[1], 'base64').toString('utf8')
  const i = decoded.indexOf(':')
  if (i <= 0) return undefined
  const id = decoded.slice(0, i)
  const secret = decoded.slice(i + 1)
  if (!opts.formEncoded) return { id, secret }
  try {
    return { id: decodeURIComponent(id), secret: decodeURIComponent(secret) }
  } catch {
    return undefined
  }
}

export interface CredentialDeps {
  db: Queryable
  failures: Counter
  /** Failed attempts allowed per client id and per address in the counter's window. */
  limit: number
}

/** The account whose secret matches, or undefined; a 429 problem once the failures reach the limit. */
export function credentialChecker(deps: CredentialDeps) {
  const { failures, limit } = deps

  function refuseIfOver(hits: Hit[]) {
    const over = hits.filter((h) => h.count > limit)
    if (over.length === 0) return
    const seconds = Math.max(1, Math.ceil(Math.max(...over.map((h) => h.resetMs)) / 1000))
    throw new AppError('rate_limited', `Too many failed sign-ins; retry in ${seconds} s.`, undefined, { 'retry-after': String(seconds) })
  }

  return async function check(id: string, secret: string, address: string): Promise<AccountRow | undefined> {
    const keys = [`cid:${id.slice(0, MAX_ID)}`, `addr:${address}`]
    // Reserve the attempt first: the count others see already includes this one.
    const hits = await Promise.all(keys.map((k) => failures.hit(k)))
    const giveBack = () => Promise.all(keys.map((k, i) => failures.unhit(k, hits[i])))
    try {
      refuseIfOver(hits)
    } catch (e) {
      await giveBack()
      throw e
    }
    const account = id.length <= MAX_ID ? (await deps.db.select().from(accounts).where(eq(accounts.clientId, id)))[0] : undefined
    const ok = await verifySecret(secret.slice(0, MAX_SECRET), account?.secretHash ?? DUMMY_HASH)
    if (!account || !ok) return undefined
    // A success is not a failure: give the reservation back.
    await giveBack()
    return account
  }
}
