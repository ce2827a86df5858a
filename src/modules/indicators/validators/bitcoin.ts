import { sha256 } from '@noble/hashes/sha2.js'
import { bech32, bech32m, createBase58check } from '@scure/base'
import { fail, ok, type Result } from './result.js'

/**
 * Bitcoin addresses:
 *  - legacy Base58Check P2PKH / P2SH: version byte + 20-byte hash + 4-byte double-SHA256 checksum;
 *  - native segwit: bech32 for witness v0 (BIP-173), bech32m for v1+ (BIP-350).
 * Only mainnet and testnet/signet (hrp "tb") are accepted: regtest ("bcrt")
 * addresses never appear in real trafficking material.
 */

const base58check = createBase58check(sha256)

const BASE58_VERSIONS: ReadonlyMap<number, string> = new Map([
  [0x00, 'bitcoin'], // P2PKH, "1..."
  [0x05, 'bitcoin'], // P2SH, "3..."
  [0x6f, 'bitcoin-testnet'], // P2PKH, "m..." / "n..."
  [0xc4, 'bitcoin-testnet'], // P2SH, "2..."
])

const SEGWIT_HRP: ReadonlyMap<string, string> = new Map([
  ['bc', 'bitcoin'],
  ['tb', 'bitcoin-testnet'],
])

const BECH32_DATA = /^[qpzry9x8gf2tvdw0s3jn54khce6mua7l]+$/

/** Base58Check legacy address; kept exactly as given since Base58 is case-sensitive. */
export function normalizeBase58Bitcoin(value: string): Result {
  let payload: Uint8Array
  try {
    payload = base58check.decode(value)
  } catch {
    return fail('Bitcoin Base58Check checksum does not match')
  }
  const network = BASE58_VERSIONS.get(payload[0] ?? -1)
  if (payload.length !== 21 || network === undefined) {
    return fail('Base58Check payload is not a Bitcoin P2PKH/P2SH address (wrong version byte or length)')
  }
  return ok(value, network)
}

export type Segwit = { network: string; version: number; program: Uint8Array }

/** Decodes and fully validates a segwit address (BIP-173 + BIP-350); returns a reason string on failure. */
export function decodeSegwit(value: string): Segwit | string {
  // Mixed case is forbidden by BIP-173 because it defeats the checksum's error model.
  if (value !== value.toLowerCase() && value !== value.toUpperCase()) return 'bech32 address must not mix upper and lower case'
  const lower = value.toLowerCase()
  if (lower.length > 90) return 'bech32 address is longer than 90 characters'
  const sep = lower.lastIndexOf('1')
  const network = SEGWIT_HRP.get(lower.slice(0, sep))
  if (network === undefined) return 'bech32 prefix must be bc (mainnet) or tb (testnet)'
  if (!BECH32_DATA.test(lower.slice(sep + 1))) return 'bech32 address contains an invalid character'
  let words: number[]
  let encoding: 'bech32' | 'bech32m'
  try {
    words = bech32.decode(lower, 90).words
    encoding = 'bech32'
  } catch {
    try {
      words = bech32m.decode(lower, 90).words
      encoding = 'bech32m'
    } catch {
      return 'bech32/bech32m checksum does not match'
    }
  }
  const version = words[0]
  if (version === undefined) return 'bech32 address has an empty data section'
  if (version > 16) return 'invalid segwit witness version (must be 0-16)'
  // fromWordsUnsafe rejects >4 bits of padding and non-zero padding (BIP-173 vectors).
  const program = bech32.fromWordsUnsafe(words.slice(1))
  if (!program) return 'invalid padding in segwit witness program'
  if (program.length < 2 || program.length > 40) return 'invalid segwit witness program length (must be 2-40 bytes)'
  if (version === 0 && program.length !== 20 && program.length !== 32) {
    return 'invalid witness program length for witness version 0 (must be 20 or 32 bytes)'
  }
  if (version === 0 && encoding !== 'bech32') return 'witness version 0 must use bech32, not bech32m (BIP-350)'
  if (version !== 0 && encoding !== 'bech32m') return 'witness version 1+ must use bech32m, not bech32 (BIP-350)'
  return { network, version, program }
}

/** Segwit address, normalised to lower case (the canonical form; upper case is only for QR codes). */
export function normalizeSegwit(value: string): Result {
  const decoded = decodeSegwit(value)
  if (typeof decoded === 'string') return fail(decoded)
  return ok(value.toLowerCase(), decoded.network)
}
