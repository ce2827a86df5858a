import t from 'tap'
import { as, buildTestApp, createAccount, isProblem, json, orgWith } from '../../helper.js'

// One app for the file: every case makes its own organisations and accounts.
const app = await buildTestApp(t)

t.test('client-credentials token: form, JSON, Basic; then /v1/me', async (t) => {
  const { reader } = await orgWith(app, ['reader'])

  const form = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `grant_type=client_credentials&client_id=${reader.clientId}&client_secret=${reader.clientSecret}`,
  })
  t.equal(form.statusCode, 200, form.body)
  const body = json<{ access_token: string; token_type: string; expires_in: number }>(form)
  t.equal(body.token_type, 'Bearer')
  t.equal(body.expires_in, 600)
  t.equal(form.headers['cache-control'], 'no-store')
  const [h, p] = body.access_token
    .split('.')
    .slice(0, 2)
    .map((s) => JSON.parse(Buffer.from(s, 'base64url').toString()))
  t.equal(h.alg, 'EdDSA')
  t.ok(h.kid, 'kid in header')
  t.equal(p.exp - p.iat, 600, 'lifetime is the configured TTL')
  t.equal(p.sub, reader.id)
  t.equal(p.iss, 'urn:dcx')
  t.equal(p.aud, 'urn:dcx:api')

  const viaJson = await as(app, undefined).post('/v1/auth/token', {
    grant_type: 'client_credentials',
    client_id: reader.clientId,
    client_secret: reader.clientSecret,
  })
  t.equal(viaJson.statusCode, 200)

  const basic = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { authorization: `Basic ${Buffer.from(`${reader.clientId}:${reader.clientSecret}`).toString('base64')}` },
    payload: { grant_type: 'client_credentials' },
  })
  t.equal(basic.statusCode, 200)

  const me = await as(app, json<{ access_token: string }>(basic).access_token).get('/v1/me')
  t.equal(me.statusCode, 200)
  t.equal(json<{ account: { id: string } }>(me).account.id, reader.id)
  t.notMatch(me.body, /clientSecret|secretHash|scrypt/, 'no secret or hash in /me')
})

t.test('token errors are OAuth bodies', async (t) => {
  const { reader } = await orgWith(app, ['reader'])
  const anon = as(app, undefined)

  let res = await anon.post('/v1/auth/token', { grant_type: 'password', client_id: reader.clientId, client_secret: reader.clientSecret })
  t.equal(res.statusCode, 400)
  t.same(json(res).error, 'unsupported_grant_type')

  res = await anon.post('/v1/auth/token', { grant_type: 'client_credentials', client_id: reader.clientId, client_secret: 'wrong' })
  t.equal(res.statusCode, 401)
  t.same(json(res), { error: 'invalid_client', error_description: 'Unknown client or wrong secret.' })

  res = await anon.post('/v1/auth/token', { grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'x' })
  t.equal(res.statusCode, 401)
  t.equal(json(res).error, 'invalid_client')

  res = await anon.post('/v1/auth/token', { grant_type: 'client_credentials' })
  t.equal(res.statusCode, 400)
  t.equal(json(res).error, 'invalid_request')

  res = await anon.post('/v1/auth/token', { grant_type: 'client_credentials', client_id: 'a', client_secret: 'b', admin: true })
  t.equal(res.statusCode, 400)
  t.equal(json(res).error, 'invalid_request', 'unknown fields refused')
})

t.test('disabled account: no token, and a live token stops working', async (t) => {
  const { org, org_admin, reader } = await orgWith(app, ['org_admin', 'reader'])
  t.equal((await as(app, reader.token).get('/v1/me')).statusCode, 200)
  const res = await as(app, org_admin.token).patch(`/v1/accounts/${reader.id}`, { disabled: true })
  t.equal(res.statusCode, 200, res.body)
  isProblem(t, await as(app, reader.token).get('/v1/me'), 401)
  const tok = await as(app, undefined).post('/v1/auth/token', {
    grant_type: 'client_credentials',
    client_id: reader.clientId,
    client_secret: reader.clientSecret,
  })
  t.equal(tok.statusCode, 401)
  void org
})

t.test('suspended organisation: its tokens stop working', async (t) => {
  const { platform_admin: admin } = await orgWith(app, ['platform_admin'], { sector: 'international' })
  const { org, reader } = await orgWith(app, ['reader'])
  t.equal((await as(app, reader.token).get('/v1/me')).statusCode, 200)
  const res = await as(app, admin.token).patch(`/v1/organisations/${org.id}`, { status: 'suspended' })
  t.equal(res.statusCode, 200, res.body)
  isProblem(t, await as(app, reader.token).get('/v1/me'), 401)
  const other = await createAccount(app, org.id, ['reader'])
  isProblem(t, await as(app, other.token).get('/v1/organisations'), 401)
})
