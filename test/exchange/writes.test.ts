// Writes are owner-only (404 for other organisations, 403 for a role that may not write), the
// server owns the bookkeeping fields, and placement rules (TLP × distribution, sharing group)
// are refused with the field named — and nothing stored.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { as, buildTestApp, isProblem, orgWith } from '../helper.js'
import { countAs, createGroup, postIndicator, vendorAlias, word } from './fixtures.js'

const app = await buildTestApp(t)
const O = await orgWith(app, ['reader', 'contributor', 'org_admin'], { sector: 'police' })
const X = await orgWith(app, ['contributor', 'org_admin'], { sector: 'customs' })

const fieldNames = (body: { errors?: { name: string }[] }) => (body.errors ?? []).map((e) => e.name)
const countOwn = (org: typeof O) => countAs(app, org.org, sql`select count(*) as n from indicators where organisation_id = ${org.org.id}`)

t.test('owner-only: other organisation 404, reader 403, owner contributor 200', async (t) => {
  const ind = await postIndicator(app, O.contributor.token, vendorAlias({ distribution: 'community', description: 'original' }))
  const other = as(app, X.contributor.token)
  t.equal((await other.get(`/v1/indicators/${ind.id}`)).statusCode, 200, 'visible to the other organisation')

  isProblem(t, await other.patch(`/v1/indicators/${ind.id}`, { description: 'defaced' }), 404)
  isProblem(t, await other.patch(`/v1/indicators/${ind.id}`, { description: 'defaced' }, { 'if-match': '"1"' }), 404)
  isProblem(t, await other.delete(`/v1/indicators/${ind.id}`), 404)
  isProblem(t, await as(app, X.org_admin.token).delete(`/v1/indicators/${ind.id}`), 404)

  const reader = as(app, O.reader.token)
  const p403 = isProblem(t, await reader.patch(`/v1/indicators/${ind.id}`, { description: 'reader edit' }), 403)
  t.match(p403.detail, /contributor/, 'names the role needed')
  isProblem(t, await reader.delete(`/v1/indicators/${ind.id}`), 403)
  isProblem(t, await reader.post('/v1/indicators', vendorAlias()), 403)
  isProblem(t, await reader.post('/v1/indicators/bulk', { items: [vendorAlias()] }), 403)
  isProblem(t, await reader.post(`/v1/indicators/${ind.id}/sightings`, { seenAt: new Date().toISOString() }), 403)

  const after = (await reader.get(`/v1/indicators/${ind.id}`)).json()
  t.match(after, { description: 'original', status: 'active', version: 1 }, 'nothing changed')

  const ok = await as(app, O.contributor.token).patch(`/v1/indicators/${ind.id}`, { description: 'edited' })
  t.equal(ok.statusCode, 200)
  t.match(ok.json(), { description: 'edited', version: 2 })
  t.equal(ok.headers.etag, '"2"')
  const del = await as(app, O.contributor.token).delete(`/v1/indicators/${ind.id}`)
  t.equal(del.statusCode, 200)
  t.match(del.json(), { status: 'revoked', version: 3 })
  // org_admin includes contributor.
  const adminEdit = await as(app, O.org_admin.token).patch(`/v1/indicators/${ind.id}`, { confidence: 90 })
  t.equal(adminEdit.statusCode, 200)
})

t.test('server-owned fields in a body are refused and nothing is stored', async (t) => {
  const W = await orgWith(app, ['contributor'], { sector: 'border' })
  const w = as(app, W.contributor.token)
  const forged = {
    organisationId: O.org.id,
    status: 'revoked',
    version: 7,
    normalizedValue: 'forged',
    createdAt: '2020-01-01T00:00:00Z',
    id: '00000000-0000-4000-8000-000000000abc',
    updatedAt: '2020-01-01T00:00:00Z',
    network: 'bitcoin',
  }
  for (const [k, v] of Object.entries(forged)) {
    const p = isProblem(t, await w.post('/v1/indicators', { ...vendorAlias(), [k]: v }), 400)
    t.ok(fieldNames(p).includes(`body.${k}`), `POST ${k}: names body.${k}`)
    const b = await w.post('/v1/indicators/bulk', { items: [{ ...vendorAlias(), [k]: v }] })
    t.equal(b.statusCode, 200)
    t.match(b.json().results[0], { index: 0, status: 'invalid', problem: { errors: [{ name: `items.0.${k}` }] } }, `bulk ${k}`)
  }
  t.equal(await countOwn(W), 0, 'no row stored for any of them')

  const ind = await postIndicator(app, W.contributor.token, vendorAlias())
  for (const [k, v] of Object.entries({ ...forged, type: 'email', value: 'x@example.org' })) {
    const p = isProblem(t, await w.patch(`/v1/indicators/${ind.id}`, { description: 'with forgery', [k]: v }), 400)
    t.ok(fieldNames(p).includes(`body.${k}`), `PATCH ${k}: names body.${k}`)
  }
  const after = (await w.get(`/v1/indicators/${ind.id}`)).json()
  t.match(after, { organisationId: W.org.id, status: 'active', version: 1, description: '', value: ind.value })
  t.equal(await countOwn(W), 1)
  isProblem(t, await w.patch(`/v1/indicators/${ind.id}`, {}), 400)
})

