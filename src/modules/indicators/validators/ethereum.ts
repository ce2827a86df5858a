import { keccak_256 } from '@noble/hashes/sha3.js'
import { fail, ok, type Result } from './result.js'

/**
 * Ethereum (and EVM-chain) addresses: "0x" + 20 bytes hex.
 * EIP-55 encodes a checksum in the letter case: a letter is upper-case iff the
 * matching nibble of keccak256(lower-case hex) is >= 8. All-lower / all-upper
 * carry no checksum and are accepted as-is; a mixed-case address with a wrong
 * case pattern is almost certainly a typo and is rejected.
 */

const ETH = /^0[xX]([0-9a-fA-F]{40})$/

/** Returns the EIP-55 mixed-case form of a 40-char lower-case hex address (without 0x). */
export function eip55(lowerHex: string): string {
  const hash = keccak_256(new TextEncoder().encode(lowerHex))
  let out = ''
  for (let i = 0; i < lowerHex.length; i++) {
    const ch = lowerHex[i] ?? ''
    const byte = hash[i >> 1] ?? 0
    const nibble = i % 2 === 0 ? byte >> 4 : byte & 0x0f
    out += nibble >= 8 ? ch.toUpperCase() : ch
  }
  return out
}

/** Normalised to lower-case "0x…" so checksummed and plain spellings match. */
export function normalizeEthereum(value: string): Result {
  const hex = ETH.exec(value)?.[1]
  if (hex === undefined) return fail('Ethereum address must be 0x followed by 40 hex characters')
  const lower = hex.toLowerCase()
  if (hex !== lower && hex !== hex.toUpperCase() && eip55(lower) !== hex) {
    return fail('EIP-55 checksum does not match (mixed-case Ethereum address)')
  }
  return ok(`0x${lower}`, 'ethereum')
}
