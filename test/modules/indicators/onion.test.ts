import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { encodeOnionLabel } from '../../../src/modules/indicators/validators/onion.js'
import { expectInvalid, expectValid } from './helpers.js'

/*
 * Independent implementation of the rend-spec-v3 address formula (own base32
 * encoder, node:crypto SHA3-256), so the generated vectors do not merely
 * mirror the code under test.
 */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'
function base32(bytes: Uint8Array): string {
  let bits = 0
  let acc = 0
  let out = ''
  for (const b of bytes) {
    acc = (acc << 8) | b
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(acc >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += ALPHABET[(acc << (5 - bits)) & 31]
  return out
}
function v3Host(pubkey: Uint8Array, version = 3): string {
  const v = Buffer.from([version])
  const checksum = createHash('sha3-256').update('.onion checksum').update(pubkey).update(v).digest().subarray(0, 2)
  return `${base32(Buffer.concat([pubkey, checksum, v]))}.onion`
}

// Real, published v3 addresses (their checksums are verified by the code under test).
const TOR_PROJECT = '2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion'
const DUCKDUCKGO = 'duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion'
const FIXED_KEY = Uint8Array.from({ length: 32 }, (_, i) => i)
const FIXED = v3Host(FIXED_KEY)
const ZERO = v3Host(new Uint8Array(32))
const RANDOM = v3Host(randomBytes(32))

t.test('independent encoder agrees with the module', async (t) => {
  t.equal(`${encodeOnionLabel(FIXED_KEY)}.onion`, FIXED)
  t.equal(FIXED.length, 56 + '.onion'.length)
  // 256 zero bits are the first 51 base32 chars; the last char is the low 5 bits of the
  // version byte 0x03, which is why every v3 address ends in "d".
  t.ok(ZERO.startsWith('a'.repeat(51)))
  for (const host of [ZERO, FIXED, RANDOM, TOR_PROJECT, DUCKDUCKGO]) t.ok(host.endsWith('d.onion'), host)
})

t.test('valid onion hosts and URLs', async (t) => {
  expectValid(t, 'onion_url', [
    [TOR_PROJECT, TOR_PROJECT],
    [DUCKDUCKGO, DUCKDUCKGO],
    [FIXED, FIXED],
    [ZERO, ZERO],
    [RANDOM, RANDOM],
    [TOR_PROJECT.toUpperCase(), TOR_PROJECT],
    [`  ${TOR_PROJECT}\n`, TOR_PROJECT],
    // Root path only -> bare host, whatever the scheme.
    [`http://${TOR_PROJECT}/`, TOR_PROJECT],
    [`HTTPS://${TOR_PROJECT.toUpperCase()}`, TOR_PROJECT],
    [`https://${TOR_PROJECT}:443/#top`, TOR_PROJECT],
    // Path/query kept, scheme normalised to http, fragment dropped.
    [`https://${TOR_PROJECT}/download/?lang=en#x`, `http://${TOR_PROJECT}/download/?lang=en`],
    [`${FIXED}/shop/item/42`, `http://${FIXED}/shop/item/42`],
    [`http://user:pw@${FIXED}/a`, `http://${FIXED}/a`],
    [`http://${FIXED}:8080/`, `http://${FIXED}:8080/`],
    [`https://${FIXED}:80/market`, `http://${FIXED}/market`],
  ])
})

t.test('invalid onion addresses', async (t) => {
  const tamperedMiddle = `${TOR_PROJECT.slice(0, 20)}${TOR_PROJECT[20] === 'a' ? 'b' : 'a'}${TOR_PROJECT.slice(21)}`
  const wrongVersion = v3Host(FIXED_KEY, 2) // checksum computed correctly for version 2
  const version4 = v3Host(FIXED_KEY, 4)
  expectInvalid(t, 'onion_url', [
    [tamperedMiddle, /checksum does not match/],
    [`http://${tamperedMiddle}/x`, /checksum does not match/],
    [wrongVersion, /version byte must be 0x03.*0x02/],
    [version4, /version byte must be 0x03.*0x04/],
    // Tor Project's retired v2 address.
    ['expyuzz4wqqyqhjn.onion', /v2 onion addresses .* obsolete/],
    ['http://expyuzz4wqqyqhjn.onion/', /v2 .*obsolete/],
    [TOR_PROJECT.slice(1), /56 characters.*got 55/],
    [`a${TOR_PROJECT}`, /56 characters.*got 57/],
    [TOR_PROJECT.replace('2g', '1g'), /base32 characters a-z and 2-7/],
    [TOR_PROJECT.replace('2g', '8g'), /base32/],
    [`www.${TOR_PROJECT}`, /subdomains are not accepted/],
    [`ftp://${TOR_PROJECT}/`, /must use http or https/],
    ['https://www.torproject.org/', /not a \.onion/],
    ['example.onion', /56 characters/],
    ['http://', /not a valid onion/],
    ['http://exa mple.onion', /not a valid onion/],
  ])
})
