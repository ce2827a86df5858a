// Idempotency-Key (safe retries): a retried POST returns the first result and creates nothing —
// also when the retries race each other. Row counts are read from the database.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { as, buildTestApp, createAccount, isProblem, orgWith, type TestOrg } from '../helper.js'
import { countAs, postIndicator, vendorAlias, word } from './fixtures.js'

const app = await buildTestApp(t)

const countValue = (org: TestOrg, value: string) =>
  countAs(app, org, sql`select count(*) as n from indicators where organisation_id = ${org.id} and value = ${value}`)

t.test('POST /v1/indicators: replay, mismatch, per-account keys, failed first attempt', async (t) => {
  const { org, contributor } = await orgWith(app, ['contributor'], { sector: 'police' })
  const c = as(app, contributor.token)
  const key = word('key-')
  const body = vendorAlias({ description: 'first' })

  const first = await c.post('/v1/indicators', body, { 'idempotency-key': key })
  t.equal(first.statusCode, 201)
  t.notOk(first.headers['idempotent-replayed'], 'the first answer is not a replay')
  const again = await c.post('/v1/indicators', body, { 'idempotency-key': key })
  t.equal(again.statusCode, 201)
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.strictSame(again.json(), first.json(), 'the same body, the same id')
  t.equal(again.headers.location, first.headers.location)
  t.equal(await countValue(org, body.value), 1, 'exactly one row')

  // The first result, even after the item changed.
  const id = first.json().id as string
  t.equal((await c.patch(`/v1/indicators/${id}`, { description: 'changed' })).statusCode, 200)
  const later = await c.post('/v1/indicators', body, { 'idempotency-key': key })
  t.match(later.json(), { id, description: 'first', version: 1 })

  const p = isProblem(t, await c.post('/v1/indicators', { ...body, description: 'different' }, { 'idempotency-key': key }), 422)
  t.match(p.detail, /Idempotency-Key/)
  const other = vendorAlias()
  isProblem(t, await c.post('/v1/indicators', other, { 'idempotency-key': key }), 422)
  t.equal(await countValue(org, other.value), 0, 'a mismatched retry stores nothing')
  // The key belongs to this account and this request: another route with it is a mismatch too.
  isProblem(t, await c.post(`/v1/indicators/${id}/sightings`, { seenAt: new Date().toISOString() }, { 'idempotency-key': key }), 422)

  // Another account's identical key is its own.
  const colleague = await createAccount(app, org.id, ['contributor'])
  const theirs = await as(app, colleague.token).post('/v1/indicators', body, { 'idempotency-key': key })
  t.equal(theirs.statusCode, 201)
  t.not(theirs.json().id, id, 'a different account gets its own result')
  t.notOk(theirs.headers['idempotent-replayed'])
  t.equal(await countValue(org, body.value), 2)

  // A first attempt that fails leaves no trace: the retry with a corrected body runs afresh.
  const k2 = word('key-')
  isProblem(t, await c.post('/v1/indicators', { type: 'email', value: 'not an email' }, { 'idempotency-key': k2 }), 400)
  const fixed = await c.post('/v1/indicators', { type: 'email', value: `${word()}@example.org` }, { 'idempotency-key': k2 })
  t.equal(fixed.statusCode, 201, 'not 422: the failed attempt did not keep the key')

  for (const bad of ['x'.repeat(201), 'späti', 'has space']) {
    const pb = isProblem(t, await c.post('/v1/indicators', vendorAlias(), { 'idempotency-key': bad }), 400)
    t.match(pb.errors, [{ name: 'header.idempotency-key' }])
  }
})

