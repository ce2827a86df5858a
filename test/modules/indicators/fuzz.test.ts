import { sha256 } from '@noble/hashes/sha2.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { base58xmr, bech32, bech32m, createBase58check } from '@scure/base'
import fc from 'fast-check'
import t from 'tap'
import { INDICATOR_TYPES, type IndicatorType, candidateTypes, normalizeIndicator } from '../../../src/modules/indicators/normalize.js'
import { encodeOnionLabel } from '../../../src/modules/indicators/validators/onion.js'
import { s10CheckDigit } from '../../../src/modules/indicators/validators/s10.js'

// FUZZ_RUNS=20000 for a deeper local run.
const RUNS = { numRuns: Number(process.env.FUZZ_RUNS ?? 300) }

/** Any UTF-16 code unit, so lone surrogates, NUL and C0/C1 controls all occur. */
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n))
const nastyString = fc.oneof(
  fc.string({ unit: anyUnit, maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
  fc.string({ unit: fc.constantFrom(' ', '\n', '\t', '\r', '\u0000', '\u0085', '\uD800', '\uDC00', 'a', '.', '@', '+', '0'), maxLength: 50 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 2040, maxLength: 4100 }),
)

t.test('normalizeIndicator never throws and always returns a well-formed result', async (t) => {
  fc.assert(
    fc.property(fc.constantFrom(...INDICATOR_TYPES), nastyString, (type, value) => {
      const r = normalizeIndicator(type, value)
      if (r.ok) return typeof r.normalizedValue === 'string' && r.normalizedValue.length > 0
      return typeof r.reason === 'string' && r.reason.length > 0
    }),
    { numRuns: RUNS.numRuns * 7 },
  )
  fc.assert(
    fc.property(nastyString, (value) => {
      const c = candidateTypes(value)
      return new Set(c.map((x) => x.type)).size === c.length
    }),
    RUNS,
  )
  t.pass('no exceptions')
})

const hex = (min: number, max: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF '), minLength: min, maxLength: max })
const bytes = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n })
const base58check = createBase58check(sha256)
const withChecksum = (b: Uint8Array): Uint8Array => Uint8Array.from([...b, ...keccak_256(b).subarray(0, 4)])

/** Inputs that are often (not always) valid for each type, so the idempotence check has work to do. */
const likelyValid: Record<IndicatorType, fc.Arbitrary<string>> = {
  onion_url: fc
    .tuple(
      bytes(32),
      fc.constantFrom('', 'http://', 'HTTPS://'),
      fc.oneof(
        fc.constant(''),
        fc.webPath(),
        fc.webQueryParameters().map((q) => `/?${q}`),
      ),
    )
    .map(([k, scheme, path]) => `${scheme}${encodeOnionLabel(k)}.onion${path}`),
  url: fc.webUrl({ withFragments: true, withQueryParameters: true }),
  domain: fc.domain(),
  crypto_address: fc.oneof(
    fc.tuple(fc.constantFrom(0x00, 0x05, 0x6f, 0xc4), bytes(20)).map(([v, h]) => base58check.encode(Uint8Array.from([v, ...h]))),
    fc.tuple(fc.constantFrom('bc', 'tb'), bytes(20)).map(([hrp, p]) => bech32.encode(hrp, [0, ...bech32.toWords(p)])),
    fc.tuple(fc.constantFrom('bc', 'tb'), bytes(32)).map(([hrp, p]) => bech32m.encode(hrp, [1, ...bech32m.toWords(p)]).toUpperCase()),
    fc.tuple(bytes(20), fc.boolean()).map(([a, up]) => `0x${Buffer.from(a).toString('hex')[up ? 'toUpperCase' : 'toLowerCase']()}`),
    fc.tuple(fc.constantFrom(18, 42), bytes(64)).map(([tag, k]) => base58xmr.encode(withChecksum(Uint8Array.from([tag, ...k])))),
  ),
  email: fc.emailAddress(),
  phone: fc.oneof(
    fc.constantFrom('+1 202-456-1111', '0049 30 901820', '+44 20 7946 0958', '+33 1 42 68 53 00'),
    fc.string({ unit: fc.constantFrom(...'0123456789 -'), minLength: 6, maxLength: 16 }).map((d) => `+${d}`),
  ),
  pgp_fingerprint: fc.oneof(fc.stringMatching(/^(0x)?[0-9a-fA-F]{40}$/), hex(40, 48)),
  vendor_alias: fc.string({ unit: 'grapheme', maxLength: 60 }),
  postal_item: fc
    .tuple(fc.stringMatching(/^[A-Za-z]{2}$/), fc.stringMatching(/^[0-9]{8}$/), fc.stringMatching(/^[A-Za-z]{2}$/))
    .map(([s, n, c]) => `${s} ${n}${s10CheckDigit(n)} ${c}`),
  postal_address: fc.string({ unit: fc.oneof(fc.constantFrom('\n', '\r\n', '\t', '  '), fc.string({ unit: 'grapheme', maxLength: 1 })), maxLength: 80 }),
  person_name: fc.string({ unit: 'grapheme-composite', maxLength: 60 }),
  file_hash: fc.oneof(fc.stringMatching(/^([0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/), hex(32, 34), hex(64, 66)),
  shipping_pattern: fc.string({ unit: fc.oneof(fc.constantFrom('\n', '\r\n', '\t'), fc.string({ unit: 'grapheme-composite', maxLength: 1 })), maxLength: 80 }),
}

t.test('normalisation is idempotent for every type', async (t) => {
  for (const type of INDICATOR_TYPES) {
    let valid = 0
    fc.assert(
      fc.property(fc.oneof(likelyValid[type], nastyString), (value) => {
        const first = normalizeIndicator(type, value)
        if (!first.ok) return true
        valid++
        const second = normalizeIndicator(type, first.normalizedValue)
        // Same value AND same network on re-normalisation.
        return second.ok && second.normalizedValue === first.normalizedValue && second.network === first.network
      }),
      RUNS,
    )
    t.ok(valid > 0, `${type}: idempotence exercised on ${valid} valid inputs`)
  }
})
