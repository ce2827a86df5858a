// Bad input answers RFC 9457 problem+json: the right status, the offending field named, the
// request id that the x-request-id header carries, and nothing internal (no stack, no SQL).
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { as, buildTestApp, json, orgWith, unique } from '../helper.js'
import { problem } from './support.js'

t.test('bad input', async (t) => {
  const app = await buildTestApp(t, { DCX_BODY_LIMIT_BYTES: '2048' })
  const { platform_admin: pa, org } = await orgWith(app, ['platform_admin'])
  const admin = as(app, pa.token)
  const post = (payload: string, contentType = 'application/json') =>
    app.inject({ method: 'POST', url: '/v1/organisations', headers: { authorization: `Bearer ${pa.token}`, 'content-type': contentType }, payload })
  const newOrg = () => ({ name: unique('Errors org'), sector: 'police', country: 'NL', contact: { email: 'desk@example.org' } })

  t.test('malformed JSON → 400 naming body', async (t) => {
    const body = problem(t, await post('{"name": "x",'), 400, ['body'])
    t.match(body.detail, /not valid JSON/)
    problem(t, await post(''), 400, ['body'])
  })

  t.test('body over the limit → 413', async (t) => {
    const body = problem(t, await post(JSON.stringify({ ...newOrg(), name: 'x'.repeat(4000) })), 413)
    t.match(body.detail, /2048/)
    const res = await app.inject({
      method: 'PATCH',
      url: `/v1/organisations/${org.id}`,
      headers: { authorization: `Bearer ${pa.token}` },
      payload: { contact: { hours: 'y'.repeat(5000) } },
    })
    problem(t, res, 413)
  })

  t.test('unknown route → 404; a method the path lacks → 405 with Allow; unsupported content type → 415', async (t) => {
    const body = problem(t, await admin.get('/v1/no-such-thing'), 404)
    t.match(body.detail, /No route GET \/v1\/no-such-thing/)
    const wrong = await app.inject({ method: 'DELETE', url: '/v1/me', headers: { authorization: `Bearer ${pa.token}` } })
    problem(t, wrong, 405)
    t.equal(wrong.headers.allow, 'GET, HEAD')
    problem(t, await post('<org/>', 'application/xml'), 415)
    problem(t, await post('name=x', 'application/x-www-form-urlencoded'), 415)
    problem(t, await post('x', 'image/png'), 415)
  })

  t.test('form-encoded bodies only on the token endpoint (OAuth); JSON routes answer 415', async (t) => {
    const { contributor, org_admin: orgAdmin, org: own } = await orgWith(app, ['contributor', 'org_admin'])
    const alias = unique('formalias')
    const ind = await as(app, contributor.token).post('/v1/indicators', { type: 'vendor_alias', value: unique('jsonalias'), tlp: 'green' })
    t.equal(ind.statusCode, 201, 'JSON is accepted')
    const id = (ind.json() as { id: string }).id
    const form = (token: string, method: 'POST' | 'PATCH', url: string, payload: string) =>
      app.inject({ method, url, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' }, payload })
    const cases: [string, 'POST' | 'PATCH', string, string][] = [
      [contributor.token, 'POST', '/v1/indicators', `type=vendor_alias&value=${alias}&tlp=green`],
      [contributor.token, 'POST', '/v1/indicators/bulk', `items=x`],
      [contributor.token, 'POST', '/v1/indicators/match', `values=${alias}`],
      [contributor.token, 'PATCH', `/v1/indicators/${id}`, 'description=changed'],
      [contributor.token, 'POST', `/v1/indicators/${id}/sightings`, `seenAt=${new Date().toISOString()}&outcome=seized`],
      [contributor.token, 'POST', '/v1/notes', 'title=t&summary=s&body=b&topics=detection'],
      [orgAdmin.token, 'POST', '/v1/sharing-groups', 'name=g&organisationIds='],
      [orgAdmin.token, 'POST', `/v1/organisations/${own.id}/accounts`, 'name=x&roles=reader'],
      [pa.token, 'POST', '/v1/organisations', 'name=x&sector=police&country=NL'],
    ]
    for (const [token, method, url, payload] of cases) {
      const res = await form(token, method, url, payload)
      problem(t, res, 415)
      t.pass(`${method} ${url}: 415`)
    }
    const mine = await as(app, contributor.token).get(`/v1/indicators?organisationId=${own.id}`)
    t.strictSame(
      (mine.json() as { items: { id: string }[] }).items.map((i) => i.id),
      [id],
      'no indicator was created from a form',
    )
    const sightings = await as(app, contributor.token).get(`/v1/indicators/${id}/sightings`)
    t.equal((sightings.json() as { items: unknown[] }).items.length, 0, 'no sighting was recorded from a form')
    const token = await app.inject({
      method: 'POST',
      url: '/v1/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=client_credentials&client_id=${contributor.clientId}&client_secret=${contributor.clientSecret}`,
    })
    t.equal(token.statusCode, 200, 'the token endpoint still takes a form')
  })

  t.test('unknown body property → 400 naming it', async (t) => {
    problem(t, await admin.post('/v1/organisations', { ...newOrg(), admin: true }), 400, ['body.admin'])
    problem(t, await admin.post('/v1/organisations', { ...newOrg(), contact: { email: 'a@example.org', fax: '1' } }), 400, ['body.contact.fax'])
    problem(t, await admin.post(`/v1/organisations/${org.id}/accounts`, { name: 'x', roles: ['reader'], clientSecret: 'mine' }), 400, ['body.clientSecret'])
    problem(t, await admin.patch(`/v1/accounts/${pa.id}`, { secretHash: 'scrypt$1' }), 400, ['body.secretHash'])
  })

  t.test('invalid field values → 400 naming the field', async (t) => {
    problem(t, await admin.post('/v1/organisations', { ...newOrg(), sector: 'pirates' }), 400, ['body.sector'])
    problem(t, await admin.post('/v1/organisations', { ...newOrg(), contact: { email: 'not-an-email' } }), 400, ['body.contact.email'])
    problem(t, await admin.post('/v1/organisations', { sector: 'police' }), 400, ['body.name', 'body.country', 'body.contact'])
    problem(t, await admin.post(`/v1/organisations/${org.id}/accounts`, { name: 'x', roles: ['god'] }), 400, ['body.roles.0'])
    problem(t, await admin.post(`/v1/organisations/${org.id}/accounts`, { name: 'x', roles: [] }), 400, ['body.roles'])
    problem(t, await admin.patch(`/v1/accounts/${pa.id}`, {}), 400)
  })

  t.test('invalid country codes → 400', async (t) => {
    for (const country of ['XX', 'de', 'DEU', 'ZZ']) {
      problem(t, await admin.post('/v1/organisations', { ...newOrg(), country }), 400, ['body.country'])
      problem(t, await admin.patch(`/v1/organisations/${org.id}`, { country }), 400, ['body.country'])
      problem(t, await admin.get(`/v1/organisations?country=${country}`), 400, ['query.country'])
    }
    t.equal((await admin.get('/v1/organisations?country=DE&limit=1')).statusCode, 200, 'an assigned code is fine')
  })

  t.test('one country rule everywhere: UK is not ISO 3166-1 (GB is), a 400 naming the field', async (t) => {
    const { contributor } = await orgWith(app, ['contributor'])
    const c = as(app, contributor.token)
    const alias = { type: 'vendor_alias', value: unique('country'), tlp: 'green' }
    const where: [string, Awaited<ReturnType<typeof c.get>>, string][] = [
      ['organisation create', await admin.post('/v1/organisations', { ...newOrg(), country: 'UK' }), 'body.country'],
      ['organisation update', await admin.patch(`/v1/organisations/${org.id}`, { country: 'UK' }), 'body.country'],
      ['organisation list', await admin.get('/v1/organisations?country=UK'), 'query.country'],
      ['indicator create', await c.post('/v1/indicators', { ...alias, countries: ['NL', 'UK'] }), 'body.countries.1'],
      ['indicator list', await c.get('/v1/indicators?country=UK'), 'query.country'],
      ['STIX export', await c.get('/v1/export/stix?country=UK'), 'query.country'],
    ]
    const reasons = new Set<string>()
    for (const [what, res, field] of where) {
      const body = problem(t, res, 400, [field])
      const reason = body.errors?.find((e) => e.name === field)?.reason ?? ''
      t.match(reason, /not an assigned ISO 3166-1 alpha-2 code.*UK.*GB/, `${what}: says why and what to use`)
      reasons.add(reason)
    }
    t.equal(reasons.size, 1, 'the same reason on every route')
    for (const country of ['XX', 'ZZ', 'EL']) {
      problem(t, await c.get(`/v1/indicators?country=${country}`), 400, ['query.country'])
      problem(t, await c.get(`/v1/export/stix?country=${country}`), 400, ['query.country'])
    }
    t.equal((await c.get('/v1/indicators?country=GB')).statusCode, 200, 'GB is fine')
    t.equal((await c.get('/v1/export/stix?country=GB')).statusCode, 200, 'GB is fine on export too')
    const bulk = await c.post('/v1/indicators/bulk', { items: [{ ...alias, countries: ['UK'] }] })
    t.match(
      bulk.json(),
      { results: [{ status: 'invalid', problem: { errors: [{ name: 'items.0.countries.0', reason: /UK.*GB/ }] } }] },
      'bulk: the same rule per item',
    )
  })

  t.test('invalid uuid in the path → 400 naming params.id', async (t) => {
    for (const url of ['/v1/organisations/not-a-uuid', '/v1/accounts/123', `/v1/organisations/${randomUUID()}x/accounts`, "/v1/accounts/1'%20OR%20'1'='1"]) {
      problem(t, await admin.get(url), 400, ['params.id'])
    }
    problem(t, await admin.post('/v1/accounts/nope/secret'), 400, ['params.id'])
  })

  t.test('bad query → 400 naming it', async (t) => {
    for (const q of ['limit=0', 'limit=abc', 'limit=100000', 'limit=-1', 'limit=1.5', 'sector=pirates', 'status=gone', 'bogus=1']) {
      problem(t, await admin.get(`/v1/organisations?${q}`), 400)
    }
    problem(t, await admin.get('/v1/organisations?limit=0'), 400, ['query.limit'])
    problem(t, await admin.get(`/v1/organisations/${org.id}/accounts?limit=abc`), 400, ['query.limit'])
  })

  t.test('bad cursor → 400 naming query.cursor', async (t) => {
    const forged = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    for (const cursor of ['abc', '!!!', forged({ a: 1 }), forged(['2024-01-01T00:00:00Z']), forged([1, 2]), forged(['x'.repeat(300), 'y'])]) {
      problem(t, await admin.get(`/v1/organisations?cursor=${encodeURIComponent(cursor)}`), 400, ['query.cursor'])
      problem(t, await admin.get(`/v1/organisations/${org.id}/accounts?cursor=${encodeURIComponent(cursor)}`), 400, ['query.cursor'])
    }
    // Well-formed but nonsense values must not reach the database as a 500.
    for (const key of [
      ['not a date', randomUUID()],
      [new Date().toISOString(), 'not a uuid'],
      ['2024-13-45T99:00:00Z', randomUUID()],
    ]) {
      problem(t, await admin.get(`/v1/organisations?cursor=${forged(key)}`), 400, ['query.cursor'])
      problem(t, await admin.get(`/v1/organisations/${org.id}/accounts?cursor=${forged(key)}`), 400, ['query.cursor'])
    }
  })

  t.test('If-Match: stale → 412 with the current ETag; malformed → 400', async (t) => {
    const current = await admin.get(`/v1/organisations/${org.id}`)
    const tag = current.headers.etag as string
    t.match(tag, /^"\d+"$/)
    const stale = `"${Number(tag.slice(1, -1)) + 5}"`
    const res = await admin.patch(`/v1/organisations/${org.id}`, { contact: { hours: 'never' } }, { 'if-match': stale })
    problem(t, res, 412)
    t.equal(res.headers.etag, tag, 'the 412 carries the current ETag')
    for (const bad of ['3', 'abc', '"x"', '*, "1"', '"1", "2"']) {
      problem(t, await admin.patch(`/v1/organisations/${org.id}`, { contact: { hours: 'never' } }, { 'if-match': bad }), 400, ['header.if-match'])
    }
    const acct = await admin.get(`/v1/accounts/${pa.id}`)
    const accRes = await admin.patch(`/v1/accounts/${pa.id}`, { name: 'stale' }, { 'if-match': '"999"' })
    problem(t, accRes, 412)
    t.equal(accRes.headers.etag, acct.headers.etag)
    const ok = await admin.patch(`/v1/organisations/${org.id}`, { contact: { hours: 'weekdays' } }, { 'if-match': tag })
    t.equal(ok.statusCode, 200, 'the current ETag is accepted')
    t.not(ok.headers.etag, tag, 'and a new ETag comes back')
  })

  t.test('request ids: a sane client id is kept, anything else replaced', async (t) => {
    const mine = `client-${randomUUID()}`
    let res = await admin.get('/v1/no-such-thing', { 'x-request-id': mine })
    t.equal(res.headers['x-request-id'], mine)
    t.equal(json(res).requestId, mine)
    res = await admin.get('/v1/no-such-thing', { 'x-request-id': 'bad id\twith<stuff>' })
    t.not(res.headers['x-request-id'], 'bad id\twith<stuff>')
    t.equal(json(res).requestId, res.headers['x-request-id'])
  })
})
