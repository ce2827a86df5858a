// Screening a whole batch: 10,000 values against ~200 seeded indicators. Every result lines up
// with its input, hits name the owner organisation and its contact point, invisible holdings
// never match, invalid typed values come back with a problem. Expectations are built by
// construction (which seed each probe re-spells), not by re-running the normaliser.
import t from 'tap'
import { randomInt } from 'node:crypto'
import { as, buildTestApp, isProblem, orgWith } from '../helper.js'
import { word } from './fixtures.js'

const app = await buildTestApp(t)
const A = await orgWith(app, ['contributor'], { sector: 'police' })
const B = await orgWith(app, ['contributor'], { sector: 'customs' })
const V = await orgWith(app, ['reader'], { sector: 'postal' }) // the screening postal operator
const run = word('m')

/** UPU S10 check digit, restated independently. */
function s10(serial: string): number {
  const r = 11 - ([8, 6, 4, 2, 3, 5, 9, 7].reduce((s, w, i) => s + w * Number(serial[i]), 0) % 11)
  return r === 10 ? 0 : r === 11 ? 5 : r
}
const letters = () => String.fromCharCode(65 + randomInt(26), 65 + randomInt(26))

interface Seed {
  owner: 'A' | 'B'
  body: Record<string, unknown> & { type: string; value: string }
  /** A different spelling with the same normalised value. */
  respelled: string
  visibleToV: boolean
  id?: string
}

const seeds: Seed[] = []
const add = (owner: 'A' | 'B', type: string, value: string, respelled: string, extra: Record<string, unknown>, visibleToV: boolean) =>
  seeds.push({ owner, body: { type, value, tlp: 'green', ...extra }, respelled, visibleToV })
const community = { distribution: 'community' }
for (let i = 0; i < 60; i++) add('A', 'vendor_alias', `${run} Vendor ${i}`, `  ${run.toUpperCase()}   VENDOR ${i} `, community, true)
for (let i = 0; i < 40; i++) add('A', 'email', `${run}.${i}@Example.org`, ` ${run.toUpperCase()}.${i}@EXAMPLE.ORG`, community, true)
for (let i = 0; i < 20; i++) {
  const serial = String(randomInt(10_000_000, 99_999_999))
  const id = `${letters()}${serial}${s10(serial)}${['DE', 'NL', 'FR', 'GB'][i % 4]}`
  add('A', 'postal_item', id, id.toLowerCase().replace(/(\d{3})/g, ' $1 '), community, true)
}
for (let i = 0; i < 20; i++) add('A', 'vendor_alias', `${run} secret ${i}`, `${run} SECRET ${i}`, { distribution: 'organisation' }, false)
for (let i = 0; i < 40; i++) add('B', 'vendor_alias', `${run} customs ${i}`, `${run} CUSTOMS ${i}`, { distribution: 'authorities' }, false)
for (let i = 0; i < 20; i++)
  add('B', 'email', `${run}.mo${i}@example.net`, `${run.toUpperCase()}.MO${i}@EXAMPLE.NET`, { ...community, tlp: 'amber', valueVisibility: 'match_only' }, true)
// The same value held by both organisations: one probe, two hits.
for (let i = 0; i < 10; i++) add('B', 'vendor_alias', `${run} Vendor ${i}`, `${run} vendor ${i}`, community, true)

for (const owner of ['A', 'B'] as const) {
  const mine = seeds.filter((s) => s.owner === owner)
  const token = (owner === 'A' ? A : B).contributor.token
  const res = await as(app, token).post('/v1/indicators/bulk', { items: mine.map((s) => s.body) })
  const results = (res.json() as { results: { status: string; id: string; problem?: unknown }[] }).results
  results.forEach((r, i) => {
    if (r.status !== 'created') throw new Error(`seed ${JSON.stringify(mine[i]?.body)}: ${JSON.stringify(r.problem)}`)
    ;(mine[i] as Seed).id = r.id
  })
}

const directory = new Map<string, { name: string; contact: { email: string; phone?: string; hours?: string } }>()
for (const o of [A, B]) directory.set(o.org.id, (await as(app, V.reader.token).get(`/v1/organisations/${o.org.id}`)).json())
const orgIdOf = (owner: 'A' | 'B') => (owner === 'A' ? A : B).org.id

