// H2 share requests (DESIGN §7): a recipient who sees an item asks its owner to share it with a
// further organisation; the owner approves (the organisation joins the item's explicit grants,
// the new visibility path of dcx_can_see) or refuses with a reason. Proved through HTTP and with
// row-level security: after approval the granted organisation sees the item, nobody else new does.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { as, buildTestApp, json, orgWith, unique } from '../helper.js'
import { problem } from '../foundation/support.js'
import { createGroup, rowsAs } from '../exchange/fixtures.js'
import { eventsOf } from './support.js'

const app = await buildTestApp(t)
const O = await orgWith(app, ['reader', 'contributor', 'org_admin'], { sector: 'police' })
const R = await orgWith(app, ['reader', 'contributor', 'org_admin'], { sector: 'customs' })
const F = await orgWith(app, ['reader', 'contributor'], { sector: 'prosecution' })
const N = await orgWith(app, ['reader', 'contributor'], { sector: 'border' })
// O shares with R through a group; F and N are outside it.
const group = await createGroup(app, O.org_admin.token, unique('share'), [R.org.id])

type SR = { id: string; status: string; itemId: string; organisationId: string; decisionReason: string | null; decidedBy: string | null }

const post = async (kind: 'indicators' | 'notes') => {
  const body =
    kind === 'indicators'
      ? { type: 'vendor_alias', value: unique('h2'), distribution: 'sharing_group', sharingGroupId: group.id, tlp: 'amber', handlingCode: 'H2' }
      : { title: unique('h2'), summary: 's', body: 'b', topics: ['training'], distribution: 'sharing_group', sharingGroupId: group.id, handlingCode: 'H2' }
  const res = await as(app, O.contributor.token).post(`/v1/${kind}`, body)
  if (res.statusCode !== 201) throw new Error(res.body)
  return json<{ id: string; version: number }>(res)
}
const table = (kind: 'indicators' | 'notes') => sql.raw(kind)

for (const kind of ['indicators', 'notes'] as const) {
  t.test(`${kind}: ask, approve, and the grant is a visibility path for that organisation only`, async (t) => {
    const item = await post(kind)
    const seen = async (who: typeof F) => (await as(app, who.reader.token).get(`/v1/${kind}/${item.id}`)).statusCode
    t.equal(await seen(F), 404, 'F cannot see it before')

    const asked = await as(app, R.contributor.token).post(`/v1/${kind}/${item.id}/share-requests`, {
      organisationId: F.org.id,
      reason: 'Joint investigation team 7',
    })
    t.equal(asked.statusCode, 201, asked.body)
    const request = json<SR>(asked)
    t.match(request, { status: 'pending', itemId: item.id, organisationId: F.org.id, ownerOrganisationId: O.org.id, requesterOrganisationId: R.org.id })
    t.match((await eventsOf(app, asked))[0], { action: 'share_request.create', resourceType: 'share_request', resourceId: request.id })

    const incoming = json<{ items: SR[] }>(await as(app, O.reader.token).get('/v1/share-requests?direction=incoming&status=pending'))
    t.ok(
      incoming.items.some((r) => r.id === request.id),
      'the owner sees it incoming',
    )
    const outgoing = json<{ items: SR[] }>(await as(app, R.reader.token).get('/v1/share-requests?direction=outgoing'))
    t.ok(
      outgoing.items.some((r) => r.id === request.id),
      'the requester sees it outgoing',
    )
    t.notOk(
      json<{ items: SR[] }>(await as(app, F.reader.token).get('/v1/share-requests')).items.some((r) => r.id === request.id),
      'nobody else lists it',
    )
    t.notOk(
      json<{ items: SR[] }>(await as(app, R.reader.token).get('/v1/share-requests?direction=incoming')).items.some((r) => r.id === request.id),
      'not incoming for the requester',
    )

    problem(t, await as(app, R.contributor.token).post(`/v1/share-requests/${request.id}/approve`, {}), 404)
    problem(t, await as(app, O.reader.token).post(`/v1/share-requests/${request.id}/approve`, {}), 403)
    const approved = await as(app, O.contributor.token).post(`/v1/share-requests/${request.id}/approve`, {})
    t.equal(approved.statusCode, 200, approved.body)
    t.match(json(approved), { status: 'approved', decidedBy: O.contributor.id, decidedAt: String })
    t.match((await eventsOf(app, approved))[0], {
      action: 'share_request.approve',
      resourceId: request.id,
      details: { itemId: item.id, organisationId: F.org.id },
    })
    problem(t, await as(app, O.contributor.token).post(`/v1/share-requests/${request.id}/refuse`, { reason: 'changed my mind' }), 409)

    t.equal(await seen(F), 200, 'F sees it now')
    t.equal(await seen(N), 404, 'N still does not')
    const got = json<{ version: number }>(await as(app, O.reader.token).get(`/v1/${kind}/${item.id}`))
    t.equal(got.version, item.version + 1, 'the grant is a new version')

    // Row-level security, below the service: the same answer.
    const q = sql`select id from ${table(kind)} where id = ${item.id}`
    t.equal((await rowsAs(app, F.org, q)).length, 1, 'RLS: the granted organisation reads the row')
    t.equal((await rowsAs(app, N.org, q)).length, 0, 'RLS: another organisation does not')
    t.equal((await rowsAs(app, R.org, q)).length, 1, 'RLS: the group member still does')
    const [g] = await rowsAs<{ granted_to: string[] }>(app, O.org, sql`select granted_to from ${table(kind)} where id = ${item.id}`)
    t.same(g?.granted_to, [F.org.id])

    problem(t, await as(app, R.contributor.token).post(`/v1/${kind}/${item.id}/share-requests`, { organisationId: F.org.id, reason: 'again please' }), 409)
  })
}

