// H1 consents (DESIGN §7): the owner's org_admin records which organisation may use an H1 item
// in judicial proceedings; an evidential (signed) export leaves out other organisations' H1 items
// without a consent for the requester and says how many (X-DCX-Withheld, and the audit event),
// never which. Unsigned exports and reads are unchanged. A consent is withdrawn, not deleted: the
// record stays, marked, and a new one may follow. Role × organisation for the operations.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { as, buildTestApp, json, orgWith, unique } from '../helper.js'
import { problem } from '../foundation/support.js'
import { eventsOf } from './support.js'

const app = await buildTestApp(t)
const owner = await orgWith(app, ['reader', 'contributor', 'org_admin'], { sector: 'police' })
const court = await orgWith(app, ['reader', 'contributor', 'org_admin'], { sector: 'prosecution' })
const third = await orgWith(app, ['reader', 'org_admin'], { sector: 'customs' })
const O = as(app, owner.org_admin.token)

const item = async (kind: 'indicators' | 'notes', code = 'H1', by = owner) => {
  const body =
    kind === 'indicators'
      ? { type: 'vendor_alias', value: unique('v'), distribution: 'community', tlp: 'green', handlingCode: code }
      : { title: unique('n'), summary: 's', body: 'b', topics: ['training'], distribution: 'community', tlp: 'green', handlingCode: code }
  const res = await as(app, by.contributor.token).post(`/v1/${kind}`, body)
  if (res.statusCode !== 201) throw new Error(res.body)
  return json<{ id: string }>(res).id
}

for (const kind of ['indicators', 'notes'] as const) {
  t.test(`${kind}: record and list; the rules`, async (t) => {
    const id = await item(kind)
    const res = await O.post(`/v1/${kind}/${id}/consents`, { organisationId: court.org.id, purpose: 'Proceedings 2026/117' })
    t.equal(res.statusCode, 201, res.body)
    const c = json(res)
    t.match(c, {
      id: String,
      itemKind: kind.slice(0, -1),
      itemId: id,
      organisationId: court.org.id,
      purpose: 'Proceedings 2026/117',
      createdBy: owner.org_admin.id,
    })
    const [event] = await eventsOf(app, res)
    t.match(event, { action: 'consent.create', resourceType: 'consent', resourceId: c.id, details: { itemId: id, organisationId: court.org.id } })
    t.same(
      json<{ items: { id: string }[] }>(await O.get(`/v1/${kind}/${id}/consents`)).items.map((x) => x.id),
      [c.id],
    )
    problem(t, await O.post(`/v1/${kind}/${id}/consents`, { organisationId: court.org.id, purpose: 'again' }), 409)
    problem(t, await O.post(`/v1/${kind}/${id}/consents`, { organisationId: owner.org.id, purpose: 'mine' }), 400, ['body.organisationId'])
    problem(t, await O.post(`/v1/${kind}/${id}/consents`, { organisationId: randomUUID(), purpose: 'ghost' }), 400, ['body.organisationId'])
    problem(t, await O.post(`/v1/${kind}/${id}/consents`, { organisationId: third.org.id, purpose: 'x' }), 400, ['body.purpose'])
    problem(t, await O.post(`/v1/${kind}/${id}/consents`, { organisationId: third.org.id }), 400, ['body.purpose'])
    const h0 = await item(kind, 'H0')
    problem(t, await O.post(`/v1/${kind}/${h0}/consents`, { organisationId: court.org.id, purpose: 'case' }), 409)
    problem(t, await O.post(`/v1/${kind}/${randomUUID()}/consents`, { organisationId: court.org.id, purpose: 'case' }), 404)
  })

  t.test(`${kind}: role × organisation`, async (t) => {
    const id = await item(kind)
    const body = () => ({ organisationId: third.org.id, purpose: `case ${randomUUID().slice(0, 6)}` })
    // Own organisation: org_admin only (403 names the role); another organisation: 404 whatever the role, it sees the item or not.
    for (const [who, token, post, get] of [
      ['owner reader', owner.reader.token, 403, 403],
      ['owner contributor', owner.contributor.token, 403, 403],
      ['other reader', court.reader.token, 403, 403],
      ['other contributor', court.contributor.token, 403, 403],
      ['other org_admin', court.org_admin.token, 404, 404],
      ['third org_admin', third.org_admin.token, 404, 404],
    ] as const) {
      const p = problem(t, await as(app, token).post(`/v1/${kind}/${id}/consents`, body()), post)
      if (post === 403) t.match(p.detail, /org_admin/, `${who}: the 403 names the role`)
      problem(t, await as(app, token).get(`/v1/${kind}/${id}/consents`), get)
    }
    t.equal((await O.post(`/v1/${kind}/${id}/consents`, body())).statusCode, 201, 'owner org_admin: 201')
    t.equal((await O.get(`/v1/${kind}/${id}/consents`)).statusCode, 200)
    problem(t, await as(app, undefined).get(`/v1/${kind}/${id}/consents`), 401)
  })
}

