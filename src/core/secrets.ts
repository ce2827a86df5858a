// Client credentials. The secret is shown once; only a slow salted scrypt hash is stored.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto'

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  )
}

// N=2^15, r=8, p=1: ~32 MiB and tens of milliseconds per check, run on libuv's thread pool so
// the event loop keeps serving. Parameters travel with each hash, so they can be raised later.
const PARAMS = { N: 1 << 15, r: 8, p: 1 }
const KEYLEN = 32

export function generateClientId(): string {
  return `dcx_${randomBytes(12).toString('base64url')}`
}

export function generateSecret(): string {
  return `dcxs_${randomBytes(32).toString('base64url')}`
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scrypt(secret, salt, KEYLEN, { ...PARAMS, maxmem: 128 * PARAMS.N * PARAMS.r * 2 })
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join('$')
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [, n, r, p, saltB64, keyB64] = parts as [string, string, string, string, string, string]
  const N = Number(n)
  const R = Number(r)
  const P = Number(p)
  const expected = Buffer.from(keyB64, 'base64url')
  const key = await scrypt(secret, Buffer.from(saltB64, 'base64url'), expected.length, {
    N,
    r: R,
    p: P,
    maxmem: 128 * N * R * 2,
  })
  return timingSafeEqual(key, expected)
}

/** A hash of a secret that never matches, so an unknown client id costs as much as a wrong secret. */
export const DUMMY_HASH = await hashSecret(randomBytes(16).toString('hex'))
