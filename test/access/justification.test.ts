// Justification (DESIGN §7): every consultation of personal data carries a DCX-Justification
// header or the account's defaultJustification; without either it is a 428 with no data in the
// body, and the justification used is recorded in the request's audit event.
import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { sql } from 'drizzle-orm'
import { rows } from '../../src/db/client.js'
import { as, buildTestApp, createAccount, createOrg, isProblem, json } from '../helper.js'
import { postIndicator, word } from '../exchange/fixtures.js'
import { taxii } from '../interop/support.js'
import { COMMUNITY_COLLECTION } from '../../src/modules/taxii/taxii.collections.js'

const HEADER = 'dcx-justification'

async function eventOf(app: FastifyInstance, res: LightMyRequestResponse) {
  const rid = res.headers['x-request-id'] as string
  const rs = await rows<{ outcome: string; status: string; details: Record<string, unknown> }>(
    app.db,
    sql`select outcome, status, details from audit_events where request_id = ${rid} order by id`,
  )
  return rs
}

/** A 428 naming the header, and nothing of the data in its body. */
function refused(t: Test, res: LightMyRequestResponse, secrets: string[]) {
  const body = isProblem(t, res, 428)
  t.match(body.detail, /DCX-Justification/, 'the detail names the header')
  t.same(
    body.errors?.map((e) => e.name),
    ['header.dcx-justification'],
    'the field is the header',
  )
  for (const s of secrets) t.notOk(res.body.includes(s), `no ${s} in the body`)
}

