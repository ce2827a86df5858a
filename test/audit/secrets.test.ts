// The audit contract: the trail never holds a secret, a token or a password — not in the export an
// auditor downloads, not in the table itself. A private database keeps "everything" small.
import t from 'tap'
import { privateApp, owner } from './private-db.js'
import { as, createAccount, createOrg, json, orgWith } from '../helper.js'

t.test('no secret, token or Basic credential ever reaches the audit log', async (t) => {
  const app = await privateApp(t)
  const { reader } = await orgWith(app, ['reader'])
  const home = await createOrg(app)
  const admin = await createAccount(app, home.id, ['platform_admin'])
  const auditor = await createAccount(app, home.id, ['auditor'])
  const forbidden: { what: string; value: string }[] = [
    { what: 'reader secret', value: reader.clientSecret },
    { what: 'reader bearer token', value: reader.token },
    { what: 'admin bearer token', value: admin.token },
    { what: 'auditor bearer token', value: auditor.token },
  ]

  const form = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `grant_type=client_credentials&client_id=${reader.clientId}&client_secret=${encodeURIComponent(reader.clientSecret)}`,
  })
  const viaJson = await as(app, undefined).post('/v1/auth/token', {
    grant_type: 'client_credentials',
    client_id: reader.clientId,
    client_secret: reader.clientSecret,
  })
  const basicValue = Buffer.from(`${reader.clientId}:${reader.clientSecret}`).toString('base64')
  const basic = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { authorization: `Basic ${basicValue}` },
    payload: { grant_type: 'client_credentials' },
  })
  for (const [how, res] of [
    ['form', form],
    ['json', viaJson],
    ['basic', basic],
  ] as const) {
    t.equal(res.statusCode, 200, `${how}: ${res.body}`)
    forbidden.push({ what: `access token (${how})`, value: json<{ access_token: string }>(res).access_token })
  }
  forbidden.push({ what: 'Basic header value', value: basicValue })

  // A wrong secret is a near-miss of a real one: it is not kept either.
  const typo = `${reader.clientSecret.slice(0, -3)}xyz`
  const wrong = await as(app, undefined).post('/v1/auth/token', { grant_type: 'client_credentials', client_id: reader.clientId, client_secret: typo })
  t.equal(wrong.statusCode, 401)
  forbidden.push({ what: 'a wrong secret tried', value: typo })
  const wrongBasicValue = Buffer.from(`${reader.clientId}:${typo}`).toString('base64')
  const wrongBasic = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { authorization: `Basic ${wrongBasicValue}` },
    payload: { grant_type: 'client_credentials' },
  })
  t.equal(wrongBasic.statusCode, 401)
  forbidden.push({ what: 'a wrong Basic header', value: wrongBasicValue })

  // Account creation returns a client secret; rotation returns a new one.
  const A = as(app, admin.token)
  const created = await A.post(`/v1/organisations/${home.id}/accounts`, { name: 'secret holder', roles: ['reader'] })
  t.equal(created.statusCode, 201, created.body)
  const acct = json<{ id: string; clientId: string; clientSecret: string }>(created)
  forbidden.push({ what: 'secret from account creation', value: acct.clientSecret })
  const rotated = await A.post(`/v1/accounts/${acct.id}/secret`)
  t.equal(rotated.statusCode, 200, rotated.body)
  forbidden.push({ what: 'secret from rotation', value: json<{ clientSecret: string }>(rotated).clientSecret })

  // Use a token from the endpoint as a bearer too, and send the secret where it does not belong.
  const issued = json<{ access_token: string }>(basic).access_token
  t.equal((await as(app, issued).get('/v1/me')).statusCode, 200)
  t.equal((await as(app, issued).get(`/v1/indicators?q=${encodeURIComponent('nothing here')}`)).statusCode, 200)
  t.equal((await as(app, `${issued}x`).get('/v1/me')).statusCode, 401, 'a mangled token is refused')
  forbidden.push({ what: 'mangled token', value: `${issued}x` })

  await app.chainer.chainNow()
  const exported = await as(app, auditor.token).get('/v1/audit/export')
  t.equal(exported.statusCode, 200)
  const lines = exported.body.trim().split('\n')
  t.ok(lines.length >= 10, `the export holds the events (${lines.length})`)
  const tokenEvents = lines.map((l) => JSON.parse(l) as { action: string; outcome: string }).filter((e) => e.action === 'auth.token.issue')
  t.equal(tokenEvents.length, 5, 'all five token requests are in the export')
  const csv = await as(app, auditor.token).get('/v1/audit/export?format=csv')
  const table = JSON.stringify(await owner(app, 'select * from audit_events'))
  const chain = JSON.stringify(await owner(app, 'select * from audit_chain'))
  t.ok(table.includes(reader.clientId), 'the client id tried is kept (the table dump is real)')

  for (const { what, value } of forbidden) {
    t.notOk(exported.body.includes(value), `${what} not in the NDJSON export`)
    t.notOk(csv.body.includes(value), `${what} not in the CSV export`)
    t.notOk(table.includes(value), `${what} not in audit_events`)
    t.notOk(chain.includes(value), `${what} not in audit_chain`)
  }
  // No token-shaped string (three base64url parts, an EdDSA header) anywhere.
  t.notMatch(table, /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}/, 'no JWT in audit_events')
  t.notMatch(table, /dcxs_[A-Za-z0-9_-]{20,}/, 'no client-secret-shaped string in audit_events')
  t.notMatch(table, /client_secret|clientSecret|authorization/i, 'no credential field names in audit_events')
})