t.test('20 concurrent requests with one key: one row, one id', async (t) => {
  const { org, contributor } = await orgWith(app, ['contributor'], { sector: 'police' })
  const c = as(app, contributor.token)
  const key = word('race-')
  const body = vendorAlias({ distribution: 'community' })
  const all = await Promise.all(Array.from({ length: 20 }, () => c.post('/v1/indicators', body, { 'idempotency-key': key })))
  t.strictSame([...new Set(all.map((r) => r.statusCode))], [201], 'all 201')
  t.equal(new Set(all.map((r) => r.json().id)).size, 1, 'all the same id')
  t.equal(all.filter((r) => r.headers['idempotent-replayed'] === 'true').length, 19, 'nineteen replays')
  t.equal(await countValue(org, body.value), 1, 'exactly one row in the database')
})

t.test('bulk: replay and race', async (t) => {
  const { org, contributor } = await orgWith(app, ['contributor'], { sector: 'police' })
  const c = as(app, contributor.token)
  const countOrg = () => countAs(app, org, sql`select count(*) as n from indicators where organisation_id = ${org.id}`)
  const items = [...Array.from({ length: 5 }, () => vendorAlias()), { type: 'email', value: 'broken' }]
  const key = word('bulk-')
  const first = await c.post('/v1/indicators/bulk', { items }, { 'idempotency-key': key })
  t.equal(first.statusCode, 200)
  const again = await c.post('/v1/indicators/bulk', { items }, { 'idempotency-key': key })
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.strictSame(again.json(), first.json(), 'the same per-item results and ids')
  t.equal(await countOrg(), 5)
  isProblem(t, await c.post('/v1/indicators/bulk', { items: items.slice(1) }, { 'idempotency-key': key }), 422)

  const raceKey = word('bulk-race-')
  const raceItems = Array.from({ length: 50 }, () => vendorAlias())
  const all = await Promise.all(Array.from({ length: 10 }, () => c.post('/v1/indicators/bulk', { items: raceItems }, { 'idempotency-key': raceKey })))
  t.strictSame([...new Set(all.map((r) => r.statusCode))], [200])
  t.equal(new Set(all.map((r) => r.body)).size, 1, 'every racer got the same results')
  t.equal(await countOrg(), 55, 'fifty more rows, not five hundred')
})

t.test('sightings: replay and race', async (t) => {
  const { org, contributor } = await orgWith(app, ['contributor'], { sector: 'customs' })
  const W = await orgWith(app, ['contributor'], { sector: 'postal' })
  const ind = await postIndicator(app, contributor.token, vendorAlias({ distribution: 'community' }))
  const w = as(app, W.contributor.token)
  const countSightings = () => countAs(app, W.org, sql`select count(*) as n from sightings where indicator_id = ${ind.id} and organisation_id = ${W.org.id}`)
  const body = { seenAt: '2026-01-15T10:00:00Z', count: 3, outcome: 'seized' }
  const key = word('sight-')
  const first = await w.post(`/v1/indicators/${ind.id}/sightings`, body, { 'idempotency-key': key })
  t.equal(first.statusCode, 201)
  const again = await w.post(`/v1/indicators/${ind.id}/sightings`, body, { 'idempotency-key': key })
  t.equal(again.statusCode, 201)
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.equal(again.json().id, first.json().id)
  isProblem(t, await w.post(`/v1/indicators/${ind.id}/sightings`, { ...body, count: 4 }, { 'idempotency-key': key }), 422)
  t.equal(await countSightings(), 1)

  const raceKey = word('sight-race-')
  const all = await Promise.all(Array.from({ length: 20 }, () => w.post(`/v1/indicators/${ind.id}/sightings`, body, { 'idempotency-key': raceKey })))
  t.strictSame([...new Set(all.map((r) => r.statusCode))], [201])
  t.equal(new Set(all.map((r) => r.json().id)).size, 1)
  t.equal(await countSightings(), 2, 'one more sighting, not twenty')
  const summary = (await as(app, contributor.token).get(`/v1/indicators/${ind.id}/sightings`)).json()
  t.match(summary.items, [{ organisationId: W.org.id, outcome: 'seized', count: 6, reports: 2 }], 'the owner sees 2 reports, 6 items')
  void org
})