t.test('justification', async (t) => {
  const app = await buildTestApp(t)
  const org = await createOrg(app)
  // Four-eyes is not what this file tests: the owner's items are published directly.
  const owner = await app.database.asOwner((q) => q(sql`update organisations set four_eyes = false where id = ${org.id} returning id`))
  t.equal(owner.length, 1)
  const contributor = await createAccount(app, org.id, ['contributor'])
  const reader = await createAccount(app, org.id, ['reader'], { defaultJustification: null })
  const admin = await createAccount(app, org.id, ['org_admin'])
  const email = `${word('suspect')}@example.org`
  const personal = await postIndicator(app, contributor.token, { type: 'email', value: email, tlp: 'amber', distribution: 'organisation' })
  const alias = word('vendor')
  const other = await postIndicator(app, contributor.token, { type: 'vendor_alias', value: alias, tlp: 'amber', distribution: 'organisation' })
  const r = as(app, reader.token)

  t.test('a reader with neither header nor default gets 428 on every consultation, and no data', async (t) => {
    refused(t, await r.get(`/v1/indicators/${personal.id}`), [email, personal.id.slice(0, 8) + 'x'])
    refused(t, await r.get(`/v1/indicators?type=email`), [email])
    refused(t, await r.get(`/v1/indicators?organisationId=${org.id}`), [email])
    refused(t, await r.post('/v1/indicators/match', { values: [{ type: 'email', value: email }] }), [email])
    // An untyped value that is a valid email address is screened against personal data.
    refused(t, await r.post('/v1/indicators/match', { values: [{ value: email }] }), [email])
    // The feed holds only what committed below every running transaction (on a shared PostgreSQL
    // another file's may hold it back a moment): wait until the item is there.
    for (let i = 0; i < 200 && !(await r.get('/v1/changes?limit=1000', { [HEADER]: 'Case 7' })).body.includes(email); i++)
      await new Promise((r) => setTimeout(r, 50))
    refused(t, await r.get('/v1/changes?limit=1000'), [email])
    refused(t, await r.get('/v1/export/stix'), [email])
    refused(t, await r.get('/v1/export/stix?type=email'), [email])
  })

  t.test('the refusal is audited as denied (428), not as a read', async (t) => {
    const res = await r.get(`/v1/indicators/${personal.id}`)
    const evs = await eventOf(app, res)
    t.equal(evs.length, 1)
    t.match(evs[0], { outcome: 'denied' })
    t.equal(Number(evs[0]?.status), 428)
  })

  t.test('consultations of other data need nothing', async (t) => {
    const got = await r.get(`/v1/indicators/${other.id}`)
    t.equal(got.statusCode, 200, got.body)
    t.equal((await r.get(`/v1/indicators?type=vendor_alias`)).statusCode, 200)
    const m = await r.post('/v1/indicators/match', { values: [{ type: 'vendor_alias', value: alias }] })
    t.equal(m.statusCode, 200, m.body)
    t.equal(json<{ results: { matches: unknown[] }[] }>(m).results[0]?.matches.length, 1)
    t.equal((await r.get('/v1/export/stix?type=vendor_alias')).statusCode, 200)
  })

  t.test('the header justifies, and is recorded in the event', async (t) => {
    const why = 'Case 2026/4711 — Müller'
    const res = await r.get(`/v1/indicators/${personal.id}`, { [HEADER]: Buffer.from(why, 'utf8').toString('latin1') })
    t.equal(res.statusCode, 200, res.body)
    t.equal(json(res).value, email)
    const evs = await eventOf(app, res)
    t.match(evs, [{ outcome: 'ok', details: { justification: why } }])
    const list = await r.get(`/v1/indicators?type=email`, { [HEADER]: 'case 1' })
    t.equal(list.statusCode, 200)
    t.match(await eventOf(app, list), [{ outcome: 'ok', details: { justification: 'case 1' } }])
    const m = await r.post('/v1/indicators/match', { values: [{ type: 'email', value: email }] }, { [HEADER]: 'case 2' })
    t.equal(m.statusCode, 200)
    t.match(await eventOf(app, m), [{ details: { justification: 'case 2', matches: 1 } }])
    t.equal((await r.get('/v1/changes?limit=1000', { [HEADER]: 'case 3' })).statusCode, 200)
    t.equal((await r.get('/v1/export/stix', { [HEADER]: 'case 4' })).statusCode, 200)
  })

  t.test('a bad header is a 400 naming it, even where no personal data is read', async (t) => {
    for (const bad of ['ab', 'x'.repeat(201), 'case\u0007 1', ' padded ']) {
      for (const url of [`/v1/indicators/${personal.id}`, `/v1/indicators/${other.id}`]) {
        const body = isProblem(t, await r.get(url, { [HEADER]: bad }), 400)
        t.same(
          body.errors?.map((e) => e.name),
          ['header.dcx-justification'],
        )
      }
    }
  })

  t.test('a partner system with a default screens without the header', async (t) => {
    const partner = await createAccount(app, org.id, ['reader'], { defaultJustification: null })
    const p = as(app, partner.token)
    refused(t, await p.post('/v1/indicators/match', { values: [{ type: 'email', value: email }] }), [email])
    // Its org admin sets the default once (and it shows in the account and in /v1/me).
    const set = await as(app, admin.token).patch(`/v1/accounts/${partner.id}`, { defaultJustification: 'Automated border screening (ZollVG §10)' })
    t.equal(set.statusCode, 200, set.body)
    t.equal(json(set).defaultJustification, 'Automated border screening (ZollVG §10)')
    app.forgetActor()
    t.equal(
      json(await p.get('/v1/me')).account && (json(await p.get('/v1/me')).account as { defaultJustification: string }).defaultJustification,
      'Automated border screening (ZollVG §10)',
    )
    const m = await p.post('/v1/indicators/match', { values: [{ type: 'email', value: email }] })
    t.equal(m.statusCode, 200, m.body)
    t.equal(json<{ results: { matches: unknown[] }[] }>(m).results[0]?.matches.length, 1)
    t.match(await eventOf(app, m), [{ outcome: 'ok', details: { justification: 'Automated border screening (ZollVG §10)' } }])
    // A header given anyway wins over the default.
    const h = await p.post('/v1/indicators/match', { values: [{ type: 'email', value: email }] }, { [HEADER]: 'Case 99' })
    t.match(await eventOf(app, h), [{ details: { justification: 'Case 99' } }])
    // The default is validated like the header; null clears it.
    for (const bad of ['ab', 'x'.repeat(201), 'line\nbreak']) {
      const body = isProblem(t, await as(app, admin.token).patch(`/v1/accounts/${partner.id}`, { defaultJustification: bad }), 400)
      t.match(JSON.stringify(body.errors), /defaultJustification/)
    }
    const cleared = await as(app, admin.token).patch(`/v1/accounts/${partner.id}`, { defaultJustification: null })
    t.equal(json(cleared).defaultJustification, null)
    app.forgetActor()
    refused(t, await p.post('/v1/indicators/match', { values: [{ type: 'email', value: email }] }), [email])
  })

  t.test('an account created with a default; only who may act on the account sets it', async (t) => {
    const created = await as(app, admin.token).post(`/v1/organisations/${org.id}/accounts`, {
      name: word('screening'),
      roles: ['reader'],
      defaultJustification: 'Automated screening',
    })
    t.equal(created.statusCode, 201, created.body)
    t.equal(json(created).defaultJustification, 'Automated screening')
    // A reader may not act on accounts, its own included.
    const own = await r.patch(`/v1/accounts/${reader.id}`, { defaultJustification: 'I say so' })
    t.equal(own.statusCode, 403, own.body)
  })

  t.test('TAXII pages and objects holding personal data need one too', async (t) => {
    const shared = `${word('taxii')}@example.org`
    const ind = await postIndicator(app, contributor.token, { type: 'email', value: shared, tlp: 'green', distribution: 'community' })
    const coll = `/taxii2/dcx/collections/${COMMUNITY_COLLECTION}/objects`
    const X = taxii(app, reader.token)
    for (const url of [`${coll}/?match[id]=indicator--${ind.id}`, `${coll}/indicator--${ind.id}/`]) {
      // A page holds only what committed below every running transaction (on a shared
      // PostgreSQL another file's may hold it back a moment): wait until the object is there.
      for (let i = 0; i < 200 && !(await X.get(url, { [HEADER]: 'Case 7' })).body.includes(shared); i++) await new Promise((r) => setTimeout(r, 50))
      const res = await X.get(url)
      t.equal(res.statusCode, 428, `${url}: ${res.body.slice(0, 200)}`)
      t.notOk(res.body.includes(shared), 'no data in the body')
      const ok = await X.get(url, { [HEADER]: 'Case 7' })
      t.equal(ok.statusCode, 200)
      t.ok(ok.body.includes(shared))
    }
  })

  t.test('every audit export needs one', async (t) => {
    const { auditor } = { auditor: await createAccount(app, org.id, ['auditor'], { defaultJustification: null }) }
    const a = as(app, auditor.token)
    refused(t, await a.get('/v1/audit/export?format=csv'), [])
    refused(t, await a.get('/v1/audit/export'), [])
    const ok = await a.get(`/v1/audit/export?organisationId=${org.id}`, { [HEADER]: 'DPO review 2026-12' })
    t.equal(ok.statusCode, 200, ok.body.slice(0, 200))
    t.match(await eventOf(app, ok), [{ details: { justification: 'DPO review 2026-12' } }])
  })
})
