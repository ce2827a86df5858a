// The audit contract: every token request, protected read, write, refusal and admin action leaves an event
// with the right fields. Events are looked up by the response's x-request-id, so rows written by
// parallel test files on a shared PostgreSQL never matter.
import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { sql } from 'drizzle-orm'
import { rows } from '../../src/db/client.js'
import { toEvent, type AuditEvent } from '../../src/modules/audit/audit.service.js'
import { as, buildTestApp, createAccount, createOrg, json, orgWith, unique } from '../helper.js'

// Two apps (and databases) in this file: on a loaded machine it may need more than the
// default two minutes. A limit on the run, not an assertion on timing.
t.setTimeout(300_000)

const UA = `dcx-audit-test/${randomUUID()}`

/** The events one response caused (normally exactly one). */
async function eventsOf(app: FastifyInstance, res: LightMyRequestResponse): Promise<AuditEvent[]> {
  const rid = res.headers['x-request-id'] as string
  const rs = await rows<Record<string, unknown>>(app.db, sql`select * from audit_events where request_id = ${rid} order by id`)
  return rs.map(toEvent)
}

async function eventOf(t: Test, app: FastifyInstance, res: LightMyRequestResponse): Promise<AuditEvent> {
  const evs = await eventsOf(app, res)
  t.equal(evs.length, 1, `one event for ${res.headers['x-request-id']}`)
  return evs[0] as AuditEvent
}

const ua = { 'user-agent': UA }

// One app for the file (events are found by request id); the rate-limit case adds one with a tiny limit.
const app = await buildTestApp(t)

t.test('token requests: issued and refused, with the client id tried', async (t) => {
  const { org, reader } = await orgWith(app, ['reader'])
  const form = (body: string) =>
    app.inject({ method: 'POST', url: '/v1/auth/token', headers: { ...ua, 'content-type': 'application/x-www-form-urlencoded' }, payload: body })

  const ok = await form(`grant_type=client_credentials&client_id=${reader.clientId}&client_secret=${reader.clientSecret}`)
  t.equal(ok.statusCode, 200)
  const e = await eventOf(t, app, ok)
  t.match(e, {
    action: 'auth.token.issue',
    resourceType: 'token',
    outcome: 'ok',
    status: 200,
    clientId: reader.clientId,
    accountId: reader.id,
    organisationId: org.id,
    requestId: ok.headers['x-request-id'],
    userAgent: UA,
    clientAddress: '127.0.0.1',
  })
  t.ok(Math.abs(Date.parse(e.time) - Date.now()) < 10 * 60_000, 'time is now-ish')

  const wrong = await form(`grant_type=client_credentials&client_id=${reader.clientId}&client_secret=not-the-secret`)
  t.equal(wrong.statusCode, 401)
  t.match(await eventOf(t, app, wrong), { action: 'auth.token.issue', outcome: 'denied', status: 401, clientId: reader.clientId, accountId: null })

  const nobody = `nobody-${randomUUID()}`
  const unknown = await form(`grant_type=client_credentials&client_id=${nobody}&client_secret=x`)
  t.equal(unknown.statusCode, 401)
  t.match(await eventOf(t, app, unknown), {
    action: 'auth.token.issue',
    outcome: 'denied',
    status: 401,
    clientId: nobody,
    accountId: null,
    organisationId: null,
  })

  const malformed = await form('grant_type=password')
  t.equal(malformed.statusCode, 400)
  t.match(await eventOf(t, app, malformed), { action: 'auth.token.issue', outcome: 'denied', status: 400 })

  // A client-chosen request id is kept and is the one on the event.
  const rid = `partner-${randomUUID()}`
  const mine = await app.inject({ method: 'GET', url: '/v1/me', headers: { ...ua, 'x-request-id': rid, authorization: `Bearer ${reader.token}` } })
  t.equal(mine.headers['x-request-id'], rid)
  t.match(await eventOf(t, app, mine), { requestId: rid, action: 'account.me.read', outcome: 'ok', accountId: reader.id })
})

