// The match digest: the first 16 bytes of SHA-256 over type, a newline and the normalised value.
// The database computes the same in a generated column (migrations/0013, dcx_match_digest()), so
// a probe is one fixed-width key into a covering index.
import { sha256 } from '@noble/hashes/sha2.js'

const encoder = new TextEncoder()

export function matchDigest(type: string, normalizedValue: string): Uint8Array {
  return sha256(encoder.encode(`${type}\n${normalizedValue}`)).subarray(0, 16)
}
