// Accounts: what an org_admin may and may not do, secrets shown once and stored only hashed,
// secret rotation.
import t from 'tap'
import { eq } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { accounts } from '../../src/db/schema/index.js'
import { as, buildTestApp, createAccount, json, orgWith, unique } from '../helper.js'
import { problem } from './support.js'

interface Created {
  id: string
  organisationId: string
  clientId: string
  clientSecret: string
  roles: string[]
  disabled: boolean
}

const token = (app: FastifyInstance, clientId: string, clientSecret: string) =>
  as(app, undefined).post('/v1/auth/token', { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret })

t.test('accounts', async (t) => {
  const app = await buildTestApp(t)
  const { platform_admin: pa } = await orgWith(app, ['platform_admin'], { sector: 'international' })
  const { org, org_admin } = await orgWith(app, ['org_admin'])
  const admin = as(app, org_admin.token)
  const platform = as(app, pa.token)

  t.test('org_admin cannot grant platform-wide roles', async (t) => {
    for (const roles of [['platform_admin'], ['auditor'], ['reader', 'auditor']]) {
      const body = problem(t, await admin.post(`/v1/organisations/${org.id}/accounts`, { name: unique('x'), roles }), 403)
      t.match(body.detail, /cannot grant/, `create with ${roles.join('+')}`)
    }
    const reader = await createAccount(app, org.id, ['reader'])
    problem(t, await admin.patch(`/v1/accounts/${reader.id}`, { roles: ['reader', 'platform_admin'] }), 403)
    problem(t, await admin.patch(`/v1/accounts/${reader.id}`, { roles: ['auditor'] }), 403)
    const row = await app.db.select({ roles: accounts.roles }).from(accounts).where(eq(accounts.id, reader.id))
    t.same(row[0]?.roles, ['reader'], 'roles unchanged in the database')
  })

  t.test('org_admin cannot strip a platform-wide role a platform admin gave', async (t) => {
    const member = await createAccount(app, org.id, ['reader'])
    const given = await platform.patch(`/v1/accounts/${member.id}`, { roles: ['reader', 'auditor'] })
    t.equal(given.statusCode, 200, given.body)
    t.same(json(given).roles, ['reader', 'auditor'])
    problem(t, await admin.patch(`/v1/accounts/${member.id}`, { roles: ['reader'] }), 403)
    problem(t, await admin.patch(`/v1/accounts/${member.id}`, { roles: ['contributor'] }), 403)
    // Account rank: an account holding a role the org_admin could not grant is not its to act on at all.
    problem(t, await admin.patch(`/v1/accounts/${member.id}`, { name: 'renamed by an org_admin' }), 403)
    const seen = await platform.get(`/v1/accounts/${member.id}`)
    t.same(json(seen).roles, ['reader', 'auditor'], 'roles untouched')
    t.not(json(seen).name, 'renamed by an org_admin', 'name untouched')
  })

  t.test('org_admin cannot lock itself out', async (t) => {
    const self = await createAccount(app, org.id, ['org_admin'])
    const me = as(app, self.token)
    problem(t, await me.patch(`/v1/accounts/${self.id}`, { disabled: true }), 409)
    problem(t, await me.patch(`/v1/accounts/${self.id}`, { roles: ['contributor'] }), 409)
    problem(t, await me.patch(`/v1/accounts/${self.id}`, { roles: ['reader'], disabled: true }), 409)
    t.equal((await me.get('/v1/me')).statusCode, 200, 'still an admin, still enabled')
    const renamed = await me.patch(`/v1/accounts/${self.id}`, { name: 'keeps its role', roles: ['org_admin', 'contributor'] })
    t.equal(renamed.statusCode, 200, renamed.body)
    // Another org_admin may disable it.
    const off = await admin.patch(`/v1/accounts/${self.id}`, { disabled: true })
    t.equal(off.statusCode, 200, off.body)
    problem(t, await me.get('/v1/me'), 401)
  })

  t.test('platform_admin can grant anything, in any organisation', async (t) => {
    const res = await platform.post(`/v1/organisations/${org.id}/accounts`, { name: unique('ops'), roles: ['platform_admin', 'auditor'] })
    t.equal(res.statusCode, 201, res.body)
    const created = json<Created>(res)
    t.same(created.roles, ['platform_admin', 'auditor'])
    const patched = await platform.patch(`/v1/accounts/${created.id}`, { roles: ['auditor', 'org_admin'] })
    t.equal(patched.statusCode, 200, patched.body)
    t.same(json(patched).roles, ['auditor', 'org_admin'])
    const tok = await token(app, created.clientId, created.clientSecret)
    t.equal(tok.statusCode, 200, 'the new account can get a token')
    const me = json<{ effectiveRoles: string[] }>(await as(app, json<{ access_token: string }>(tok).access_token).get('/v1/me'))
    t.same(new Set(me.effectiveRoles), new Set(['auditor', 'org_admin', 'contributor', 'reader']), 'roles took effect')
  })

  t.test('the client secret is shown once and stored only as a scrypt hash', async (t) => {
    const res = await admin.post(`/v1/organisations/${org.id}/accounts`, { name: unique('system'), roles: ['contributor'] })
    t.equal(res.statusCode, 201, res.body)
    t.equal(res.headers['cache-control'], 'no-store')
    const created = json<Created>(res)
    t.equal(res.headers.location, `/v1/accounts/${created.id}`)
    t.equal(res.headers.etag, '"1"')
    t.match(created, { organisationId: org.id, roles: ['contributor'], disabled: false, clientId: /^dcx_/, clientSecret: /^dcxs_/ })
    t.ok(created.clientSecret.length >= 40, 'a long secret')

    const got = await admin.get(`/v1/accounts/${created.id}`)
    t.equal(got.statusCode, 200)
    t.notOk('clientSecret' in json(got), 'GET has no clientSecret')
    t.notMatch(got.body, /scrypt|secretHash|secret_hash/, 'GET has no hash')
    t.notOk(got.body.includes(created.clientSecret), 'GET does not echo the secret')
    const list = await admin.get(`/v1/organisations/${org.id}/accounts`)
    t.equal(list.statusCode, 200)
    t.ok(
      json<{ items: { id: string }[] }>(list).items.some((a) => a.id === created.id),
      'listed',
    )
    t.notMatch(list.body, /clientSecret|scrypt|secretHash/, 'list has no secret or hash')
    t.notOk(list.body.includes(created.clientSecret))

    const [row] = await app.db.select({ secretHash: accounts.secretHash }).from(accounts).where(eq(accounts.id, created.id))
    t.match(row?.secretHash, /^scrypt\$/, 'stored as scrypt')
    t.notOk(row?.secretHash.includes(created.clientSecret), 'the hash does not contain the secret')
    t.notOk(row?.secretHash.includes(created.clientSecret.slice(5, 25)), 'nor a piece of it')
  })

  t.test('secret rotation: the old secret stops working at once, the new one works', async (t) => {
    const res = await admin.post(`/v1/organisations/${org.id}/accounts`, { name: unique('rotating'), roles: ['reader'] })
    const created = json<Created>(res)
    t.equal((await token(app, created.clientId, created.clientSecret)).statusCode, 200, 'the first secret works')
    const [before] = await app.db.select({ secretHash: accounts.secretHash }).from(accounts).where(eq(accounts.id, created.id))

    const rot = await admin.post(`/v1/accounts/${created.id}/secret`)
    t.equal(rot.statusCode, 200, rot.body)
    t.equal(rot.headers['cache-control'], 'no-store')
    const rotated = json<{ id: string; clientId: string; clientSecret: string; secretRotatedAt: string }>(rot)
    t.equal(rotated.id, created.id)
    t.equal(rotated.clientId, created.clientId, 'the client id stays')
    t.not(rotated.clientSecret, created.clientSecret, 'a new secret')

    const old = await token(app, created.clientId, created.clientSecret)
    t.equal(old.statusCode, 401)
    t.equal(json(old).error, 'invalid_client', 'the old secret is refused')
    const fresh = await token(app, created.clientId, rotated.clientSecret)
    t.equal(fresh.statusCode, 200, 'the new secret gets a token')
    t.equal(json(fresh).token_type, 'Bearer')

    const [after] = await app.db.select({ secretHash: accounts.secretHash }).from(accounts).where(eq(accounts.id, created.id))
    t.not(after?.secretHash, before?.secretHash, 'the stored hash changed')
    t.match(after?.secretHash, /^scrypt\$/)
    t.notOk(after?.secretHash.includes(rotated.clientSecret))
    const got = await admin.get(`/v1/accounts/${created.id}`)
    t.equal(json(got).secretRotatedAt, rotated.secretRotatedAt, 'secretRotatedAt recorded')
    t.notOk(got.body.includes(rotated.clientSecret))
  })
})
