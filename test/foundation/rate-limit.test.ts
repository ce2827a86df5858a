// Rate limits: failed token attempts per client id and per address; all token
// attempts per address; requests per account; requests per address, 404s included. Each
// scenario uses its own socket address; X-Forwarded-For is not trusted, so spoofing it never
// resets a counter.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, createAccount, createOrg } from '../helper.js'
import { problem, type Tap } from './support.js'

const LIMITS = {
  DCX_TOKEN_FAILURES_PER_MINUTE: '3',
  DCX_TOKEN_ATTEMPTS_PER_MINUTE: '8',
  DCX_RATE_LIMIT_PER_MINUTE: '5',
  DCX_RATE_LIMIT_ADDRESS_PER_MINUTE: '20',
}

let spoof = 0
const xff = () => `203.0.113.${++spoof % 250}, 198.51.100.${spoof % 200}`

function tokenRequest(app: FastifyInstance, remoteAddress: string, clientId: string, clientSecret: string) {
  return app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    remoteAddress,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': xff(), 'x-real-ip': xff().split(',')[0] ?? '' },
    payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }).toString(),
  })
}

function get(app: FastifyInstance, remoteAddress: string, url: string, token?: string) {
  return app.inject({
    method: 'GET',
    url,
    remoteAddress,
    headers: { 'x-forwarded-for': xff(), ...(token ? { authorization: `Bearer ${token}` } : {}) },
  })
}

function limited(t: Tap, res: Awaited<ReturnType<FastifyInstance['inject']>>) {
  problem(t, res, 429)
  const retry = Number(res.headers['retry-after'])
  t.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `retry-after is 1–60 s (${res.headers['retry-after']})`)
}

t.test('rate limits', async (t) => {
  const app = await buildTestApp(t, LIMITS)
  const org = await createOrg(app)

  t.test('failed token attempts per client id: then even the right secret is refused', async (t) => {
    const acct = await createAccount(app, org.id, ['reader'])
    // Failures spread over three addresses: the client-id counter still adds them up.
    for (const [i, addr] of ['10.1.0.1', '10.1.0.2', '10.1.0.3'].entries()) {
      const res = await tokenRequest(app, addr, acct.clientId, `wrong-${i}`)
      t.equal(res.statusCode, 401, `failure ${i + 1} is a plain invalid_client`)
    }
    const res = await tokenRequest(app, '10.1.0.4', acct.clientId, acct.clientSecret)
    limited(t, res)
    t.notMatch(res.body, /access_token/)
    // Another client from an address that saw a failure is not affected.
    const other = await createAccount(app, org.id, ['reader'])
    t.equal((await tokenRequest(app, '10.1.0.1', other.clientId, other.clientSecret)).statusCode, 200, 'other clients still get tokens')
  })

  t.test('failed token attempts per address: spoofed X-Forwarded-For does not reset them', async (t) => {
    const addr = '10.2.0.1'
    for (let i = 0; i < 3; i++) {
      const res = await tokenRequest(app, addr, `dcx_guess${i}`, 'guess')
      t.equal(res.statusCode, 401)
    }
    const acct = await createAccount(app, org.id, ['reader'])
    limited(t, await tokenRequest(app, addr, acct.clientId, acct.clientSecret))
    limited(t, await tokenRequest(app, addr, 'dcx_guess9', 'guess'))
    t.equal((await tokenRequest(app, '10.2.0.2', acct.clientId, acct.clientSecret)).statusCode, 200, 'the client from another address is fine')
  })

  t.test('all token attempts per address, loosely', async (t) => {
    const acct = await createAccount(app, org.id, ['reader'])
    const addr = '10.5.0.1'
    for (let i = 0; i < 8; i++) t.equal((await tokenRequest(app, addr, acct.clientId, acct.clientSecret)).statusCode, 200, `attempt ${i + 1}`)
    limited(t, await tokenRequest(app, addr, acct.clientId, acct.clientSecret))
    t.equal((await tokenRequest(app, '10.5.0.2', acct.clientId, acct.clientSecret)).statusCode, 200, 'another address is fine')
  })

  t.test('per account: the 6th request is 429; other accounts are unaffected', async (t) => {
    const noisy = await createAccount(app, org.id, ['reader'])
    const quiet = await createAccount(app, org.id, ['reader'])
    const addr = '10.3.0.1'
    for (let i = 0; i < 5; i++) t.equal((await get(app, addr, '/v1/me', noisy.token)).statusCode, 200, `request ${i + 1}`)
    limited(t, await get(app, addr, '/v1/me', noisy.token))
    limited(t, await get(app, '10.3.0.2', '/v1/organisations', noisy.token))
    t.equal((await get(app, addr, '/v1/me', quiet.token)).statusCode, 200, 'another account from the same address gets 200')
  })

  t.test('TAXII: the limits apply, and a TAXII client is told in a TAXII error message', async (t) => {
    const noisy = await createAccount(app, org.id, ['reader'])
    const addr = '10.3.1.1'
    for (let i = 0; i < 5; i++) t.equal((await get(app, addr, '/taxii2/dcx/collections/', noisy.token)).statusCode, 200, `request ${i + 1}`)
    const res = await get(app, addr, '/taxii2/dcx/collections/', noisy.token)
    t.equal(res.statusCode, 429)
    t.equal(res.headers['content-type'], 'application/taxii+json;version=2.1')
    t.match(res.json(), { title: String, http_status: '429', error_id: res.headers['x-request-id'] })
    t.ok(Number(res.headers['retry-after']) >= 1, 'Retry-After')
  })

  t.test('per address: unknown routes count too, and spoofing X-Forwarded-For does not help', async (t) => {
    const addr = '10.4.0.1'
    const acct = await createAccount(app, org.id, ['reader'])
    for (let i = 0; i < 20; i++) t.equal((await get(app, addr, `/no-such-route-${i}`)).statusCode, 404)
    limited(t, await get(app, addr, '/no-such-route'))
    limited(t, await get(app, addr, '/v1/me', acct.token))
    limited(t, await get(app, addr, '/v1/me', 'garbage'))
    limited(t, await tokenRequest(app, addr, acct.clientId, acct.clientSecret))
    t.equal((await get(app, '10.4.0.2', '/no-such-route')).statusCode, 404, 'another address is unaffected')
    t.equal((await get(app, '10.4.0.2', '/v1/me', acct.token)).statusCode, 200)
  })
})