t.test('TLP:RED only with organisation or sharing_group', async (t) => {
  const c = as(app, O.contributor.token)
  const group = await createGroup(app, O.org_admin.token, word('red'), [X.org.id])
  const before = await countOwn(O)
  for (const distribution of ['authorities', 'community']) {
    const p = isProblem(t, await c.post('/v1/indicators', vendorAlias({ tlp: 'red', distribution })), 400)
    t.strictSame(fieldNames(p), ['body.tlp'], `red + ${distribution}: names body.tlp`)
    t.match(p.errors?.[0]?.reason, /RED/)
  }
  t.equal(await countOwn(O), before, 'nothing stored')
  t.equal((await c.post('/v1/indicators', vendorAlias({ tlp: 'red', distribution: 'organisation' }))).statusCode, 201)
  const red = await postIndicator(app, O.contributor.token, vendorAlias({ tlp: 'red', distribution: 'sharing_group', sharingGroupId: group.id }))

  // A PATCH may not widen a red item, nor redden a wide one.
  const widen = isProblem(t, await c.patch(`/v1/indicators/${red.id}`, { distribution: 'community' }), 400)
  t.strictSame(fieldNames(widen), ['body.tlp'])
  const wide = await postIndicator(app, O.contributor.token, vendorAlias({ tlp: 'amber', distribution: 'authorities' }))
  t.strictSame(fieldNames(isProblem(t, await c.patch(`/v1/indicators/${wide.id}`, { tlp: 'red' }), 400)), ['body.tlp'])
  t.match((await c.get(`/v1/indicators/${red.id}`)).json(), { tlp: 'red', distribution: 'sharing_group', version: 1 }, 'unchanged')
  // Narrowing and reddening together is fine.
  const both = await c.patch(`/v1/indicators/${wide.id}`, { tlp: 'red', distribution: 'organisation' })
  t.equal(both.statusCode, 200)
  t.match(both.json(), { tlp: 'red', distribution: 'organisation', sharingGroupId: null })
})

t.test('sharing_group distribution needs a group the organisation is in', async (t) => {
  const W = await orgWith(app, ['contributor', 'org_admin'], { sector: 'courier' })
  const w = as(app, W.contributor.token)
  const notMine = await createGroup(app, X.org_admin.token, word('xonly'), [])
  const mine = await createGroup(app, W.org_admin.token, word('mine'), [])

  const missing = isProblem(t, await w.post('/v1/indicators', vendorAlias({ distribution: 'sharing_group' })), 400)
  t.strictSame(fieldNames(missing), ['body.sharingGroupId'])
  const nulled = isProblem(t, await w.post('/v1/indicators', vendorAlias({ distribution: 'sharing_group', sharingGroupId: null })), 400)
  t.strictSame(fieldNames(nulled), ['body.sharingGroupId'])
  const foreign = isProblem(t, await w.post('/v1/indicators', vendorAlias({ distribution: 'sharing_group', sharingGroupId: notMine.id })), 400)
  t.strictSame(fieldNames(foreign), ['body.sharingGroupId'])
  const unknown = isProblem(
    t,
    await w.post('/v1/indicators', vendorAlias({ distribution: 'sharing_group', sharingGroupId: '00000000-0000-4000-8000-0000000000ff' })),
    400,
  )
  t.strictSame(fieldNames(unknown), ['body.sharingGroupId'])
  t.equal(foreign.detail, unknown.detail, 'a group one is not in reads exactly like one that does not exist')
  const stray = isProblem(t, await w.post('/v1/indicators', vendorAlias({ distribution: 'community', sharingGroupId: mine.id })), 400)
  t.strictSame(fieldNames(stray), ['body.sharingGroupId'])
  const bulk = await w.post('/v1/indicators/bulk', { items: [vendorAlias({ distribution: 'sharing_group', sharingGroupId: notMine.id })] })
  t.match(bulk.json().results[0], { status: 'invalid', problem: { errors: [{ name: 'items.0.sharingGroupId' }] } })
  t.equal(await countOwn(W), 0, 'nothing stored')

  const ok = await postIndicator(app, W.contributor.token, vendorAlias({ distribution: 'sharing_group', sharingGroupId: mine.id }))
  t.equal(ok.sharingGroupId, mine.id)
  // PATCH onto a foreign group is refused; leaving sharing_group clears the group.
  t.strictSame(fieldNames(isProblem(t, await w.patch(`/v1/indicators/${ok.id}`, { sharingGroupId: notMine.id }), 400)), ['body.sharingGroupId'])
  const out = await w.patch(`/v1/indicators/${ok.id}`, { distribution: 'organisation' })
  t.equal(out.statusCode, 200)
  t.match(out.json(), { distribution: 'organisation', sharingGroupId: null })
})
