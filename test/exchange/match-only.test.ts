// valueVisibility match_only: another organisation learns *that* a value is known and whom to
// call — never the value. Every response another organisation can get is scanned for it.
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'drizzle-orm'
import { as, buildTestApp, orgWith, TEST_MASTER_KEY } from '../helper.js'
import { CursorSeal } from '../../src/core/cursor.js'
import { ids, keysDeep, postIndicator, rowsAs, word, type Indicator } from './fixtures.js'

const app = await buildTestApp(t)
const O = await orgWith(app, ['reader', 'contributor'], { sector: 'police' })
const X = await orgWith(app, ['reader', 'contributor'], { sector: 'postal' })
const x = as(app, X.contributor.token)

// Stored spellings contain a unique lower-case token; the outsider always sends an upper-case
// spelling (same normalised value), so its own input echoed back cannot be mistaken for a leak.
const tok = word('q')
const cases = [
  { type: 'person_name', value: `Hans  ${tok}  Meyer`, normalized: `hans ${tok} meyer` },
  { type: 'postal_address', value: `Hauptweg 1\n${tok} 10115 Berlin`, normalized: `hauptweg 1 ${tok} 10115 berlin` },
  { type: 'email', value: `${tok}.Box@Example.org`, normalized: `${tok}.box@example.org` },
]
const variant = (v: string) => v.toUpperCase().replace(/\s+/g, ' ')

const secret: Indicator[] = []
for (const c of cases) {
  const ind = await postIndicator(app, O.contributor.token, {
    type: c.type,
    value: c.value,
    valueVisibility: 'match_only',
    distribution: 'community',
    tlp: 'amber',
    description: 'held by police',
  })
  secret.push(ind)
}

const forbidden = [tok, ...cases.flatMap((c) => [c.value, c.normalized])]
const scanned: string[] = []
function noLeak(t: { notOk(v: unknown, m: string): unknown }, res: LightMyRequestResponse, what: string) {
  scanned.push(what)
  for (const f of forbidden) {
    t.notOk(res.body.includes(f), `${what}: does not contain ${JSON.stringify(f.slice(0, 40))}`)
  }
}

t.test('reads by id: the owner sees value and normalised value; others a clean 404', async (t) => {
  for (const [i, c] of cases.entries()) {
    const own = await as(app, O.reader.token).get(`/v1/indicators/${secret[i]?.id}`)
    t.match(own.json(), { value: c.value, normalizedValue: c.normalized, valueVisibility: 'match_only' }, `${c.type}: owner view`)
  }
  for (const s of secret) {
    const get = await x.get(`/v1/indicators/${s.id}`)
    t.equal(get.statusCode, 404)
    noLeak(t, get, `GET ${s.type}`)
    const sg = await x.get(`/v1/indicators/${s.id}/sightings`)
    t.equal(sg.statusCode, 404)
    noLeak(t, sg, `GET sightings ${s.type}`)
    const rel = await x.get(`/v1/indicators/${s.id}/related`)
    t.equal(rel.statusCode, 404)
    noLeak(t, rel, `GET related ${s.type}`)
    const patch = await x.patch(`/v1/indicators/${s.id}`, { description: 'mine now' })
    t.equal(patch.statusCode, 404)
    noLeak(t, patch, `PATCH ${s.type}`)
    const del = await x.delete(`/v1/indicators/${s.id}`)
    t.equal(del.statusCode, 404)
    noLeak(t, del, `DELETE ${s.type}`)
  }
})