for (const kind of ['indicators', 'notes'] as const) {
  t.test(`${kind}: a consent is withdrawn, not deleted; then a new one may be given`, async (t) => {
    const id = await item(kind)
    const c = json<{ id: string }>(await O.post(`/v1/${kind}/${id}/consents`, { organisationId: court.org.id, purpose: 'Proceedings 2026/120' }))
    const res = await O.post(`/v1/${kind}/${id}/consents/${c.id}/withdraw`, { reason: 'proceedings closed' })
    t.equal(res.statusCode, 200, res.body)
    t.match(json(res), {
      id: c.id,
      withdrawnAt: String,
      withdrawnBy: owner.org_admin.id,
      withdrawalReason: 'proceedings closed',
      purpose: 'Proceedings 2026/120',
    })
    const [event] = await eventsOf(app, res)
    t.match(event, { action: 'consent.withdraw', resourceType: 'consent', resourceId: c.id, details: { itemId: id, organisationId: court.org.id } })
    problem(t, await O.post(`/v1/${kind}/${id}/consents/${c.id}/withdraw`, { reason: 'again' }), 409)
    problem(t, await O.post(`/v1/${kind}/${id}/consents/${c.id}/withdraw`, {}), 400, ['body.reason'])
    problem(t, await O.post(`/v1/${kind}/${id}/consents/${randomUUID()}/withdraw`, { reason: 'no such' }), 404)
    // The consent of another item, named through this one: not found here.
    const otherItem = await item(kind)
    const o = json<{ id: string }>(await O.post(`/v1/${kind}/${otherItem}/consents`, { organisationId: court.org.id, purpose: 'case' }))
    problem(t, await O.post(`/v1/${kind}/${id}/consents/${o.id}/withdraw`, { reason: 'wrong item' }), 404)
    const again = await O.post(`/v1/${kind}/${id}/consents`, { organisationId: court.org.id, purpose: 'Proceedings 2027/3' })
    t.equal(again.statusCode, 201, 'a new consent after the withdrawal')
    const listed = json<{ items: { id: string; withdrawnAt: string | null }[] }>(await O.get(`/v1/${kind}/${id}/consents`)).items
    t.same(
      listed.map((x) => [x.id, x.withdrawnAt !== null]),
      [
        [c.id, true],
        [json<{ id: string }>(again).id, false],
      ],
      'both listed: the withdrawn one marked',
    )
  })

  t.test(`${kind}: withdrawal, role × organisation`, async (t) => {
    const id = await item(kind)
    const c = json<{ id: string }>(await O.post(`/v1/${kind}/${id}/consents`, { organisationId: third.org.id, purpose: 'case 7' }))
    const url = `/v1/${kind}/${id}/consents/${c.id}/withdraw`
    for (const [who, token, want] of [
      ['owner reader', owner.reader.token, 403],
      ['owner contributor', owner.contributor.token, 403],
      ['other org_admin', court.org_admin.token, 404],
      ['the consented organisation’s org_admin', third.org_admin.token, 404],
    ] as const) {
      const p = problem(t, await as(app, token).post(url, { reason: 'not mine' }), want)
      if (want === 403) t.match(p.detail, /org_admin/, `${who}: the 403 names the role`)
    }
    problem(t, await as(app, undefined).post(url, { reason: 'anonymous' }), 401)
    t.equal((await O.post(url, { reason: 'owner org_admin' })).statusCode, 200)
  })
}

