// The match digest: the first 16 bytes of SHA-256 over type, a newline and the normalised value.
// The database computes the same in a generated column (migrations/0013, dcx_match_digest()), so
// a probe is one fixed-width key into a covering index. node:crypto rather than @noble/hashes:
// a match hashes up to 30,000 probes a call, and the native hash is several times faster.
import { createHash } from 'node:crypto'

export function matchDigest(type: string, normalizedValue: string): Buffer {
  return createHash('sha256').update(`${type}\n${normalizedValue}`, 'utf8').digest().subarray(0, 16)
}