t.test('10,000 values: each result lines up with its value', async (t) => {
  const visible = seeds.filter((s) => s.visibleToV)
  const invisible = seeds.filter((s) => !s.visibleToV)
  const sameValue = (s: Seed) => seeds.filter((x) => x.body.type === s.body.type && x.body.value.toLowerCase() === s.body.value.toLowerCase())
  type Probe = { value: { type?: string; value: string }; expect: Seed[]; problem?: RegExp }
  const probes: Probe[] = []
  for (let i = 0; i < 10_000; i++) {
    const pick = <T>(a: T[]) => a[randomInt(a.length)] as T
    switch (i % 6) {
      case 0: {
        const s = pick(visible)
        probes.push({ value: { type: s.body.type, value: s.respelled }, expect: sameValue(s).filter((x) => x.visibleToV) })
        break
      }
      case 1:
        probes.push({ value: { type: 'vendor_alias', value: `${run} nobody ${i}` }, expect: [] })
        break
      case 2:
        probes.push(
          i % 12 === 2
            ? { value: { type: 'email', value: `${run} at example ${i}` }, expect: [], problem: /spaces|@/ }
            : {
                value: { type: 'postal_item', value: `RR${String(i).padStart(8, '0')}${(s10(String(i).padStart(8, '0')) + 1) % 10}DE` },
                expect: [],
                problem: /check digit/,
              },
        )
        break
      case 3: {
        // Untyped: tried as every type it is valid for (emails and parcel ids, here).
        const s = pick(visible.filter((x) => x.body.type !== 'vendor_alias'))
        probes.push({ value: { value: s.respelled }, expect: sameValue(s).filter((x) => x.visibleToV) })
        break
      }
      case 4: {
        const s = pick(invisible)
        probes.push({ value: { type: s.body.type, value: s.respelled }, expect: [] })
        break
      }
      default:
        probes.push({ value: { value: `${run.toUpperCase()}-unknown-${i}@example.invalid` }, expect: [] })
    }
  }

  const res = await as(app, V.reader.token).post('/v1/indicators/match', { values: probes.map((p) => p.value) })
  t.equal(res.statusCode, 200)
  type Match = { id: string; type: string; organisationId: string; organisation: { name: string; contact: { email: string } }; valueVisibility: string }
  const results = (res.json() as { results: { type?: string; value: string; problem?: string; matches: Match[] }[] }).results
  t.equal(results.length, 10_000)

  let misaligned = 0
  let wrongMatches = 0
  let wrongProblem = 0
  let wrongContact = 0
  let hits = 0
  results.forEach((r, i) => {
    const p = probes[i] as Probe
    if (r.value !== p.value.value || r.type !== p.value.type) misaligned++
    const got = r.matches.map((m) => m.id).sort()
    const want = p.expect.map((s) => s.id as string).sort()
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      wrongMatches++
      if (wrongMatches <= 3) t.comment(`value ${i} ${JSON.stringify(p.value)}: got ${JSON.stringify(got)} want ${JSON.stringify(want)}`)
    }
    if (p.problem ? !(typeof r.problem === 'string' && p.problem.test(r.problem) && r.matches.length === 0) : 'problem' in r) wrongProblem++
    for (const m of r.matches) {
      hits++
      const seed = seeds.find((s) => s.id === m.id)
      const dir = directory.get(m.organisationId)
      if (
        !seed ||
        !dir ||
        m.organisationId !== orgIdOf(seed.owner) ||
        m.organisation.name !== dir.name ||
        JSON.stringify(m.organisation.contact) !== JSON.stringify(dir.contact) ||
        m.type !== seed.body.type ||
        'value' in m
      )
        wrongContact++
    }
  })
  t.equal(misaligned, 0, 'every result echoes its own value and type, in order')
  t.equal(wrongMatches, 0, 'every result has exactly the expected visible matches')
  t.equal(wrongProblem, 0, 'invalid typed values carry a problem and no matches; others no problem')
  t.equal(wrongContact, 0, 'every match names its owner organisation with the directory contact, and carries no value')
  t.ok(hits > 3000, `${hits} matches in all`)
  t.ok(
    results.some((r) => r.matches.length === 2),
    'a value held by two organisations matches twice',
  )
  t.ok(
    results.some((r) => r.matches.some((m) => m.valueVisibility === 'match_only')),
    'match_only holdings are matched',
  )
})

t.test('limits', async (t) => {
  const m = as(app, V.reader.token)
  const big = isProblem(t, await m.post('/v1/indicators/match', { values: Array.from({ length: 10_001 }, (_, i) => ({ value: `v${i}` })) }), 400)
  t.match(big.errors, [{ name: 'body.values' }])
  for (const body of [
    { values: [] },
    { values: [{ value: '' }] },
    { values: [{ value: 'x'.repeat(4001) }] },
    { values: [{ value: 'x', note: 1 }] },
    { values: [{ type: 'nope', value: 'x' }] },
    { values: 'x' },
  ]) {
    const p = isProblem(t, await m.post('/v1/indicators/match', body), 400)
    t.ok(
      p.errors?.every((e) => e.name.startsWith('body.values')),
      JSON.stringify(body).slice(0, 50),
    )
  }
  const exactly = await m.post('/v1/indicators/match', { values: Array.from({ length: 10_000 }, () => ({ type: 'vendor_alias', value: `${run} nobody` })) })
  t.equal(exactly.statusCode, 200, '10,000 is allowed')
})
