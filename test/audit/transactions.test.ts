// A write and its audit event commit together; a read whose event cannot be written fails closed.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { sql } from 'drizzle-orm'
import { rows } from '../../src/db/client.js'
import { as, buildTestApp, createAccount, createOrg, isProblem, json, orgWith, unique } from '../helper.js'
import { owner, privateApp } from './private-db.js'

// Several apps (and databases) per file: on a loaded machine this file may need more than the
// default two minutes. A limit on the run, not an assertion on timing.
t.setTimeout(300_000)

async function eventsOf(app: FastifyInstance, res: LightMyRequestResponse) {
  return rows<{ outcome: string; status: number | null; action: string }>(
    app.db,
    sql`select outcome, status, action from audit_events where request_id = ${res.headers['x-request-id'] as string}`,
  )
}

async function countWhere(app: FastifyInstance, table: string, column: string, value: string) {
  const [r] = await owner(app, `select count(*)::int as n from ${table} where ${column} = '${value.replaceAll("'", "''")}'`)
  return Number(r?.n)
}

t.test('a failed write leaves no row and no ok event', async (t) => {
  const app = await buildTestApp(t)
  const { contributor } = await orgWith(app, ['contributor'])
  const C = as(app, contributor.token)

  const value = `${unique('bad')}.example`
  const invalid = await C.post('/v1/indicators', { type: 'domain', value, distribution: 'community', nonsense: true })
  isProblem(t, invalid, 400)
  t.same(await eventsOf(app, invalid), [{ outcome: 'denied', status: 400, action: 'indicator.create' }], 'one denied event, no ok event')
  t.equal(await countWhere(app, 'indicators', 'value', value), 0, 'no indicator row')

  // Red may only go to the organisation or a group: refused inside the service, after validation.
  const red = await C.post('/v1/indicators', { type: 'domain', value, distribution: 'community', tlp: 'red' })
  t.ok(red.statusCode === 400 || red.statusCode === 422, `refused: ${red.statusCode}`)
  t.notOk(
    (await eventsOf(app, red)).some((e) => e.outcome === 'ok'),
    'no ok event',
  )
  t.equal(await countWhere(app, 'indicators', 'value', value), 0, 'no indicator row')

  const missing = randomUUID()
  const patch = await C.patch(`/v1/indicators/${missing}`, { confidence: 10 })
  isProblem(t, patch, 404)
  t.same(await eventsOf(app, patch), [{ outcome: 'denied', status: 404, action: 'indicator.update' }])

  const ok = await C.post('/v1/indicators', { type: 'domain', value, distribution: 'community', tlp: 'green' })
  t.equal(ok.statusCode, 201)
  const okEvents = await eventsOf(app, ok)
  t.equal(okEvents.length, 1, 'the write and its event, once')
  t.match(okEvents[0], { outcome: 'ok', action: 'indicator.create' })
  t.equal(await countWhere(app, 'indicators', 'value', value), 1)
})

t.test('when the event cannot be written: reads fail closed, writes roll back', async (t) => {
  const app = await privateApp(t)
  const ownerOrg = await orgWith(app, ['contributor'], { sector: 'police' })
  const viewer = await orgWith(app, ['reader'], { sector: 'customs' })
  const home = await createOrg(app)
  const admin = await createAccount(app, home.id, ['platform_admin'])
  const secretWord = `zq${randomUUID().slice(0, 8)}`
  const created = await as(app, ownerOrg.contributor.token).post('/v1/indicators', {
    type: 'domain',
    value: `${secretWord}.example`,
    description: `confidential ${secretWord}`,
    distribution: 'community',
    tlp: 'green',
  })
  t.equal(created.statusCode, 201, created.body)
  const id = json<{ id: string }>(created).id
  const R = as(app, viewer.reader.token)
  t.equal((await R.get(`/v1/indicators/${id}`)).statusCode, 200, 'readable while the audit log works')

  await owner(app, 'REVOKE INSERT ON audit_events FROM dcx_app')
  let restored = false
  const restore = async () => {
    if (!restored) await owner(app, 'GRANT INSERT ON audit_events TO dcx_app')
    restored = true
  }
  t.teardown(restore)

  const noData = (res: LightMyRequestResponse, what: string) => {
    t.ok(res.statusCode >= 500 && res.statusCode < 600, `${what}: 5xx (${res.statusCode})`)
    t.match(res.headers['content-type'], /^application\/problem\+json/, `${what}: problem+json`)
    t.notOk(res.body.includes(secretWord), `${what}: no indicator data in the body`)
  }
  const get = await R.get(`/v1/indicators/${id}`)
  noData(get, 'get')
  t.notOk(get.body.includes('"value"'), 'get: no value field')
  noData(await R.get(`/v1/indicators?q=${secretWord}`), 'search')
  noData(await R.get('/v1/indicators'), 'list')
  noData(await R.post('/v1/indicators/match', { values: [{ value: `${secretWord}.example` }] }), 'match')
  noData(await R.get(`/v1/organisations/${ownerOrg.org.id}`), 'directory read (onSend path)')
  noData(await R.get('/v1/me'), 'me (onSend path)')

  const token = await as(app, undefined).post('/v1/auth/token', {
    grant_type: 'client_credentials',
    client_id: viewer.reader.clientId,
    client_secret: viewer.reader.clientSecret,
  })
  t.equal(token.statusCode, 500, 'no token is handed out unaudited')
  t.notOk(token.body.includes('access_token'), 'no access token in the body')

  // A write whose event fails is rolled back with it.
  const value = `${unique('rolled-back')}.example`
  const write = await as(app, ownerOrg.contributor.token).post('/v1/indicators', { type: 'domain', value, distribution: 'community', tlp: 'green' })
  t.equal(write.statusCode, 500, write.body)
  t.equal(await countWhere(app, 'indicators', 'value', value), 0, 'the indicator was not stored')

  const patch = await as(app, ownerOrg.contributor.token).patch(`/v1/indicators/${id}`, { confidence: 1 })
  t.equal(patch.statusCode, 500)
  const [row] = await owner(app, `select confidence, version from indicators where id = '${id}'`)
  t.match(row, { version: 1 }, 'the update was rolled back')
  t.not(Number(row?.confidence), 1)

  // Admin writes too (they run in ctx.tx since 33cba80).
  const name = unique('unaudited account')
  const acct = await as(app, admin.token).post(`/v1/organisations/${home.id}/accounts`, { name, roles: ['reader'] })
  t.equal(acct.statusCode, 500, 'account creation fails without its event')
  t.notOk(acct.body.includes('clientSecret'), 'no secret handed out')
  const suspend = await as(app, admin.token).patch(`/v1/organisations/${viewer.org.id}`, { status: 'suspended' })
  t.equal(suspend.statusCode, 500)
  const [org] = await owner(app, `select status from organisations where id = '${viewer.org.id}'`)
  t.equal(org?.status, 'active', 'and no organisation was suspended')
  t.equal(await countWhere(app, 'accounts', 'name', name), 0, 'and no account was created')

  await restore()
  const again = await R.get(`/v1/indicators/${id}`)
  t.equal(again.statusCode, 200, 'reads work again once the grant is back')
  t.same(
    (await eventsOf(app, again)).map((e) => e.outcome),
    ['ok'],
  )
  t.equal((await eventsOf(app, get)).length, 0, 'the refused read left nothing behind either')
})
