// The 13 indicator types through HTTP: a valid spelling is stored with its normalised value
// (and network where there is one); an invalid one is a 400 naming body.value with the reason,
// and stores nothing. The same vectors through bulk and match give the same answers.
// Vectors from test/modules/indicators/*.test.ts.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { as, buildTestApp, isProblem, orgWith } from '../helper.js'
import { INDICATOR_TYPES } from '../../src/modules/indicators/normalize.js'
import { countAs, word } from './fixtures.js'

const app = await buildTestApp(t)
const O = await orgWith(app, ['contributor'], { sector: 'customs' })
const c = as(app, O.contributor.token)

const TOR = '2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion'
const FPR = 'EF6E286DDA85EA2A4BA7DE684E2C6E8793298290'
const MD5 = 'd41d8cd98f00b204e9800998ecf8427e'

interface Vector {
  type: string
  valid: string
  normalized: string
  network?: string
  invalid: string
  reason: RegExp
}

const vectors: Vector[] = [
  { type: 'onion_url', valid: `HTTPS://${TOR.toUpperCase()}`, normalized: TOR, invalid: 'expyuzz4wqqyqhjn.onion', reason: /v2 onion addresses .* obsolete/ },
  {
    type: 'url',
    valid: 'HTTP://Example.COM:80/a/../b?q=1#frag',
    normalized: 'http://example.com/b?q=1',
    invalid: 'example.com',
    reason: /not a valid absolute URL/,
  },
  { type: 'domain', valid: 'BÜCHER.example', normalized: 'xn--bcher-kva.example', invalid: 'localhost', reason: /at least two labels/ },
  {
    type: 'crypto_address',
    valid: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
    normalized: '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed',
    network: 'ethereum',
    invalid: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5',
    reason: /checksum does not match/,
  },
  { type: 'email', valid: ' Foo.Bar@Example.COM ', normalized: 'foo.bar@example.com', invalid: 'foo.example.com', reason: /missing the @/ },
  { type: 'phone', valid: '+44 20 7946 0958', normalized: '+442079460958', invalid: '030 901820', reason: /international format/ },
  {
    type: 'pgp_fingerprint',
    valid: 'EF6E 286D DA85 EA2A 4BA7  DE68 4E2C 6E87 9329 8290',
    normalized: FPR,
    invalid: '4E2C6E8793298290',
    reason: /key ID, not a fingerprint/,
  },
  { type: 'vendor_alias', valid: '  ＤｒｕｇＫｉｎｇ  ', normalized: 'drugking', invalid: 'drug\nking', reason: /control character \(U\+000A\)/ },
  {
    type: 'postal_item',
    valid: 'rr 123 456 785 de',
    normalized: 'RR123456785DE',
    invalid: 'RR123456784DE',
    reason: /check digit does not match \(expected 5\)/,
  },
  {
    type: 'postal_address',
    valid: 'Hauptstraße 1\r\n10115 Berlin\r\nGERMANY',
    normalized: 'hauptstraße 1 10115 berlin germany',
    invalid: 'Street 1\u001BCity',
    reason: /control character \(U\+001B\)/,
  },
  { type: 'person_name', valid: '  Ｍüller,   Hans ', normalized: 'müller, hans', invalid: 'John\u0007Smith', reason: /control character \(U\+0007\)/ },
  { type: 'file_hash', valid: MD5.toUpperCase(), normalized: MD5, network: 'md5', invalid: MD5.slice(1), reason: /got 31/ },
  {
    type: 'shipping_pattern',
    valid: '  Vacuum-sealed,\n\tinside a DVD case  \n',
    normalized: 'Vacuum-sealed,\n\tinside a DVD case',
    invalid: 'line 1\rline 2',
    reason: /control character \(U\+000D\)/,
  },
]

const countOwn = () => countAs(app, O.org, sql`select count(*) as n from indicators where organisation_id = ${O.org.id}`)

t.test('every type has a vector', async (t) => {
  t.strictSame(vectors.map((v) => v.type).sort(), [...INDICATOR_TYPES].sort())
})