t.test('lists: organisation filter, value= (typed and untyped), q=', async (t) => {
  const own = await x.get(`/v1/indicators?organisationId=${O.org.id}&limit=500`)
  t.strictSame(ids(own), [], 'nothing of the owner listed')
  noLeak(t, own, 'list by organisation')
  for (const [i, c] of cases.entries()) {
    for (const url of [
      `/v1/indicators?type=${c.type}&value=${encodeURIComponent(variant(c.value))}`,
      `/v1/indicators?value=${encodeURIComponent(variant(c.value))}`,
      `/v1/indicators?q=${encodeURIComponent(tok)}`,
      `/v1/indicators?q=${encodeURIComponent(variant(c.value))}`,
      `/v1/indicators?tag=${encodeURIComponent(tok)}`,
    ]) {
      const res = await x.get(url)
      t.equal(res.statusCode, 200, url)
      t.notOk(ids(res).includes(secret[i]?.id as string), `${url}: not listed`)
      noLeak(t, res, `list ${url.slice(0, 60)}`)
    }
  }
  // An invalid typed filter is a 400 whose reason is about the caller's input only.
  const bad = await x.get(`/v1/indicators?type=email&value=${encodeURIComponent(`${tok.toUpperCase()} AT EXAMPLE`)}`)
  t.equal(bad.statusCode, 400)
  noLeak(t, bad, 'list 400')
})

t.test('match: found, whom to contact, no value', async (t) => {
  const res = await x.post('/v1/indicators/match', {
    values: cases.flatMap((c) => [{ type: c.type, value: variant(c.value) }, { value: variant(c.value) }]),
  })
  t.equal(res.statusCode, 200)
  noLeak(t, res, 'match')
  const results = (res.json() as { results: { matches: Record<string, unknown>[] }[] }).results
  cases.forEach((c, i) => {
    // Untyped values are tried as every type but the free-text ones (normalize.ts UNTYPED_CANDIDATES).
    const untypedFinds = c.type === 'email'
    for (const [r, expected] of [
      [results[2 * i], true],
      [results[2 * i + 1], untypedFinds],
    ] as const) {
      const hit = r?.matches.find((m) => m.id === secret[i]?.id)
      t.equal(Boolean(hit), expected, `${c.type}: ${expected ? 'matched' : 'not matched untyped'}`)
      if (hit) t.match(hit, { organisationId: O.org.id, valueVisibility: 'match_only', organisation: { name: O.org.name, contact: { email: String } } })
      t.notOk(keysDeep(r).has('normalizedValue'), 'no normalizedValue key in a result')
      for (const m of r?.matches ?? []) t.notOk('value' in m, 'no value key in a match')
    }
  })
})

t.test('sightings on a match_only item: reportable, summary still 404', async (t) => {
  const s = secret[0] as Indicator
  const rep = await x.post(`/v1/indicators/${s.id}/sightings`, { seenAt: new Date().toISOString(), outcome: 'nothing_found', note: 'clean' })
  t.equal(rep.statusCode, 201, rep.body)
  noLeak(t, rep, 'POST sighting')
  const sum = await x.get(`/v1/indicators/${s.id}/sightings`)
  t.equal(sum.statusCode, 404)
  const owner = await as(app, O.reader.token).get(`/v1/indicators/${s.id}/sightings`)
  t.match(owner.json(), { items: [{ organisationId: X.org.id, outcome: 'nothing_found', count: 1 }] }, 'the owner sees the feedback')
})

t.test('full → match_only: the value disappears for others', async (t) => {
  const value = `${word('z')}@Example.net`
  const ind = await postIndicator(app, O.contributor.token, { type: 'email', value, distribution: 'community', tlp: 'green' })
  const before = await x.get(`/v1/indicators/${ind.id}`)
  t.equal(before.statusCode, 200)
  t.equal(before.json().value, value, 'while full, others see the value')
  const patched = await as(app, O.contributor.token).patch(`/v1/indicators/${ind.id}`, { valueVisibility: 'match_only' }, { 'if-match': `"${ind.version}"` })
  t.equal(patched.statusCode, 200, patched.body)
  t.equal(patched.json().value, value, 'the owner still sees it')
  forbidden.push(value, value.toLowerCase()) // from now on, every later scan looks for it too

  const checks: [string, LightMyRequestResponse][] = [
    ['GET', await x.get(`/v1/indicators/${ind.id}`)],
    ['list', await x.get(`/v1/indicators?organisationId=${O.org.id}&limit=500`)],
    ['value=', await x.get(`/v1/indicators?type=email&value=${encodeURIComponent(value.toUpperCase())}`)],
    ['match', await x.post('/v1/indicators/match', { values: [{ type: 'email', value: value.toUpperCase() }] })],
  ]
  t.equal(checks[0]?.[1].statusCode, 404)
  for (const [what, res] of checks) {
    t.notOk(res.body.includes(value) || res.body.includes(value.toLowerCase()), `${what}: no value after the change`)
  }
  const m = checks[3]?.[1].json() as { results: { matches: { id: string; valueVisibility: string }[] }[] }
  t.match(m.results[0]?.matches, [{ id: ind.id, valueVisibility: 'match_only' }], 'still matchable')
})

