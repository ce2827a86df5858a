// Optimistic concurrency (the update convention): the ETag is the row version; a PATCH or DELETE with a
// stale If-Match is a 412 carrying the current ETag; of racing writers with one If-Match,
// exactly one wins.
import t from 'tap'
import { as, buildTestApp, isProblem, orgWith } from '../helper.js'
import { createGroup, postIndicator, vendorAlias, word } from './fixtures.js'

const app = await buildTestApp(t)
const O = await orgWith(app, ['contributor', 'org_admin', 'reader'], { sector: 'police' })
const c = as(app, O.contributor.token)

t.test('ETag on every read and write; stale If-Match is 412 with the current ETag', async (t) => {
  const ind = await postIndicator(app, O.contributor.token, vendorAlias())
  const get = await c.get(`/v1/indicators/${ind.id}`)
  t.equal(get.headers.etag, '"1"')

  const ok = await c.patch(`/v1/indicators/${ind.id}`, { description: 'v2' }, { 'if-match': '"1"' })
  t.equal(ok.statusCode, 200)
  t.equal(ok.headers.etag, '"2"')
  t.equal(ok.json().version, 2)

  const stale = await c.patch(`/v1/indicators/${ind.id}`, { description: 'lost update' }, { 'if-match': '"1"' })
  const p = isProblem(t, stale, 412)
  t.equal(stale.headers.etag, '"2"', 'the 412 names the current version')
  t.match(p.detail, /version 2/)
  isProblem(t, await c.delete(`/v1/indicators/${ind.id}`, { 'if-match': '"1"' }), 412)
  isProblem(t, await c.patch(`/v1/indicators/${ind.id}`, { description: 'from the future' }, { 'if-match': '"9"' }), 412)
  t.match((await c.get(`/v1/indicators/${ind.id}`)).json(), { description: 'v2', version: 2, status: 'active' }, 'nothing changed')

  const weak = await c.patch(`/v1/indicators/${ind.id}`, { description: 'v3' }, { 'if-match': 'W/"2"' })
  t.equal(weak.statusCode, 200, 'a weak ETag is accepted')
  const del = await c.delete(`/v1/indicators/${ind.id}`, { 'if-match': '"3"' })
  t.equal(del.statusCode, 200)
  t.equal(del.headers.etag, '"4"')

  for (const bad of ['3', '"abc"', '*', '"1", "2"', '']) {
    const pb = isProblem(t, await c.patch(`/v1/indicators/${ind.id}`, { description: 'x' }, { 'if-match': bad }), 400)
    t.match(pb.errors, [{ name: 'header.if-match' }], `If-Match ${JSON.stringify(bad)}`)
  }
  // Another organisation gets 404 whatever If-Match it sends: a 412 would confirm the item exists.
  const X = await orgWith(app, ['contributor'], { sector: 'customs' })
  isProblem(t, await as(app, X.contributor.token).patch(`/v1/indicators/${ind.id}`, { description: 'x' }, { 'if-match': '"1"' }), 404)
})

t.test('10 concurrent PATCHes with one If-Match: exactly one wins', async (t) => {
  const ind = await postIndicator(app, O.contributor.token, vendorAlias())
  const all = await Promise.all(
    Array.from({ length: 10 }, (_, i) => c.patch(`/v1/indicators/${ind.id}`, { description: `writer ${i}`, confidence: i }, { 'if-match': '"1"' })),
  )
  const codes = all.map((r) => r.statusCode)
  t.equal(codes.filter((s) => s === 200).length, 1, 'one 200')
  t.equal(codes.filter((s) => s === 412).length, 9, 'nine 412')
  for (const r of all.filter((x) => x.statusCode === 412)) t.equal(r.headers.etag, '"2"')
  const winner = all.find((r) => r.statusCode === 200)?.json() as { description: string; confidence: number }
  const now = (await c.get(`/v1/indicators/${ind.id}`)).json()
  t.match(now, { version: 2, description: winner.description, confidence: winner.confidence }, "the winner's write is the one stored")
})

t.test('without If-Match concurrent writes are serialised: no version lost', async (t) => {
  const ind = await postIndicator(app, O.contributor.token, vendorAlias({ tags: [] }))
  const all = await Promise.all(Array.from({ length: 10 }, (_, i) => c.patch(`/v1/indicators/${ind.id}`, { confidence: 10 + i })))
  t.strictSame([...new Set(all.map((r) => r.statusCode))], [200])
  t.strictSame(
    all.map((r) => r.json().version).sort((a, b) => a - b),
    [2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    'each write its own version',
  )
  t.equal((await c.get(`/v1/indicators/${ind.id}`)).json().version, 11)
})

t.test('concurrent revoke and PATCH on one version: one wins', async (t) => {
  const ind = await postIndicator(app, O.contributor.token, vendorAlias())
  const [a, b] = await Promise.all([
    c.delete(`/v1/indicators/${ind.id}`, { 'if-match': '"1"' }),
    c.patch(`/v1/indicators/${ind.id}`, { description: 'edit' }, { 'if-match': '"1"' }),
  ])
  t.strictSame([a?.statusCode, b?.statusCode].sort(), [200, 412])
  t.equal((await c.get(`/v1/indicators/${ind.id}`)).json().version, 2)
})

t.test('sharing groups too', async (t) => {
  const g = await createGroup(app, O.org_admin.token, word('etag'), [])
  const admin = as(app, O.org_admin.token)
  t.equal((await admin.get(`/v1/sharing-groups/${g.id}`)).headers.etag, '"1"')
  const all = await Promise.all(Array.from({ length: 5 }, (_, i) => admin.patch(`/v1/sharing-groups/${g.id}`, { name: `name ${i}` }, { 'if-match': '"1"' })))
  t.equal(all.filter((r) => r.statusCode === 200).length, 1)
  t.equal(all.filter((r) => r.statusCode === 412).length, 4)
  const stale = await admin.patch(`/v1/sharing-groups/${g.id}`, { name: 'late' }, { 'if-match': '"1"' })
  isProblem(t, stale, 412)
  t.equal(stale.headers.etag, '"2"')
})
