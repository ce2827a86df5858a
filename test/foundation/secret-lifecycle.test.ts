import t from 'tap'
import { sql } from 'drizzle-orm'
import { rows } from '../../src/db/client.js'
import { as, buildTestApp, isProblem, json, orgWith } from '../helper.js'

// One app for the file: every case makes its own organisations and accounts.
const app = await buildTestApp(t)

t.test('rotating a secret also retires the tokens issued before it', async (t) => {
  const { org_admin, reader } = await orgWith(app, ['org_admin', 'reader'])
  const issued = json<{ access_token: string }>(
    await as(app, undefined).post('/v1/auth/token', { grant_type: 'client_credentials', client_id: reader.clientId, client_secret: reader.clientSecret }),
  ).access_token
  t.equal((await as(app, issued).get('/v1/me')).statusCode, 200)
  // iat has one-second resolution: make sure the rotation is in a later second than the token.
  await new Promise((r) => setTimeout(r, 1100))
  const rotated = await as(app, org_admin.token).post(`/v1/accounts/${reader.id}/secret`)
  t.equal(rotated.statusCode, 200, rotated.body)
  const body = isProblem(t, await as(app, issued).get('/v1/me'), 401)
  t.match(body.detail, /rotated/)
  const fresh = await as(app, undefined).post('/v1/auth/token', {
    grant_type: 'client_credentials',
    client_id: reader.clientId,
    client_secret: json<{ clientSecret: string }>(rotated).clientSecret,
  })
  t.equal((await as(app, json<{ access_token: string }>(fresh).access_token).get('/v1/me')).statusCode, 200, 'a token from the new secret works')
})

t.test('account creation with Idempotency-Key: one account, the secret never stored or replayed', async (t) => {
  const { org, org_admin } = await orgWith(app, ['org_admin'])
  const admin = as(app, org_admin.token)
  const key = { 'idempotency-key': `acct-${org.id}` }
  const first = await admin.post(`/v1/organisations/${org.id}/accounts`, { name: 'Screening job', roles: ['reader'] }, key)
  t.equal(first.statusCode, 201, first.body)
  const created = json<{ id: string; clientSecret: string }>(first)
  const retry = await admin.post(`/v1/organisations/${org.id}/accounts`, { name: 'Screening job', roles: ['reader'] }, key)
  const problem = isProblem(t, retry, 409)
  t.match(problem.detail, created.id, 'the retry names the account it created')
  t.notMatch(retry.body, created.clientSecret, 'the secret is not replayed')
  const stored = await app.database.asOwner((q) => q(sql`select response::text as r from idempotency_keys where key = ${key['idempotency-key']}`))
  t.equal(stored.length, 1)
  t.notMatch(String(stored[0]?.r), created.clientSecret, 'the secret is not stored with the idempotency key')
  const [n] = await rows<{ n: number }>(app.db, sql`select count(*)::int as n from accounts where organisation_id = ${org.id} and name = 'Screening job'`)
  t.equal(n?.n, 1, 'exactly one account')
})

t.test('organisation creation with Idempotency-Key replays the first result', async (t) => {
  const { platform_admin } = await orgWith(app, ['platform_admin'], { sector: 'international' })
  const body = { name: `Idem org ${Date.now()}`, sector: 'courier', country: 'BE', contact: { email: 'desk@courier.example' } }
  const key = { 'idempotency-key': `org-${Date.now()}-${Math.random().toString(36).slice(2)}` }
  const a = await as(app, platform_admin.token).post('/v1/organisations', body, key)
  const b = await as(app, platform_admin.token).post('/v1/organisations', body, key)
  t.equal(a.statusCode, 201)
  t.equal(b.statusCode, 201)
  t.equal(b.headers['idempotent-replayed'], 'true')
  t.equal(json<{ id: string }>(a).id, json<{ id: string }>(b).id)
  const c = await as(app, platform_admin.token).post('/v1/organisations', { ...body, country: 'NL' }, key)
  isProblem(t, c, 422)
})
