import { normalizeBase58Bitcoin, normalizeSegwit } from './bitcoin.js'
import { normalizeEthereum } from './ethereum.js'
import { normalizeMonero } from './monero.js'
import { fail, type Result } from './result.js'

/**
 * Routes a crypto-currency address to the right validator by its shape. The
 * shapes do not overlap, so the order only decides which reason a garbage
 * value gets:
 *  - "0x…"                      -> Ethereum
 *  - "bc1…" / "tb1…"            -> Bitcoin segwit (bech32/bech32m)
 *  - 95/106 base58 characters   -> Monero
 *  - 25–35 base58 characters    -> Bitcoin legacy Base58Check
 */

const BASE58 = /^[1-9A-HJ-NP-Za-km-z]+$/
const BECH32_LIKE = /^[a-z]{1,83}1[a-z0-9]{6,}$/i

export function normalizeCryptoAddress(value: string): Result {
  if (/^0x/i.test(value)) return normalizeEthereum(value)
  if (/^(bc|tb)1/i.test(value)) return normalizeSegwit(value)
  if (BASE58.test(value)) {
    if (value.length === 95 || value.length === 106) return normalizeMonero(value)
    if (value.length >= 25 && value.length <= 35) return normalizeBase58Bitcoin(value)
  }
  // e.g. "tc1…", "ltc1…": give a precise reason instead of the generic one.
  if (BECH32_LIKE.test(value)) return normalizeSegwit(value)
  return fail('not a recognised Bitcoin, Ethereum or Monero address')
}