t.test('reads of protected data: get, list, search, match — with the query and counts', async (t) => {
  const owner = await orgWith(app, ['contributor'], { sector: 'customs' })
  const viewer = await orgWith(app, ['reader'], { sector: 'police' })
  const C = as(app, owner.contributor.token)
  const R = as(app, viewer.reader.token)
  const word = `zq${randomUUID().slice(0, 8)}`
  const domain = `${word}.example`
  const created = await C.post('/v1/indicators', { type: 'domain', value: domain, distribution: 'community', tlp: 'green', description: `shop ${word}` })
  t.equal(created.statusCode, 201, created.body)
  const id = json<{ id: string }>(created).id

  const get = await R.get(`/v1/indicators/${id}`, ua)
  t.equal(get.statusCode, 200)
  t.match(await eventOf(t, app, get), {
    action: 'indicator.read',
    resourceType: 'indicator',
    resourceId: id,
    outcome: 'ok',
    accountId: viewer.reader.id,
    organisationId: viewer.org.id,
    clientId: viewer.reader.clientId,
    userAgent: UA,
  })

  const list = await R.get(`/v1/indicators?type=domain&value=${domain}&limit=7`)
  t.equal(json<{ items: unknown[] }>(list).items.length, 1)
  t.match(await eventOf(t, app, list), {
    action: 'indicator.list',
    outcome: 'ok',
    details: { filters: { type: 'domain', value: domain }, limit: 7, returned: 1 },
  })

  const search = await R.get(`/v1/indicators?q=${word}`)
  t.equal(search.statusCode, 200)
  t.match(await eventOf(t, app, search), { action: 'indicator.list', details: { filters: { q: word }, returned: 1 } })

  const none = await R.get(`/v1/indicators?q=${word}nothing`)
  t.match(await eventOf(t, app, none), { details: { filters: { q: `${word}nothing` }, returned: 0 } })

  const match = await R.post('/v1/indicators/match', { values: [{ value: domain }, { type: 'email', value: `${word}@example.org` }] })
  t.equal(match.statusCode, 200, match.body)
  const m = await eventOf(t, app, match)
  t.match(m, { action: 'indicator.match', resourceType: 'indicator', outcome: 'ok', details: { count: 2, matches: 1, matchedValues: 1 } })
  t.same(
    (m.details?.values as { value: string }[]).map((v) => v.value),
    [domain, `${word}@example.org`],
    'the values screened are kept',
  )
})

t.test('writes record what changed', async (t) => {
  const { contributor } = await orgWith(app, ['contributor'])
  const C = as(app, contributor.token)
  const created = await C.post('/v1/indicators', { type: 'domain', value: `${unique('w')}.example`, distribution: 'community', tlp: 'green' })
  const id = json<{ id: string }>(created).id
  t.match(await eventOf(t, app, created), {
    action: 'indicator.create',
    resourceType: 'indicator',
    resourceId: id,
    outcome: 'ok',
    accountId: contributor.id,
    details: { type: 'domain', tlp: 'green', distribution: 'community' },
  })
  const patched = await C.patch(`/v1/indicators/${id}`, { confidence: 80, tags: ['audit'] })
  t.equal(patched.statusCode, 200, patched.body)
  const p = await eventOf(t, app, patched)
  t.match(p, { action: 'indicator.update', resourceId: id, outcome: 'ok', details: { version: 2 } })
  t.same([...(p.details?.changed as string[])].sort(), ['confidence', 'tags'])
  const sighting = await C.post(`/v1/indicators/${id}/sightings`, { seenAt: new Date().toISOString(), outcome: 'seen', count: 3 })
  t.equal(sighting.statusCode, 201, sighting.body)
  t.match(await eventOf(t, app, sighting), { action: 'sighting.create', resourceType: 'sighting', outcome: 'ok', details: { indicatorId: id, count: 3 } })
  const revoked = await C.delete(`/v1/indicators/${id}`)
  t.equal(revoked.statusCode, 200, revoked.body)
  t.match(await eventOf(t, app, revoked), { action: 'indicator.revoke', resourceId: id, details: { changed: ['status'] } })
})