t.test('change feed and stats', async (t) => {
  const hasChanges = app.hasRoute({ method: 'GET', url: '/v1/changes' })
  const hasStats = app.hasRoute({ method: 'GET', url: '/v1/stats' })
  if (!hasChanges) t.skip('no /v1/changes route yet', () => {})
  if (!hasStats) t.skip('no /v1/stats route yet', () => {})
  if (hasChanges) {
    // Start just before the first of our items (the cursor is the row's (change_xid, change_seq),
    // sealed for the caller's organisation under the master key, as the route seals it).
    const [first] = await rowsAs<{ xid: string; seq: string }>(
      app,
      O.org,
      sql`select change_xid::text as xid, change_seq::text as seq from indicators where id = ${secret[0]?.id}`,
    )
    let cursor: string | null = new CursorSeal(TEST_MASTER_KEY, 'changes').seal([BigInt(first?.xid ?? '1') - 1n, 0n], X.org.id)
    const fullItem = await postIndicator(app, O.contributor.token, { type: 'vendor_alias', value: word('full'), distribution: 'community', tlp: 'green' })
    const seen = new Set<string>()
    for (let page = 0; cursor && page < 200; page++) {
      const res = await x.get(`/v1/changes?limit=1000&cursor=${cursor}`)
      t.equal(res.statusCode, 200)
      noLeak(t, res, `changes page ${page}`)
      const body = res.json() as { items: { id: string }[]; nextCursor: string | null; hasMore: boolean }
      for (const i of body.items) seen.add(i.id)
      cursor = body.hasMore ? body.nextCursor : null
    }
    for (const s of secret) t.notOk(seen.has(s.id), 'a match_only item is not in the feed')
    // With one connection (PGlite) nothing can hold the feed's horizon back.
    if (app.database.kind === 'pglite') t.ok(seen.has(fullItem.id), 'the feed is live: a full community item is in it')
  }
  if (hasStats) {
    const res = await x.get('/v1/stats')
    t.equal(res.statusCode, 200)
    noLeak(t, res, 'stats')
  }
})

// Last: from here on the outsider holds twins of its own whose normalised value is the same.
t.test('bulk and related: the outsider holds a twin; related and bulk results stay clean', async (t) => {
  const bulk = await x.post('/v1/indicators/bulk', {
    items: cases.map((c) => ({ type: c.type, value: variant(c.value), distribution: 'organisation', tlp: 'amber' })),
  })
  t.equal(bulk.statusCode, 200)
  noLeak(t, bulk, 'bulk result')
  const twins = (bulk.json() as { results: { id: string }[] }).results.map((r) => r.id)
  for (const [i, twin] of twins.entries()) {
    const rel = await x.get(`/v1/indicators/${twin}/related`)
    t.equal(rel.statusCode, 200)
    t.notOk(ids(rel).includes(secret[i]?.id as string), 'related does not list it')
    noLeak(t, rel, `related from twin ${i}`)
  }
  // The owner's related view from its own item does not show the outsider's org-only twin either.
  const ownerRel = await as(app, O.reader.token).get(`/v1/indicators/${secret[0]?.id}/related`)
  t.strictSame(ids(ownerRel), [])
})

t.test('summary', async (t) => {
  t.ok(scanned.length >= 30, `${scanned.length} responses scanned`)
})
