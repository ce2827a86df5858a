import { createHash } from 'node:crypto'
import { base32nopad } from '@scure/base'
import { fail, ok, type Result } from './result.js'

/**
 * Tor v3 onion addresses (rend-spec-v3 §6 "Encoding onion addresses"):
 *   onion_address = base32(PUBKEY(32) || CHECKSUM(2) || VERSION(1)) + ".onion"
 *   CHECKSUM      = SHA3-256(".onion checksum" || PUBKEY || VERSION)[:2]
 * Verifying the checksum catches typos and OCR errors in addresses copied out
 * of seized material before they pollute the exchange.
 *
 * Not checked: that PUBKEY is a valid ed25519 point. Tor does that, but it
 * would need curve arithmetic and a typo is already caught by the checksum.
 */

const V3_LABEL = /^[a-z2-7]{56}$/
const V2_LABEL = /^[a-z2-7]{16}$/
const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i
const CHECKSUM_PREFIX = Buffer.from('.onion checksum', 'ascii')

export function onionChecksum(pubkey: Uint8Array, version: number): Uint8Array {
  const h = createHash('sha3-256')
  h.update(CHECKSUM_PREFIX)
  h.update(pubkey)
  h.update(Uint8Array.of(version))
  return new Uint8Array(h.digest().subarray(0, 2))
}

/** Builds the 56-char label (no ".onion") for a key; used by tests to create vectors. */
export function encodeOnionLabel(pubkey: Uint8Array, version = 3): string {
  const bytes = new Uint8Array(35)
  bytes.set(pubkey.subarray(0, 32), 0)
  bytes.set(onionChecksum(pubkey.subarray(0, 32), version), 32)
  bytes[34] = version
  // scure's RFC 4648 table is upper-case; onion addresses are written lower-case.
  return base32nopad.encode(bytes).toLowerCase()
}

/** Validates the label in front of ".onion"; returns a reason or null when it is a valid v3 address. */
export function onionLabelProblem(label: string): string | null {
  if (V2_LABEL.test(label)) {
    return 'v2 onion addresses (16 characters) are obsolete and no longer reachable; give the 56-character v3 address'
  }
  if (label.length !== 56) return `v3 onion address must be 56 characters before .onion, got ${label.length}`
  if (!V3_LABEL.test(label)) return 'onion address may only contain the base32 characters a-z and 2-7'
  // 56 base32 chars = 280 bits = exactly 35 bytes, so decoding cannot fail on padding.
  const bytes = base32nopad.decode(label.toUpperCase())
  const pubkey = bytes.subarray(0, 32)
  const version = bytes[34]
  if (version !== 3) return `onion version byte must be 0x03 (v3), got 0x${(version ?? 0).toString(16).padStart(2, '0')}`
  const want = onionChecksum(pubkey, 3)
  if (bytes[32] !== want[0] || bytes[33] !== want[1]) return 'v3 onion checksum does not match'
  return null
}

/**
 * Accepts "<56 chars>.onion" or an http(s) URL on such a host.
 *
 * Normalised form:
 *  - bare lower-case host ("<56>.onion") when no path, query or port was given
 *    (a trailing "/" alone counts as no path), so the host and its home page
 *    match each other;
 *  - otherwise "http://<host>[:port]<path>[?query]". The scheme is always
 *    http: onion services are end-to-end encrypted by Tor, and http/https
 *    variants of the same onion page are the same indicator. The fragment and
 *    any user:password@ are dropped (client-side only / not part of the resource).
 *
 * Subdomains ("www.<56>.onion") are rejected rather than silently stripped, so
 * the submitter sees exactly what will be stored.
 */
export function normalizeOnionUrl(value: string): Result {
  const scheme = SCHEME.exec(value)?.[1]?.toLowerCase()
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') {
    return fail('onion URLs must use http or https')
  }
  let url: URL
  try {
    url = new URL(scheme === undefined ? `http://${value}` : value)
  } catch {
    return fail('not a valid onion address or URL')
  }
  const host = url.hostname
  if (!host.endsWith('.onion')) return fail('host is not a .onion address')
  const label = host.slice(0, -'.onion'.length)
  if (label.includes('.')) return fail('onion subdomains are not accepted; give only the 56-character v3 address')
  const problem = onionLabelProblem(label)
  if (problem !== null) return fail(problem)

  // Port "80" after switching https -> http is the default and must disappear,
  // so rebuild and re-parse instead of concatenating blindly.
  const port = url.port === '80' ? '' : url.port
  if (url.pathname === '/' && url.search === '' && port === '') return ok(host)
  const rebuilt = new URL(`http://${host}${port ? `:${port}` : ''}${url.pathname}${url.search}`)
  rebuilt.hash = ''
  return ok(rebuilt.href)
}
