// Sharing groups: members read, the owner organisation's org_admins write; a group still used
// by an item cannot be deleted; a membership change changes who sees the group's items at once.
import t from 'tap'
import { as, buildTestApp, isProblem, orgWith } from '../helper.js'
import { createGroup, ids, postIndicator, vendorAlias, word } from './fixtures.js'

const app = await buildTestApp(t)

// One set of organisations for the file; every test makes its own groups and items.
const O = await orgWith(app, ['reader', 'contributor', 'org_admin'], { sector: 'customs' })
const M1 = await orgWith(app, ['reader', 'contributor', 'org_admin'], { sector: 'postal' })
const M2 = await orgWith(app, ['reader'], { sector: 'courier' })
const N = await orgWith(app, ['reader', 'contributor', 'org_admin'], { sector: 'police' })

t.test('create, read, list: members only', async (t) => {
  const name = word('group ')
  const res = await as(app, O.org_admin.token).post('/v1/sharing-groups', { name, organisationIds: [M1.org.id, M2.org.id] })
  t.equal(res.statusCode, 201)
  const g = res.json()
  t.equal(res.headers.location, `/v1/sharing-groups/${g.id}`)
  t.match(g, { name, organisationId: O.org.id, version: 1 })
  t.strictSame(g.organisationIds, [O.org.id, M1.org.id, M2.org.id].sort(), 'the owner is a member too')

  for (const [who, tok, can] of [
    ['owner reader', O.reader.token, true],
    ['member', M1.reader.token, true],
    ['member', M2.reader.token, true],
    ['non-member', N.reader.token, false],
    ['non-member admin', N.org_admin.token, false],
  ] as const) {
    const get = await as(app, tok).get(`/v1/sharing-groups/${g.id}`)
    t.equal(get.statusCode, can ? 200 : 404, `${who}: GET`)
    if (can) t.strictSame(get.json().organisationIds, g.organisationIds)
    const list = await as(app, tok).get('/v1/sharing-groups')
    t.equal(ids(list).includes(g.id), can, `${who}: list`)
  }

  for (const [who, tok] of [
    ['contributor', O.contributor.token],
    ['reader', O.reader.token],
  ] as const) {
    isProblem(t, await as(app, tok).post('/v1/sharing-groups', { name: 'x', organisationIds: [] }), 403)
    t.pass(`${who} may not create`)
  }
  const unknown = isProblem(
    t,
    await as(app, O.org_admin.token).post('/v1/sharing-groups', { name: 'x', organisationIds: ['00000000-0000-4000-8000-00000000abcd'] }),
    400,
  )
  t.match(unknown.errors, [{ name: 'body.organisationIds' }])
  isProblem(t, await as(app, O.org_admin.token).post('/v1/sharing-groups', { name: 'x', organisationIds: [M1.org.id, M1.org.id] }), 400)
  isProblem(t, await as(app, O.org_admin.token).post('/v1/sharing-groups', { name: ' ', organisationIds: [] }), 400)
  isProblem(t, await as(app, O.org_admin.token).post('/v1/sharing-groups', { name: 'x', organisationIds: [], organisationId: N.org.id }), 400)
})

t.test("writes: only the owner's org_admin", async (t) => {
  const name = word('w')
  const g = await createGroup(app, O.org_admin.token, name, [M1.org.id])
  const url = `/v1/sharing-groups/${g.id}`
  const refusals: [string, string, number][] = [
    ['member org_admin', M1.org_admin.token, 403],
    ['member contributor', M1.contributor.token, 403],
    ['owner reader', O.reader.token, 403],
    ['owner contributor', O.contributor.token, 403],
    ['non-member org_admin', N.org_admin.token, 404],
  ]
  for (const [who, tok, status] of refusals) {
    isProblem(t, await as(app, tok).patch(url, { name: 'hijacked' }), status)
    isProblem(t, await as(app, tok).patch(url, { organisationIds: [N.org.id] }), status)
    isProblem(t, await as(app, tok).delete(url), status)
    t.pass(`${who}: ${status}`)
  }
  const still = (await as(app, O.reader.token).get(url)).json()
  t.match(still, { name, version: 1 })
  t.strictSame(still.organisationIds, [O.org.id, M1.org.id].sort(), 'membership unchanged')

  const renamed = await as(app, O.org_admin.token).patch(url, { name: 'renamed' })
  t.equal(renamed.statusCode, 200)
  t.match(renamed.json(), { name: 'renamed', version: 2 })
  // The owner cannot drop itself.
  const emptied = await as(app, O.org_admin.token).patch(url, { organisationIds: [] })
  t.strictSame(emptied.json().organisationIds, [O.org.id])
  const del = await as(app, O.org_admin.token).delete(url)
  t.equal(del.statusCode, 204)
  isProblem(t, await as(app, O.reader.token).get(url), 404)
  isProblem(t, await as(app, O.org_admin.token).delete(url), 404)
})

