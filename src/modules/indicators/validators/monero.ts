import { keccak_256 } from '@noble/hashes/sha3.js'
import { base58xmr } from '@scure/base'
import { fail, ok, type Result } from './result.js'

/**
 * Monero addresses: Monero's block-wise base58 of
 *   network tag || public spend key(32) || public view key(32) [|| payment id(8)] || checksum(4)
 * where checksum = keccak256(everything before it)[0..4].
 * Only mainnet is accepted; testnet/stagenet addresses have no value as
 * indicators and are rejected with a specific reason.
 */

const MAINNET_TAGS: ReadonlyMap<number, { kind: string; chars: number }> = new Map([
  [18, { kind: 'standard', chars: 95 }], // starts with "4"
  [42, { kind: 'subaddress', chars: 95 }], // starts with "8"
  [19, { kind: 'integrated', chars: 106 }], // starts with "4", carries an 8-byte payment id
])
const TEST_TAGS = new Set([53, 54, 63, 24, 25, 36]) // testnet and stagenet

/** Decoded byte length for each accepted text length (8 bytes per 11-char block, 5 bytes per 7-char tail). */
const BYTES_FOR_CHARS: ReadonlyMap<number, number> = new Map([
  [95, 69],
  [106, 77],
])

/** Kept exactly as given: base58 is case-sensitive and the encoding is canonical (checked below). */
export function normalizeMonero(value: string): Result {
  const expectedBytes = BYTES_FOR_CHARS.get(value.length)
  if (expectedBytes === undefined) return fail('Monero address must be 95 (standard/subaddress) or 106 (integrated) characters')
  let bytes: Uint8Array
  try {
    bytes = base58xmr.decode(value)
  } catch {
    return fail('Monero address is not valid Monero base58')
  }
  // Guards against over-long blocks that decode but are not what an encoder would produce.
  if (bytes.length !== expectedBytes || base58xmr.encode(bytes) !== value) {
    return fail('Monero address is not valid Monero base58')
  }
  const tag = bytes[0] ?? -1
  if (TEST_TAGS.has(tag)) return fail('Monero testnet/stagenet addresses are not accepted')
  const info = MAINNET_TAGS.get(tag)
  if (info === undefined || info.chars !== value.length) return fail('unknown Monero address type (network byte)')
  const body = bytes.subarray(0, bytes.length - 4)
  const sum = keccak_256(body)
  for (let i = 0; i < 4; i++) {
    if (bytes[body.length + i] !== sum[i]) return fail('Monero address checksum does not match')
  }
  return ok(value, 'monero')
}