t.test('refusals: 401, 403, 404 on a hidden item, 429 — outcome denied with the status', async (t) => {
  const owner = await orgWith(app, ['contributor'])
  const other = await orgWith(app, ['reader'])
  const hidden = json<{ id: string }>(
    await as(app, owner.contributor.token).post('/v1/indicators', { type: 'domain', value: `${unique('h')}.example`, distribution: 'organisation' }),
  )

  const noToken = await as(app, undefined).get(`/v1/indicators/${hidden.id}`, ua)
  t.equal(noToken.statusCode, 401)
  t.match(await eventOf(t, app, noToken), { action: 'indicator.read', resourceId: hidden.id, outcome: 'denied', status: 401, accountId: null, userAgent: UA })

  const badToken = await as(app, 'e30.e30.e30').get('/v1/indicators')
  t.equal(badToken.statusCode, 401)
  t.match(await eventOf(t, app, badToken), { action: 'indicator.list', outcome: 'denied', status: 401 })

  const forbidden = await as(app, other.reader.token).post('/v1/indicators', { type: 'domain', value: `${unique('f')}.example` })
  t.equal(forbidden.statusCode, 403)
  t.match(await eventOf(t, app, forbidden), {
    action: 'indicator.create',
    outcome: 'denied',
    status: 403,
    accountId: other.reader.id,
    organisationId: other.org.id,
  })

  const notVisible = await as(app, other.reader.token).get(`/v1/indicators/${hidden.id}`)
  t.equal(notVisible.statusCode, 404)
  t.match(await eventOf(t, app, notVisible), {
    action: 'indicator.read',
    resourceType: 'indicator',
    resourceId: hidden.id,
    outcome: 'denied',
    status: 404,
    accountId: other.reader.id,
  })

  const badInput = await as(app, owner.contributor.token).get('/v1/indicators?limit=0')
  t.equal(badInput.statusCode, 400)
  t.match(await eventOf(t, app, badInput), { action: 'indicator.list', outcome: 'denied', status: 400 })

  // A second app with a tiny per-account limit (same database on PostgreSQL; its own on PGlite).
  const limited = await buildTestApp(t, { DCX_RATE_LIMIT_PER_MINUTE: '2' })
  const acct = (await orgWith(limited, ['reader'])).reader
  const results: LightMyRequestResponse[] = []
  for (let i = 0; i < 4; i++) results.push(await as(limited, acct.token).get('/v1/me'))
  const tooMany = results.find((r) => r.statusCode === 429)
  t.ok(tooMany, 'the limit is reached')
  if (tooMany) t.match(await eventOf(t, limited, tooMany), { action: 'account.me.read', outcome: 'denied', status: 429, accountId: acct.id })
})

t.test('admin actions: organisation create and suspend, account create, patch, secret rotation', async (t) => {
  const home = await createOrg(app)
  const admin = await createAccount(app, home.id, ['platform_admin'])
  const A = as(app, admin.token)
  const mine = { accountId: admin.id, organisationId: home.id, outcome: 'ok' }

  const org = await A.post('/v1/organisations', { name: unique('Audit Org'), sector: 'police', country: 'NL', contact: { email: 'desk@example.org' } })
  t.equal(org.statusCode, 201, org.body)
  const orgId = json<{ id: string }>(org).id
  t.match(await eventOf(t, app, org), { ...mine, action: 'organisation.create', resourceType: 'organisation', resourceId: orgId })

  const acct = await A.post(`/v1/organisations/${orgId}/accounts`, { name: 'desk', roles: ['reader'] })
  t.equal(acct.statusCode, 201, acct.body)
  const acctId = json<{ id: string }>(acct).id
  t.match(await eventOf(t, app, acct), { ...mine, action: 'account.create', resourceType: 'account', resourceId: acctId })

  const patch = await A.patch(`/v1/accounts/${acctId}`, { name: 'desk 2' })
  t.equal(patch.statusCode, 200, patch.body)
  t.match(await eventOf(t, app, patch), { ...mine, action: 'account.update', resourceType: 'account', resourceId: acctId })

  const rotate = await A.post(`/v1/accounts/${acctId}/secret`)
  t.equal(rotate.statusCode, 200, rotate.body)
  t.match(await eventOf(t, app, rotate), { ...mine, action: 'account.secret.rotate', resourceType: 'account', resourceId: acctId })

  const suspend = await A.patch(`/v1/organisations/${orgId}`, { status: 'suspended' })
  t.equal(suspend.statusCode, 200, suspend.body)
  t.match(await eventOf(t, app, suspend), { ...mine, action: 'organisation.update', resourceType: 'organisation', resourceId: orgId })

  const refused = await as(app, (await orgWith(app, ['org_admin'])).org_admin.token).post('/v1/organisations', {
    name: unique('Nope'),
    sector: 'police',
    country: 'NL',
    contact: { email: 'x@example.org' },
  })
  t.equal(refused.statusCode, 403)
  t.match(await eventOf(t, app, refused), { action: 'organisation.create', outcome: 'denied', status: 403 })

  // What changed: a list of field names, or the fields with their new values.
  const changed = (e: AuditEvent) => {
    const c = e.details?.changed
    return Array.isArray(c) ? c : Object.keys((c ?? {}) as object)
  }
  t.same(changed(await eventOf(t, app, patch)), ['name'], 'updateAccount says what changed')
  t.same(changed(await eventOf(t, app, suspend)), ['status'], 'updateOrganisation says what changed')
  t.same(changed(await eventOf(t, app, rotate)), ['secret'], 'rotation says the secret changed (not what it is)')
})