t.test('POST: valid → 201 with normalizedValue; invalid → 400 naming body.value', async (t) => {
  for (const v of vectors) {
    const ok = await c.post('/v1/indicators', { type: v.type, value: v.valid })
    t.equal(ok.statusCode, 201, `${v.type} valid: ${ok.body.slice(0, 200)}`)
    const body = ok.json()
    t.equal(body.normalizedValue, v.normalized, `${v.type}: normalizedValue`)
    t.equal(body.value, v.valid.trim(), `${v.type}: the value as sent (trimmed) is kept`)
    t.equal(body.network, v.network ?? null, `${v.type}: network`)
    const again = (await c.get(`/v1/indicators/${body.id}`)).json()
    t.equal(again.normalizedValue, v.normalized, `${v.type}: stored`)

    const before = await countOwn()
    const p = isProblem(t, await c.post('/v1/indicators', { type: v.type, value: v.invalid }), 400)
    t.equal(p.errors?.length, 1)
    t.equal(p.errors?.[0]?.name, 'body.value', `${v.type} invalid: names body.value`)
    t.match(p.errors?.[0]?.reason, v.reason, `${v.type} invalid: the reason`)
    t.match(p.detail, /^body\.value: /)
    t.equal(await countOwn(), before, `${v.type} invalid: nothing stored`)
  }
})

t.test('list by value: any spelling of the value finds it', async (t) => {
  for (const v of vectors) {
    const res = await c.get(`/v1/indicators?organisationId=${O.org.id}&type=${v.type}&value=${encodeURIComponent(v.valid)}`)
    t.equal(res.statusCode, 200)
    const items = (res.json() as { items: { normalizedValue: string }[] }).items
    t.ok(items.length >= 1 && items.every((i) => i.normalizedValue === v.normalized), `${v.type}: value= normalises the query`)
    const bad = isProblem(t, await c.get(`/v1/indicators?type=${v.type}&value=${encodeURIComponent(v.invalid)}`), 400)
    t.equal(bad.errors?.[0]?.name, 'query.value')
  }
})

t.test('bulk: the same vectors, the same verdicts, per item', async (t) => {
  const before = await countOwn()
  const items = vectors.flatMap((v) => [
    { type: v.type, value: v.valid },
    { type: v.type, value: v.invalid },
  ])
  const res = await c.post('/v1/indicators/bulk', { items })
  t.equal(res.statusCode, 200)
  const results = (res.json() as { results: { index: number; status: string; id?: string; problem?: { errors: { name: string; reason: string }[] } }[] })
    .results
  vectors.forEach((v, i) => {
    t.match(results[2 * i], { index: 2 * i, status: 'created', id: String }, `${v.type}: valid created`)
    const bad = results[2 * i + 1]
    t.equal(bad?.status, 'invalid')
    t.equal(bad?.problem?.errors[0]?.name, `items.${2 * i + 1}.value`)
    t.match(bad?.problem?.errors[0]?.reason, v.reason, `${v.type}: same reason in bulk`)
  })
  t.equal(await countOwn(), before + vectors.length)
})

t.test('match: typed valid spellings hit, invalid ones carry the reason', async (t) => {
  const res = await c.post('/v1/indicators/match', {
    values: vectors.flatMap((v) => [
      { type: v.type, value: v.valid },
      { type: v.type, value: v.invalid },
    ]),
  })
  t.equal(res.statusCode, 200)
  const results = (res.json() as { results: { problem?: string; matches: { organisationId: string; type: string }[] }[] }).results
  vectors.forEach((v, i) => {
    const hit = results[2 * i]
    t.notOk(hit?.problem)
    t.ok(
      hit?.matches.some((m) => m.organisationId === O.org.id && m.type === v.type),
      `${v.type}: matched`,
    )
    t.match(results[2 * i + 1], { problem: v.reason, matches: [] }, `${v.type}: invalid → problem, no matches`)
  })
})

t.test('type and value are required and bounded', async (t) => {
  const cases: [unknown, string][] = [
    [{ value: 'x' }, 'body.type'],
    [{ type: 'vendor_alias' }, 'body.value'],
    [{ type: 'vendor_alias', value: '' }, 'body.value'],
    [{ type: 'ip_address', value: '192.0.2.1' }, 'body.type'],
    [{ type: 'vendor_alias', value: 42 }, 'body.value'],
    [{ type: 'vendor_alias', value: 'x'.repeat(4001) }, 'body.value'],
    [{ type: 'vendor_alias', value: '   ' }, 'body.value'],
  ]
  for (const [body, name] of cases) {
    const p = isProblem(t, await c.post('/v1/indicators', body), 400)
    t.ok(
      p.errors?.some((e) => e.name === name),
      `${JSON.stringify(body).slice(0, 60)} names ${name}`,
    )
  }
})

