// The match digest: the first 16 bytes of SHA-256 over type, a newline and the normalised value.
// The database computes the same in a generated column (migrations/0013, dcx_match_digest()), so
// a probe is one fixed-width key into a covering index. node:crypto rather than @noble/hashes:
// a match hashes up to 30,000 probes a call, and the native hash is several times faster — the
// one-shot crypto.hash() (Node ≥ 20.12) again several times faster than a Hash object per probe.
import * as crypto from 'node:crypto'

type OneShot = (algorithm: string, data: string, outputEncoding: 'hex') => string
const oneShot = (crypto as { hash?: OneShot }).hash

/** The digest in hex (32 characters), as the match statement writes its probes. */
export function matchDigestHex(type: string, normalizedValue: string): string {
  const data = `${type}\n${normalizedValue}`
  return (oneShot ? oneShot('sha256', data, 'hex') : crypto.createHash('sha256').update(data, 'utf8').digest('hex')).slice(0, 32)
}

export function matchDigest(type: string, normalizedValue: string): Buffer {
  return Buffer.from(matchDigestHex(type, normalizedValue), 'hex')
}