t.test('DELETE is refused while an item is distributed to the group', async (t) => {
  const g = await createGroup(app, O.org_admin.token, word('inuse'), [M1.org.id])
  const url = `/v1/sharing-groups/${g.id}`
  // A member's item keeps the group in use too, and so does a revoked one.
  const mine = await postIndicator(app, M1.contributor.token, vendorAlias({ distribution: 'sharing_group', sharingGroupId: g.id }))
  const p = isProblem(t, await as(app, O.org_admin.token).delete(url), 409)
  t.match(p.detail, /still the distribution of items/)
  t.equal((await as(app, M1.contributor.token).delete(`/v1/indicators/${mine.id}`)).statusCode, 200)
  isProblem(t, await as(app, O.org_admin.token).delete(url), 409)
  const moved = await as(app, M1.contributor.token).patch(`/v1/indicators/${mine.id}`, { distribution: 'organisation' })
  t.equal(moved.statusCode, 200, moved.body)
  if (app.hasRoute({ method: 'POST', url: '/v1/notes' })) {
    const note = await as(app, O.contributor.token).post('/v1/notes', {
      title: 't',
      summary: 's',
      body: 'b',
      topics: ['detection'],
      distribution: 'sharing_group',
      sharingGroupId: g.id,
    })
    t.equal(note.statusCode, 201, note.body)
    isProblem(t, await as(app, O.org_admin.token).delete(url), 409)
    t.equal((await as(app, O.contributor.token).patch(`/v1/notes/${note.json().id}`, { distribution: 'organisation' })).statusCode, 200)
  }
  t.equal((await as(app, O.org_admin.token).delete(url)).statusCode, 204, 'free once nothing uses it')
  t.equal((await as(app, M1.reader.token).get(`/v1/indicators/${mine.id}`)).statusCode, 200, 'the item lives on')
})

t.test('membership changes change visibility at once', async (t) => {
  const g = await createGroup(app, O.org_admin.token, word('vis'), [M1.org.id])
  const ind = await postIndicator(app, O.contributor.token, vendorAlias({ distribution: 'sharing_group', sharingGroupId: g.id, description: 'group item' }))
  const sees = async (who: { reader: { token: string } }) => (await as(app, who.reader.token).get(`/v1/indicators/${ind.id}`)).statusCode === 200
  const matches = async (who: { reader: { token: string } }) => {
    const r = await as(app, who.reader.token).post('/v1/indicators/match', { values: [{ type: 'vendor_alias', value: ind.value }] })
    return (r.json() as { results: { matches: { id: string }[] }[] }).results[0]?.matches.some((m) => m.id === ind.id) ?? false
  }
  t.strictSame([await sees(M1), await sees(M2), await sees(N)], [true, false, false], 'before: M1 only')

  const admin = as(app, O.org_admin.token)
  t.equal((await admin.patch(`/v1/sharing-groups/${g.id}`, { organisationIds: [M2.org.id, N.org.id] })).statusCode, 200)
  t.strictSame([await sees(M1), await sees(M2), await sees(N)], [false, true, true], 'after: M1 out, M2 and N in')
  t.strictSame([await matches(M1), await matches(M2), await matches(N)], [false, true, true], 'match follows')
  const list = await as(app, N.reader.token).get(`/v1/indicators?organisationId=${O.org.id}`)
  t.strictSame(ids(list), [ind.id], 'and the list')
  isProblem(t, await as(app, M1.reader.token).get(`/v1/sharing-groups/${g.id}`), 404)
  t.equal((await as(app, N.reader.token).get(`/v1/sharing-groups/${g.id}`)).statusCode, 200)

  // A new member can now distribute to the group; a former one cannot.
  const byN = await as(app, N.contributor.token).post('/v1/indicators', vendorAlias({ distribution: 'sharing_group', sharingGroupId: g.id }))
  t.equal(byN.statusCode, 201)
  t.equal((await as(app, M2.reader.token).get(`/v1/indicators/${byN.json().id}`)).statusCode, 200, "members see a member's item")
  const byM1 = await as(app, M1.contributor.token).post('/v1/indicators', vendorAlias({ distribution: 'sharing_group', sharingGroupId: g.id }))
  t.match(isProblem(t, byM1, 400).errors, [{ name: 'body.sharingGroupId' }])

  await admin.delete(`/v1/sharing-groups/${g.id}`) // 409: still in use; the group stays
  t.equal((await as(app, N.reader.token).get(`/v1/indicators/${ind.id}`)).statusCode, 200)
})

t.test("DELETE with another member's hidden item: the same 409 as a visible one, revealing nothing", async (t) => {
  // M1's match_only item distributed to the group: the group's owner may match it, never read it.
  const hiddenGroup = await createGroup(app, O.org_admin.token, word('hidden'), [M1.org.id])
  const hidden = await postIndicator(app, M1.contributor.token, {
    type: 'person_name',
    value: word('Name '),
    tlp: 'amber',
    valueVisibility: 'match_only',
    distribution: 'sharing_group',
    sharingGroupId: hiddenGroup.id,
  })
  isProblem(t, await as(app, O.reader.token).get(`/v1/indicators/${hidden.id}`), 404)
  const visibleGroup = await createGroup(app, O.org_admin.token, word('shown'), [M1.org.id])
  const shown = await postIndicator(app, M1.contributor.token, vendorAlias({ distribution: 'sharing_group', sharingGroupId: visibleGroup.id }))
  t.equal((await as(app, O.reader.token).get(`/v1/indicators/${shown.id}`)).statusCode, 200)

  const a = isProblem(t, await as(app, O.org_admin.token).delete(`/v1/sharing-groups/${hiddenGroup.id}`), 409)
  const b = isProblem(t, await as(app, O.org_admin.token).delete(`/v1/sharing-groups/${visibleGroup.id}`), 409)
  const shape = (p: typeof a) => ({ type: p.type, title: p.title, status: p.status, detail: p.detail, errors: p.errors })
  t.strictSame(shape(a), shape(b), 'hidden or visible: one answer')
  t.notMatch(a.detail, /\d/, 'no counts')
  t.notOk(a.detail.includes(hidden.id) || b.detail.includes(shown.id), 'no ids')
  t.equal((await as(app, O.reader.token).get(`/v1/sharing-groups/${hiddenGroup.id}`)).statusCode, 200, 'the group stays')
  t.equal((await as(app, M1.reader.token).get(`/v1/indicators/${hidden.id}`)).statusCode, 200, "the member's item is untouched")
})