t.test('evidential export: other organisations’ H1 items only with consent; counted, not named', async (t) => {
  // An owner of its own, so the counts are this test's.
  const provider = await orgWith(app, ['reader', 'contributor', 'org_admin'], { sector: 'police' })
  const P = as(app, provider.org_admin.token)
  const consented = await item('indicators', 'H1', provider)
  const withheld = await item('indicators', 'H1', provider)
  const withheldNote = await item('notes', 'H1', provider)
  const h2 = await item('indicators', 'H2', provider)
  const consentedNote = await item('notes', 'H1', provider)
  for (const [kind, id] of [
    ['indicators', consented],
    ['notes', consentedNote],
  ] as const) {
    const r = await P.post(`/v1/${kind}/${id}/consents`, { organisationId: court.org.id, purpose: 'Proceedings 2026/118' })
    t.equal(r.statusCode, 201, r.body)
  }
  const url = `/v1/export/stix?organisationId=${provider.org.id}`
  const ids = (body: string) => new Set((JSON.parse(body) as { objects: { id: string }[] }).objects.map((o) => o.id))

  const signed = await as(app, court.reader.token).get(`${url}&signed=true`)
  t.equal(signed.statusCode, 200)
  const got = ids(signed.body)
  t.ok(got.has(`indicator--${consented}`), 'the consented H1 indicator is in')
  t.ok(got.has(`report--${consentedNote}`), 'the consented H1 note is in')
  t.ok(got.has(`indicator--${h2}`), 'other codes are in')
  t.notOk(got.has(`indicator--${withheld}`), 'an H1 indicator without consent is out')
  t.notOk(got.has(`report--${withheldNote}`), 'an H1 note without consent is out')
  t.notOk(signed.body.includes(withheld) || signed.body.includes(withheldNote), 'not named anywhere in the bundle')
  t.equal(signed.headers['x-dcx-withheld'], '2', 'says how many it left out')
  const [event] = await eventsOf(app, signed)
  t.match(event, { action: 'stix.export', details: { signed: true, withheld: 2 } })

  const plain = ids((await as(app, court.reader.token).get(url)).body)
  t.ok(plain.has(`indicator--${withheld}`), 'an unsigned export is not evidential: the item is there')
  const third_ = await as(app, third.reader.token).get(`${url}&signed=true`)
  t.equal(third_.headers['x-dcx-withheld'], '4', 'an organisation with no consents: every H1 item out')
  const own = await as(app, provider.reader.token).get(`${url}&signed=true`)
  t.equal(own.headers['x-dcx-withheld'], '0', 'the owner’s own H1 items are never withheld from it')
  t.ok(ids(own.body).has(`indicator--${withheld}`))
})

t.test('evidential export: a withdrawn consent no longer lets the item in', async (t) => {
  const provider = await orgWith(app, ['reader', 'contributor', 'org_admin'], { sector: 'police' })
  const P = as(app, provider.org_admin.token)
  const id = await item('indicators', 'H1', provider)
  const c = json<{ id: string }>(await P.post(`/v1/indicators/${id}/consents`, { organisationId: court.org.id, purpose: 'Proceedings 2026/121' }))
  const url = `/v1/export/stix?organisationId=${provider.org.id}&signed=true`
  const has = async () => (await as(app, court.reader.token).get(url)).body.includes(`indicator--${id}`)
  t.ok(await has(), 'consented: in')
  t.equal((await P.post(`/v1/indicators/${id}/consents/${c.id}/withdraw`, { reason: 'proceedings closed' })).statusCode, 200)
  t.notOk(await has(), 'withdrawn: out')
})
