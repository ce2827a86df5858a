// openapi.yaml tells a generated client the truth (issue 14). Every response the suite provokes is
// checked against the committed description by test/contract.ts (buildTestApp wraps inject); this
// file walks the interchange paths a partner's tooling walks, and the refusals around them, and
// shows that the check does catch what the description does not say.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp, json, orgWith } from '../helper.js'
import { contractProblems } from '../contract.js'

const check = contractProblems

const app = await buildTestApp(t)

t.test('the interchange paths and their refusals answer as openapi.yaml says', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const token = a.contributor.token
  const auth = { authorization: `Bearer ${token}` }
  const seen: { method: string; url: string; res: LightMyRequestResponse }[] = []
  const send = async (method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = {}) => {
    const res = await app.inject({ method, url, headers: { ...auth, ...headers }, ...(payload !== undefined ? { payload: payload as object } : {}) })
    seen.push({ method, url, res })
    return res
  }
  const created = await send('POST', '/v1/indicators', { type: 'domain', value: `contract-${randomUUID().slice(0, 8)}.example`, distribution: 'organisation' })
  t.equal(created.statusCode, 201)
  t.ok(created.headers.etag && created.headers.location, 'ETag and Location')
  const id = json<{ id: string }>(created).id
  await send('GET', `/v1/indicators/${id}`)
  await send('PATCH', `/v1/indicators/${id}`, { description: 'v2' }, { 'if-match': '"1"' })
  t.equal((await send('PATCH', `/v1/indicators/${id}`, { description: 'v3' }, { 'if-match': '"1"' })).statusCode, 412)
  t.equal((await send('PATCH', `/v1/indicators/${id}`, { description: 'v3' }, { 'if-match': 'yesterday' })).statusCode, 400)
  t.equal((await send('PATCH', `/v1/indicators/${id}`, {})).statusCode, 400, 'an empty PATCH (minProperties: 1)')
  t.equal((await send('GET', `/v1/indicators/${randomUUID()}`)).statusCode, 404)
  const put = await send('PUT', '/v1/indicators', { type: 'domain' })
  t.equal(put.statusCode, 405, 'PUT /v1/indicators: 405')
  t.equal(put.headers.allow, 'GET, HEAD, POST')
  t.equal((await send('DELETE', '/v1/indicators')).statusCode, 405)
  t.equal((await send('GET', '/v1/no-such-thing')).statusCode, 404, 'a path that does not exist is still a 404')
  const exported = await send('GET', `/v1/export/stix?organisationId=${a.org.id}`)
  t.equal(exported.statusCode, 200)
  t.equal(json<{ type: string }>(exported).type, 'bundle')
  const bundle = {
    type: 'bundle',
    id: `bundle--${randomUUID()}`,
    objects: [
      {
        type: 'indicator',
        spec_version: '2.1',
        id: `indicator--${randomUUID()}`,
        created: '2026-01-01T00:00:00.000Z',
        modified: '2026-01-01T00:00:00.000Z',
        pattern: `[domain-name:value = 'contract-import-${randomUUID().slice(0, 8)}.example']`,
        pattern_type: 'stix',
        valid_from: '2026-01-01T00:00:00Z',
      },
    ],
  }
  const key = `contract-${randomUUID()}`
  await send('POST', '/v1/import/stix', bundle, { 'idempotency-key': key })
  const replay = await send('POST', '/v1/import/stix', bundle, { 'idempotency-key': key })
  t.equal(replay.headers['idempotent-replayed'], 'true', 'a replay says so')
  t.equal((await send('POST', '/v1/import/stix', bundle, { 'idempotency-key': 'has space' })).statusCode, 400)
  t.equal((await send('POST', '/v1/import/stix', { type: 'bundle' })).statusCode, 400)
  const note = await send('POST', '/v1/notes', { title: 'T', summary: 's', body: 'b', topics: ['training'], distribution: 'organisation' })
  t.equal(note.statusCode, 201)
  await send('GET', `/v1/notes/${json<{ id: string }>(note).id}`)

  for (const s of seen) t.same(check(s.method, s.url, s.res), [], `${s.method} ${s.url.split('?')[0]} → ${s.res.statusCode}`)
})

t.test('the check catches what openapi.yaml does not say', async (t) => {
  const ok = { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'r' }
  t.same(check('GET', '/v1/me', { statusCode: 200, headers: ok, body: '{}' }).length > 0, true, 'a body missing required fields')
  t.match(check('GET', '/v1/me', { statusCode: 418, headers: ok, body: '{}' }), [/status 418 is not declared/])
  t.match(check('GET', '/v1/indicators', { statusCode: 200, headers: { ...ok, 'content-type': 'text/csv' }, body: 'a,b' }), [/media type text\/csv/])
  t.match(check('GET', '/v1/organisations', { statusCode: 200, headers: { ...ok, location: '/x' }, body: '{"items":[],"nextCursor":null}' }), [
    /sends location, which is not declared/,
  ])
  t.match(check('GET', '/v1/me', { statusCode: 401, headers: { 'content-type': 'application/problem+json' }, body: '{}' }), [/no X-Request-Id|body/])
  t.match(
    check('GET', `/taxii2/dcx/collections/${randomUUID()}/`, { statusCode: 404, headers: { ...ok, 'content-type': 'application/problem+json' }, body: '{}' }),
    [/media type application\/problem\+json is not declared/],
  )
  t.match(check('GET', '/v1/nothing', { statusCode: 404, headers: ok, body: '{}' }), [/not a 404 application\/problem\+json/])
})

t.test('a request the HTTP parser refuses (a header with a control character) answers problem+json', async (t) => {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('GET /v1/indicators HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n'))
    let out = ''
    socket.on('data', (d) => {
      out += d.toString('utf8')
    })
    socket.on('end', () => resolve(out))
    socket.on('error', reject)
  })
  const [head = '', body = ''] = raw.split('\r\n\r\n')
  t.match(head, /^HTTP\/1\.1 400 /)
  t.match(head, /content-type: application\/problem\+json/i)
  t.match(head, /x-request-id: /i)
  t.match(JSON.parse(body), { type: /\/problems\/bad-request$/, title: 'Bad request', status: 400, detail: String, requestId: String })
})
