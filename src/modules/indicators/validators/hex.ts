import { fail, ok, type Result } from './result.js'

/**
 * Hex identifiers: OpenPGP v4 fingerprints and file hashes. Both are often
 * pasted with grouping spaces (gpg prints "ABCD 1234 ..."), so all whitespace
 * is removed before the length check.
 */

const HEX = /^[0-9a-f]+$/i

/** Upper-case, because that is how gpg and key servers display fingerprints. */
export function normalizePgpFingerprint(value: string): Result {
  let v = value.replace(/\s+/gu, '')
  if (/^0x/i.test(v)) v = v.slice(2)
  if (!HEX.test(v)) return fail('PGP fingerprint must contain only hex characters 0-9 and A-F')
  if (v.length === 8 || v.length === 16) {
    // Short/long key IDs collide trivially (see the 2016 "evil32" attack), so they are not accepted.
    return fail('that is a key ID, not a fingerprint; PGP fingerprint must be exactly 40 hex characters')
  }
  if (v.length !== 40) return fail(`PGP fingerprint must be exactly 40 hex characters, got ${v.length}`)
  return ok(v.toUpperCase())
}

const HASH_BY_LENGTH: ReadonlyMap<number, string> = new Map([
  [32, 'md5'],
  [40, 'sha1'],
  [64, 'sha256'],
])

/** Lower-case, the form sha256sum/md5sum and malware databases print. */
export function normalizeFileHash(value: string): Result {
  const v = value.replace(/\s+/gu, '').toLowerCase()
  if (!HEX.test(v)) return fail('file hash must contain only hex characters 0-9 and a-f')
  const algorithm = HASH_BY_LENGTH.get(v.length)
  if (algorithm === undefined) {
    return fail(`file hash must be 32 (MD5), 40 (SHA-1) or 64 (SHA-256) hex characters, got ${v.length}`)
  }
  return ok(v, algorithm)
}
