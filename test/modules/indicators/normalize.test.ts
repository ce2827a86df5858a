import t from 'tap'
import { INDICATOR_TYPES, type IndicatorType, PERSONAL_DATA_TYPES, candidateTypes, normalizeIndicator } from '../../../src/modules/indicators/normalize.js'

const TOR = '2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion'
const LONG_TYPES: ReadonlySet<IndicatorType> = new Set<IndicatorType>(['shipping_pattern', 'postal_address'])

t.test('public constants', async (t) => {
  t.strictSame(
    [...INDICATOR_TYPES],
    [
      'onion_url',
      'url',
      'domain',
      'crypto_address',
      'email',
      'phone',
      'pgp_fingerprint',
      'vendor_alias',
      'postal_item',
      'postal_address',
      'person_name',
      'file_hash',
      'shipping_pattern',
    ],
  )
  t.strictSame([...PERSONAL_DATA_TYPES].sort(), ['email', 'person_name', 'phone', 'postal_address'])
})

t.test('checks shared by every type', async (t) => {
  for (const type of INDICATOR_TYPES) {
    const max = LONG_TYPES.has(type) ? 4000 : 2048
    const cases: Array<[string, RegExp]> = [
      ['', /empty/],
      ['  \n\t  ', /empty/],
      ['a\u0000b', /NUL/],
      ['\u0000', /NUL/],
      ['abc\uD800def', /unpaired surrogate/],
      ['\uDC00', /unpaired surrogate/],
      ['ab\u0001cd', /control character \(U\+0001\)/],
      ['ab\u009Fcd', /control character \(U\+009F\)/],
      ['x'.repeat(max + 1), new RegExp(`longer than ${max} characters`)],
      ['x'.repeat(1_000_000), new RegExp(`longer than ${max} characters`)],
    ]
    for (const [input, reason] of cases) {
      const r = normalizeIndicator(type, input)
      t.equal(r.ok, false, `${type} rejects ${JSON.stringify(input.slice(0, 12))}`)
      t.match(r.ok ? '' : r.reason, reason, `${type} reason for ${JSON.stringify(input.slice(0, 12))}`)
    }
  }
})

t.test('defensive against untyped callers', async (t) => {
  t.strictSame(normalizeIndicator('ip_address' as IndicatorType, '192.0.2.1'), { ok: false, reason: 'unknown indicator type' })
  t.strictSame(normalizeIndicator('__proto__' as IndicatorType, 'x'), { ok: false, reason: 'unknown indicator type' })
  t.strictSame(normalizeIndicator('domain', 42 as unknown as string), { ok: false, reason: 'value must be a string' })
  t.strictSame(normalizeIndicator('domain', null as unknown as string), { ok: false, reason: 'value must be a string' })
  t.strictSame(candidateTypes(undefined as unknown as string), [])
})

t.test('a well-formed surrogate pair is fine', async (t) => {
  t.strictSame(normalizeIndicator('vendor_alias', '\uD83C\uDF44'), { ok: true, normalizedValue: '🍄' })
})

t.test('candidateTypes', async (t) => {
  t.strictSame(candidateTypes('Example.com'), [
    { type: 'domain', normalizedValue: 'example.com' },
    { type: 'vendor_alias', normalizedValue: 'example.com' },
  ])
  t.strictSame(candidateTypes('https://Example.com/x#y'), [
    { type: 'url', normalizedValue: 'https://example.com/x' },
    { type: 'vendor_alias', normalizedValue: 'https://example.com/x#y' },
  ])
  t.strictSame(candidateTypes(TOR), [
    { type: 'onion_url', normalizedValue: TOR },
    { type: 'domain', normalizedValue: TOR },
    { type: 'vendor_alias', normalizedValue: TOR },
  ])
  t.strictSame(candidateTypes('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa'), [
    { type: 'crypto_address', normalizedValue: '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa' },
    { type: 'vendor_alias', normalizedValue: '1a1zp1ep5qgefi2dmptftl5slmv7divfna' },
  ])
  t.strictSame(candidateTypes('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'), [
    { type: 'crypto_address', normalizedValue: '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed' },
    { type: 'pgp_fingerprint', normalizedValue: '5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED' },
    { type: 'vendor_alias', normalizedValue: '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed' },
  ])
  t.strictSame(candidateTypes('da39a3ee5e6b4b0d3255bfef95601890afd80709'), [
    { type: 'pgp_fingerprint', normalizedValue: 'DA39A3EE5E6B4B0D3255BFEF95601890AFD80709' },
    { type: 'vendor_alias', normalizedValue: 'da39a3ee5e6b4b0d3255bfef95601890afd80709' },
    { type: 'file_hash', normalizedValue: 'da39a3ee5e6b4b0d3255bfef95601890afd80709' },
  ])
  t.strictSame(candidateTypes('Foo@Example.com'), [
    { type: 'email', normalizedValue: 'foo@example.com' },
    { type: 'vendor_alias', normalizedValue: 'foo@example.com' },
  ])
  t.strictSame(candidateTypes('+49 30 901820'), [
    { type: 'phone', normalizedValue: '+4930901820' },
    { type: 'vendor_alias', normalizedValue: '+49 30 901820' },
  ])
  t.strictSame(candidateTypes('RR 123 456 785 DE'), [
    { type: 'vendor_alias', normalizedValue: 'rr 123 456 785 de' },
    { type: 'postal_item', normalizedValue: 'RR123456785DE' },
  ])
  // Free text never yields person_name / postal_address / shipping_pattern.
  t.strictSame(candidateTypes('John Smith'), [{ type: 'vendor_alias', normalizedValue: 'john smith' }])
  t.strictSame(candidateTypes('Main St 1\nBerlin'), [])
  t.strictSame(candidateTypes(''), [])
  t.strictSame(candidateTypes('a\u0000'), [])
  t.strictSame(candidateTypes('x'.repeat(3000)), [])
  t.strictSame(candidateTypes(TOR), candidateTypes(TOR), 'deterministic')
})
