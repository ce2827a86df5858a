// Client credentials. The secret is shown once; only a slow salted scrypt hash is stored.
// A hash reads scrypt$N$r$p$salt$key: it carries the parameters it was made with, so a secret
// verifies whatever the current setting, and the cost can be raised later (or lowered for tests)
// without touching stored hashes.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto'

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))))
}

interface Params {
  N: number
  r: number
  p: number
}

// r=8, p=1 and N=2^cost. The default N=2^15 is ~32 MiB and tens of milliseconds per check, run on
// libuv's thread pool so the event loop keeps serving.
const DEFAULT_COST = 15
const KEYLEN = 32
const paramsFor = (cost: number): Params => {
  if (!Number.isInteger(cost) || cost < 1 || cost > 20) throw new RangeError(`scrypt cost must be an integer 1–20 (log2 N), got ${cost}`)
  return { N: 2 ** cost, r: 8, p: 1 }
}
let current = paramsFor(DEFAULT_COST)

/**
 * The cost (log2 N) of hashes made from now on in this process. build() sets it from
 * config.secretHashCost (validated there); tests configure a low one.
 */
export function setSecretHashCost(cost: number): void {
  current = paramsFor(cost)
}

export function generateClientId(): string {
  return `dcx_${randomBytes(12).toString('base64url')}`
}

export function generateSecret(): string {
  return `dcxs_${randomBytes(32).toString('base64url')}`
}

const maxmem = ({ N, r }: Params) => 128 * N * r * 2

/** A new salted hash at the configured cost (or at `cost`, log2 N, when given). */
export async function hashSecret(secret: string, cost?: number): Promise<string> {
  const params = cost === undefined ? current : paramsFor(cost)
  const salt = randomBytes(16)
  const key = await scrypt(secret, salt, KEYLEN, { ...params, maxmem: maxmem(params) })
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$')
}

/**
 * Stands in for the hash of a client id that does not exist: verifying against it costs one
 * scrypt at the configured cost, like a real secret, so timing does not reveal which client ids
 * exist — and it never matches.
 */
export const DUMMY_HASH = 'scrypt$dummy'

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  if (stored === DUMMY_HASH) {
    await scrypt(secret, randomBytes(16), KEYLEN, { ...current, maxmem: maxmem(current) })
    return false
  }
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [, n, r, p, saltB64, keyB64] = parts as [string, string, string, string, string, string]
  const params = { N: Number(n), r: Number(r), p: Number(p) }
  const expected = Buffer.from(keyB64, 'base64url')
  const key = await scrypt(secret, Buffer.from(saltB64, 'base64url'), expected.length, { ...params, maxmem: maxmem(params) })
  return timingSafeEqual(key, expected)
}