// Invisible characters (zero-width, joiners, soft hyphen, BOM, bidi controls, variation selectors)
// must not split a value: `Mare\u200Bk` is `Marek` for creation, correlation and matching.
const INVISIBLES = [
  '\u200B',
  '\u200C',
  '\u200D',
  '\u2060',
  '\u00AD',
  '\uFEFF',
  '\u034F',
  '\u200E',
  '\u200F',
  '\u202A',
  '\u202B',
  '\u202C',
  '\u202D',
  '\u202E',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
  '\uFE00',
  '\uFE0F',
  '\u{E0100}',
  '\u{E01EF}',
]

t.test('invisible characters do not split a value', async (t) => {
  const w = word('inv')
  // Correlation (related) lists other organisations' items: the plain spelling comes from P.
  const P = await orgWith(app, ['contributor'], { sector: 'police' })
  const p = as(app, P.contributor.token)
  // [type, plain spelling, the same with invisible characters, its normalised value]
  const pairs: [string, string, string, string][] = [
    ['vendor_alias', `${w} Marek`, `${w} Mare\u200Bk`, `${w} marek`],
    ['person_name', `Marek ${w}`, `\u202EMa\u00ADrek\u202C ${w}\u2060`, `marek ${w}`],
    ['postal_address', `Keizersgracht 1 ${w}`, `Keizers\u200Dgracht\uFE0F 1 \u2066${w}\u2069`, `keizersgracht 1 ${w}`],
    ['shipping_pattern', `DVD case ${w}`, `\uFEFFDVD\u034F case ${w}\u{E0100}`, `DVD case ${w}`],
    ['email', `marek.${w}@example.org`, `mar\u200Cek.${w}@example.org`, `marek.${w}@example.org`],
    ['phone', '+44 20 7946 0958', '+44\u200B 20 7946\u2060 0958', '+442079460958'],
  ]
  const matchIds = async (type: string, value: string, untyped = false) => {
    const res = await c.post('/v1/indicators/match', { values: [untyped ? { value } : { type, value }] })
    t.equal(res.statusCode, 200, res.body.slice(0, 200))
    return (res.json() as { results: { matches: { id: string }[] }[] }).results[0]?.matches.map((m) => m.id) ?? []
  }
  for (const [type, plain, hidden, normalized] of pairs) {
    const withInvisible = await c.post('/v1/indicators', { type, value: hidden, distribution: 'community' })
    t.equal(withInvisible.statusCode, 201, `${type}: created ${withInvisible.body.slice(0, 200)}`)
    const withPlain = await p.post('/v1/indicators', { type, value: plain, distribution: 'community' })
    t.equal(withPlain.statusCode, 201, `${type}: created ${withPlain.body.slice(0, 200)}`)
    const a = withInvisible.json()
    const b = withPlain.json()
    t.equal(a.normalizedValue, normalized, `${type}: invisible characters folded`)
    t.equal(a.normalizedValue, b.normalizedValue, `${type}: one normalizedValue`)
    t.ok((await matchIds(type, plain)).includes(a.id), `${type}: the plain value matches the one sent with invisible characters`)
    t.ok((await matchIds(type, hidden)).includes(b.id), `${type}: and the other way round`)
    t.ok((await matchIds(type, plain)).includes(b.id) && (await matchIds(type, hidden)).includes(a.id), `${type}: each matches itself`)
    const related = await c.get(`/v1/indicators/${a.id}/related`)
    t.ok(
      (related.json() as { items: { id: string }[] }).items.some((i) => i.id === b.id),
      `${type}: they correlate`,
    )
  }
  t.ok((await matchIds('vendor_alias', `${w} Mare\u200Bk`, true)).length > 0, 'untyped match folds too')

  for (const ch of INVISIBLES) {
    const res = await c.post('/v1/indicators', { type: 'vendor_alias', value: `${w} Ma${ch}rek` })
    t.equal(res.json().normalizedValue, `${w} marek`, `U+${ch.codePointAt(0)?.toString(16).toUpperCase()} folded`)
  }
  // Nothing but invisible characters is no value.
  const empty = isProblem(t, await c.post('/v1/indicators', { type: 'vendor_alias', value: '\u200B\u200D\uFEFF' }), 400)
  t.equal(empty.errors?.[0]?.name, 'body.value')
})
