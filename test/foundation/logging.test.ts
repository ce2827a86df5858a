// Response headers (helmet, no banner, no CORS) and log redaction: the log never holds a client
// secret, an access token or an Authorization header value.
import { Writable } from 'node:stream'
import t from 'tap'
import { build, LOG_REDACT } from '../../src/app.js'
import { as, json, orgWith, testConfig, testDatabase } from '../helper.js'

t.test('headers and logging', async (t) => {
  let captured = ''
  const stream = new Writable({
    write(chunk, _enc, cb) {
      captured += chunk.toString()
      cb()
    },
  })
  const config = testConfig({ LOG_LEVEL: 'debug' })
  const app = await build(config, {
    ...(await testDatabase(config)),
    logger: { level: 'trace', stream, redact: { paths: LOG_REDACT, censor: '[redacted]' } },
  })
  await app.ready()
  t.teardown(() => app.close())
  const { reader } = await orgWith(app, ['reader'])

  t.test('security headers on every kind of response', async (t) => {
    const responses = {
      ok: await as(app, reader.token).get('/v1/me'),
      unauthorized: await as(app, undefined).get('/v1/me'),
      notFound: await as(app, reader.token).get('/v1/nothing-here'),
      health: await app.inject({ method: 'GET', url: '/healthz' }),
      jwks: await app.inject({ method: 'GET', url: '/.well-known/jwks.json' }),
      token: await as(app, undefined).post('/v1/auth/token', { grant_type: 'client_credentials', client_id: 'x', client_secret: 'y' }),
    }
    t.equal(responses.ok.statusCode, 200)
    for (const [name, res] of Object.entries(responses)) {
      const h = res.headers
      t.equal(h['x-content-type-options'], 'nosniff', `${name}: nosniff`)
      t.match(h['strict-transport-security'], /max-age=\d{7,}/, `${name}: HSTS`)
      t.match(h['content-security-policy'], /default-src 'self'/, `${name}: CSP`)
      t.ok(h['x-frame-options'] || /frame-ancestors/.test(String(h['content-security-policy'])), `${name}: framing restricted`)
      t.notOk(h['x-powered-by'], `${name}: no x-powered-by`)
      t.notOk(h.server, `${name}: no server banner`)
      t.notOk(h['access-control-allow-origin'], `${name}: no CORS`)
      t.ok(h['x-request-id'], `${name}: x-request-id`)
    }
  })

  t.test('no CORS for a cross-origin caller', async (t) => {
    const origin = 'https://evil.example'
    const simple = await app.inject({ method: 'GET', url: '/v1/me', headers: { origin, authorization: `Bearer ${reader.token}` } })
    t.equal(simple.statusCode, 200)
    t.notOk(simple.headers['access-control-allow-origin'])
    t.notOk(simple.headers['access-control-allow-credentials'])
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/v1/organisations',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    })
    t.ok(preflight.statusCode >= 400, `preflight not answered (${preflight.statusCode})`)
    t.notOk(preflight.headers['access-control-allow-origin'])
    t.notOk(preflight.headers['access-control-allow-methods'])
  })

  t.test('secrets, tokens and Authorization values never reach the log', async (t) => {
    const form = await app.inject({
      method: 'POST',
      url: '/v1/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=client_credentials&client_id=${reader.clientId}&client_secret=${reader.clientSecret}`,
    })
    t.equal(form.statusCode, 200)
    const formToken = json<{ access_token: string }>(form).access_token
    const basicValue = Buffer.from(`${reader.clientId}:${reader.clientSecret}`).toString('base64')
    const basic = await app.inject({
      method: 'POST',
      url: '/v1/auth/token',
      headers: { authorization: `Basic ${basicValue}` },
      payload: { grant_type: 'client_credentials' },
    })
    t.equal(basic.statusCode, 200)
    const basicToken = json<{ access_token: string }>(basic).access_token
    t.equal((await as(app, formToken).get('/v1/me')).statusCode, 200)
    t.equal((await as(app, basicToken).get('/v1/organisations?limit=1')).statusCode, 200)
    // Refusals log too: a wrong secret, a malformed token request, a bad and a tampered token.
    const wrong = `${reader.clientSecret.slice(0, -4)}WRNG`
    t.equal(
      (await as(app, undefined).post('/v1/auth/token', { grant_type: 'client_credentials', client_id: reader.clientId, client_secret: wrong })).statusCode,
      401,
    )
    const wrongBasic = Buffer.from(`${reader.clientId}:${wrong}`).toString('base64')
    t.equal(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/auth/token',
          headers: { authorization: `Basic ${wrongBasic}` },
          payload: { grant_type: 'client_credentials' },
        })
      ).statusCode,
      401,
    )
    t.equal(
      (
        await as(app, undefined).post('/v1/auth/token', {
          grant_type: 'client_credentials',
          client_id: reader.clientId,
          client_secret: reader.clientSecret,
          x: 1,
        })
      ).statusCode,
      400,
    )
    t.equal((await as(app, `${formToken}x`).get('/v1/me')).statusCode, 401)
    t.equal((await as(app, formToken).post('/v1/organisations', { name: 'x' })).statusCode, 403)

    t.match(captured, /incoming request/, 'the log was captured')
    t.match(captured, /"url":"\/v1\/auth\/token"/, 'token requests were logged')
    const secrets = {
      'client secret': reader.clientSecret,
      'wrong secret': wrong,
      'form token': formToken,
      'form token signature': formToken.split('.')[2] ?? '',
      'basic token': basicToken,
      'basic header value': basicValue,
      'wrong basic header value': wrongBasic,
    }
    for (const [name, value] of Object.entries(secrets)) {
      t.ok(value.length > 20, `${name} is a real value`)
      t.notOk(captured.includes(value), `no ${name} in the log`)
    }
    t.notMatch(captured, /scrypt\$/, 'no secret hash in the log')
    t.notMatch(captured, /PRIVATE KEY/, 'no private key in the log')
  })
})