t.test('refusal: a reason the requester sees; nothing granted', async (t) => {
  const item = await post('indicators')
  const request = json<SR>(
    await as(app, R.contributor.token).post(`/v1/indicators/${item.id}/share-requests`, { organisationId: N.org.id, reason: 'Border case' }),
  )
  problem(t, await as(app, O.contributor.token).post(`/v1/share-requests/${request.id}/refuse`, {}), 400, ['body.reason'])
  const refused = await as(app, O.contributor.token).post(`/v1/share-requests/${request.id}/refuse`, { reason: 'Source protection' })
  t.equal(refused.statusCode, 200, refused.body)
  t.match((await eventsOf(app, refused))[0], { action: 'share_request.refuse', details: { reason: 'Source protection' } })
  const mine = json<{ items: SR[] }>(await as(app, R.reader.token).get('/v1/share-requests?direction=outgoing&status=refused')).items.find(
    (r) => r.id === request.id,
  )
  t.match(mine, { status: 'refused', decisionReason: 'Source protection' })
  t.equal((await as(app, N.reader.token).get(`/v1/indicators/${item.id}`)).statusCode, 404)
  const again = await as(app, R.contributor.token).post(`/v1/indicators/${item.id}/share-requests`, { organisationId: N.org.id, reason: 'Asking again' })
  t.equal(again.statusCode, 201, 'after a refusal, a new request may be made')
})

t.test('the rules: who may ask, for whom, about what', async (t) => {
  const item = await post('indicators')
  const ask = (token: string, body: unknown, id = item.id) => as(app, token).post(`/v1/indicators/${id}/share-requests`, body)
  problem(t, await ask(N.contributor.token, { organisationId: F.org.id, reason: 'not mine to see' }), 404)
  problem(t, await ask(R.contributor.token, { organisationId: F.org.id, reason: 'ghost' }, randomUUID()), 404)
  problem(t, await ask(R.reader.token, { organisationId: F.org.id, reason: 'reader' }), 403)
  problem(t, await ask(O.contributor.token, { organisationId: F.org.id, reason: 'own item' }), 409)
  problem(t, await ask(R.contributor.token, { organisationId: R.org.id, reason: 'myself' }), 400, ['body.organisationId'])
  problem(t, await ask(R.contributor.token, { organisationId: O.org.id, reason: 'the owner' }), 400, ['body.organisationId'])
  problem(t, await ask(R.contributor.token, { organisationId: randomUUID(), reason: 'nobody' }), 400, ['body.organisationId'])
  problem(t, await ask(R.contributor.token, { organisationId: F.org.id }), 400, ['body.reason'])
  problem(t, await ask(R.contributor.token, { organisationId: F.org.id, reason: 'ok', extra: 1 }), 400)
  t.equal((await ask(R.contributor.token, { organisationId: F.org.id, reason: 'first' })).statusCode, 201)
  problem(t, await ask(R.org_admin.token, { organisationId: F.org.id, reason: 'second' }), 409, [])
  problem(t, await as(app, O.contributor.token).post(`/v1/share-requests/${randomUUID()}/approve`, {}), 404)
  problem(t, await as(app, undefined).get('/v1/share-requests'), 401)
  problem(t, await as(app, O.reader.token).get('/v1/share-requests?direction=sideways'), 400, ['query.direction'])
})
