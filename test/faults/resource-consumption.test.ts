// OWASP API4 (unrestricted resource consumption): oversized bodies, 10,001-value matches,
// 1,001-item bulks, huge limits, deep JSON nesting, long strings, many keys, slow clients. Each is
// refused with a clear 4xx (problem+json where the request reaches the application), and the
// server stays responsive: after every case a health check and a real read still answer.
// (Body-limit and bad-query basics for the organisation routes are in test/foundation/errors.test.ts.)
import { connect, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { isOperation, POLICY, rolesAllowed } from '../../src/access/policy.js'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { build } from '../../src/app.js'
import { as, buildTestApp, isProblem, orgWith, testConfig, testDatabase, unique } from '../helper.js'
import { holds, operationFor, poll } from './support.js'

const app = await buildTestApp(t)
const O = await orgWith(app, ['reader', 'contributor', 'org_admin', 'platform_admin', 'auditor'], { sector: 'customs' })
const c = as(app, O.contributor.token)

const raw = (method: InjectOptions['method'], url: string, payload: string | Buffer, headers: Record<string, string> = {}) =>
  app.inject({ method, url, payload, headers: { authorization: `Bearer ${O.org_admin.token}`, 'content-type': 'application/json', ...headers } })

async function stillServing(t: Tap, label: string) {
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, `${label}: /healthz still answers`)
  t.equal((await as(app, O.reader.token).get('/v1/indicators?limit=1')).statusCode, 200, `${label}: a real read still answers`)
}
type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

const problemFor = (t: Tap, res: LightMyRequestResponse, status: number, label: string) => {
  isProblem(t, res, status)
  holds(t, res, undefined, label)
}

t.test('oversized bodies: 413 at the configured limits', async (t) => {
  const mib = 1024 * 1024
  const big = JSON.stringify({ type: 'vendor_alias', value: 'x', description: 'd'.repeat(mib) })
  const p = isProblem(t, await raw('POST', '/v1/indicators', big), 413)
  t.match(p.detail, /1048576/, 'names the limit')
  // Bulk and match allow 8 MiB, and no more.
  const huge = JSON.stringify({ items: [{ type: 'vendor_alias', value: 'x', description: 'd'.repeat(8 * mib) }] })
  problemFor(t, await raw('POST', '/v1/indicators/bulk', huge), 413, 'bulk > 8 MiB')
  problemFor(t, await raw('POST', '/v1/indicators/match', JSON.stringify({ values: [{ value: 'v'.repeat(8 * mib) }] })), 413, 'match > 8 MiB')
  // Every JSON route with a body, at 1 MiB + 1.
  for (const [method, url] of [
    ['POST', '/v1/notes'],
    ['PATCH', `/v1/notes/${crypto.randomUUID()}`],
    ['POST', '/v1/sharing-groups'],
    ['POST', '/v1/organisations'],
    ['PATCH', `/v1/indicators/${crypto.randomUUID()}`],
    ['POST', `/v1/indicators/${crypto.randomUUID()}/sightings`],
  ] as const) {
    problemFor(t, await raw(method, url, `{"x":"${'y'.repeat(mib)}"}`), 413, `${method} ${url}`)
  }
  // The token endpoint's form body has its own 16 KiB limit.
  const form = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `grant_type=client_credentials&client_id=x&client_secret=${'s'.repeat(20_000)}`,
  })
  t.ok(form.statusCode === 413 || form.statusCode === 400, `token form over 16 KiB refused (${form.statusCode})`)
  t.ok(form.statusCode < 500)
  await stillServing(t, 'oversized')
})

t.test('match: 10,000 values answer, 10,001 are refused', async (t) => {
  const values = (n: number) => Array.from({ length: n }, (_, i) => ({ type: 'postal_item' as const, value: `RR${String(i).padStart(8, '0')}0DE` }))
  const over = isProblem(t, await c.post('/v1/indicators/match', { values: values(10_001) }), 400)
  t.ok(
    (over.errors ?? []).some((e) => e.name === 'body.values'),
    'names body.values',
  )
  const untypedOver = isProblem(t, await c.post('/v1/indicators/match', { values: Array.from({ length: 10_001 }, (_, i) => ({ value: `v${i}` })) }), 400)
  t.ok(untypedOver)
  const res = await c.post('/v1/indicators/match', { values: values(10_000) })
  t.equal(res.statusCode, 200, 'the boundary is served')
  t.equal((res.json() as { results: unknown[] }).results.length, 10_000, 'one result per value')
  await stillServing(t, 'match')
})

t.test('bulk: 1,000 items answer, 1,001 are refused and nothing is stored', async (t) => {
  const items = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ type: 'vendor_alias', value: `${tag}-${i}`, tags: [tag] }))
  const tagOver = unique('over')
  const over = isProblem(t, await c.post('/v1/indicators/bulk', { items: items(1_001, tagOver) }), 400)
  t.ok(
    (over.errors ?? []).some((e) => e.name === 'body.items'),
    'names body.items',
  )
  const listed = await as(app, O.reader.token).get(`/v1/indicators?tag=${tagOver}&limit=5`)
  t.same(listed.json().items, [], 'nothing stored')
  const tag = unique('bulk')
  const res = await c.post('/v1/indicators/bulk', { items: items(1_000, tag) })
  t.equal(res.statusCode, 200)
  const results = (res.json() as { results: { status: string }[] }).results
  t.equal(results.filter((r) => r.status === 'created').length, 1_000, 'all 1,000 created')
  await stillServing(t, 'bulk')
})

t.test('huge and malformed limits on every list: 400 naming query.limit', async (t) => {
  const lists = [
    '/v1/organisations',
    `/v1/organisations/${O.org.id}/accounts`,
    '/v1/indicators',
    '/v1/notes',
    '/v1/changes',
    '/v1/audit/events',
    '/v1/audit/checkpoints',
  ]
  for (const url of lists) {
    for (const limit of ['1000000', '9007199254740993', '1e309', 'Infinity', '-Infinity', 'NaN', '-1', '0', '1.5', '1e4', '99999999999999999999999', 'abc']) {
      const res = await as(app, O.platform_admin.token).get(`${url}?limit=${encodeURIComponent(limit)}`)
      // The list routes of content need reader+ on some roles; the platform admin is refused or validated, never a 5xx.
      const op = operationFor('GET', url.replace(O.org.id, ':id'))
      holds(t, res, op, `${url}?limit=${limit}`)
      if (res.statusCode === 400)
        t.ok(
          (res.json() as { errors?: { name: string }[] }).errors?.some((e) => e.name === 'query.limit'),
          `${url}?limit=${limit}: names query.limit`,
        )
      else if (res.statusCode === 403) {
        // The role check runs before validation: refused only where the policy refuses the platform admin.
        const roles = op && isOperation(op.operationId) ? rolesAllowed(POLICY[op.operationId]) : []
        t.ok(Array.isArray(roles) && !roles.includes('platform_admin'), `${url}?limit=${limit}: 403 only where the policy refuses platform_admin`)
      } else t.equal(res.statusCode, 400, `${url}?limit=${limit}: ${res.statusCode}`)
    }
  }
  // Repeated parameters are not a way around the schema.
  const repeated = await c.get(`/v1/indicators?${Array.from({ length: 1000 }, (_, i) => `tag=t${i}`).join('&')}`)
  t.equal(repeated.statusCode, 400, 'a parameter repeated 1,000 times is refused')
  holds(t, repeated, undefined, 'repeated parameter')
  await stillServing(t, 'limits')
})

t.test('deep JSON nesting is refused, with or without Idempotency-Key', async (t) => {
  const depth = 100_000
  const arrays = '['.repeat(depth) + '1' + ']'.repeat(depth)
  const objects = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)
  for (const [method, url, body] of [
    ['POST', '/v1/indicators', `{"type":"vendor_alias","value":"x","tags":${arrays}}`],
    ['POST', '/v1/indicators/bulk', `{"items":[${arrays}]}`],
    ['POST', '/v1/indicators/bulk', `{"items":[${objects}]}`],
    ['POST', '/v1/indicators/match', `{"values":[${objects}]}`],
    ['POST', '/v1/notes', `{"title":${objects}}`],
    ['POST', '/v1/sharing-groups', `{"name":"x","organisationIds":${arrays}}`],
    ['POST', '/v1/organisations', `{"contact":${objects}}`],
    ['POST', '/v1/auth/token', `{"grant_type":${arrays}}`],
  ] as const) {
    for (const key of [undefined, unique('deep')]) {
      const res = await raw(method, url, body, key ? { 'idempotency-key': key } : {})
      const label = `${url} ${body.slice(0, 30)}… ${key ? 'with' : 'without'} Idempotency-Key`
      // Bulk validates each item on its own: a deep item is an invalid item in a 200.
      if (url === '/v1/indicators/bulk' && res.statusCode === 200) {
        t.match(res.json(), { results: [{ status: 'invalid' }] }, `${label}: an invalid item`)
      } else if (url === '/v1/auth/token') {
        t.equal(res.statusCode, 400, `${label}: 400`)
      } else {
        t.ok(res.statusCode === 400 || res.statusCode === 403, `${label}: refused (${res.statusCode})`)
      }
      holds(t, res, operationFor(method, url), label)
    }
  }
  await stillServing(t, 'deep nesting')
})

t.test('long strings and many keys: 400, and an answer of bounded size', async (t) => {
  for (const [url, field] of [
    ['/v1/indicators', 'q'],
    ['/v1/notes', 'q'],
    ['/v1/indicators', 'value'],
    ['/v1/indicators', 'tag'],
    ['/v1/audit/events', 'action'],
    ['/v1/changes', 'cursor'],
    ['/v1/indicators', 'cursor'],
  ] as const) {
    const res = await as(app, O.org_admin.token).get(`${url}?${field}=${'a'.repeat(100_000)}`)
    isProblem(t, res, 400)
    t.ok(
      (res.json() as { errors?: { name: string }[] }).errors?.some((e) => e.name === `query.${field}`),
      `${url}?${field}=100k chars: names query.${field}`,
    )
  }
  for (const [header, value] of [
    ['idempotency-key', 'k'.repeat(10_000)],
    ['if-match', `"${'9'.repeat(10_000)}"`],
  ] as const) {
    const res = await c.post('/v1/indicators', { type: 'vendor_alias', value: unique('v') }, { [header]: value })
    const patch = header === 'if-match' ? await c.patch(`/v1/indicators/${crypto.randomUUID()}`, { confidence: 1 }, { [header]: value }) : res
    isProblem(t, header === 'if-match' ? patch : res, 400)
  }
  const rid = await as(app, O.reader.token).get('/v1/me', { 'x-request-id': 'r'.repeat(10_000) })
  t.equal(rid.statusCode, 200)
  t.ok(String(rid.headers['x-request-id']).length <= 128, 'an overlong request id is replaced, not echoed')

  // 40,000 unknown keys in one body (under the 1 MiB limit): refused, and the problem body does
  // not grow without bound with the number of offending keys.
  const keys = Object.fromEntries(Array.from({ length: 40_000 }, (_, i) => [`k${i}`, 1]))
  const body = JSON.stringify({ type: 'vendor_alias', value: 'x', ...keys })
  const res = await raw('POST', '/v1/indicators', body)
  isProblem(t, res, 400)
  t.ok(res.body.length < 64 * 1024, `the problem body is bounded (${res.body.length} B for a ${body.length} B request)`)
  const listed = (res.json() as { errors: { name: string; reason: string }[] }).errors
  t.ok(listed.length <= 101, `at most 100 problems listed, then a count (${listed.length})`)
  t.match(listed.at(-1)?.reason, /and \d+ more problems/)
  await stillServing(t, 'long strings')
})

t.test('slow clients on a real socket: cut off by the request timeout, the server keeps serving', async (t) => {
  const config = testConfig({ DCX_REQUEST_TIMEOUT_MS: '1500' })
  const server = await build(config, await testDatabase(config))
  await server.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => server.close())
  const { port } = server.server.address() as AddressInfo
  const base = `http://127.0.0.1:${port}`

  const open = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(s))
      s.on('error', () => {})
      s.once('error', reject)
    })
  const closedBy = (s: Socket) => {
    let received = ''
    s.on('data', (d: Buffer) => (received += d.toString()))
    return { closed: () => s.destroyed || s.readableEnded, received: () => received }
  }

  // Slowloris: 30 connections that send a header line every 300 ms and never finish.
  const loris = await Promise.all(Array.from({ length: 30 }, open))
  const watch = loris.map(closedBy)
  for (const s of loris) s.write('GET /v1/me HTTP/1.1\r\nHost: x\r\n')
  let stop = false
  const drip = (async () => {
    for (let i = 0; !stop && i < 60; i++) {
      await sleep(300)
      for (const s of loris) if (!s.destroyed) s.write(`X-Drip-${i}: a\r\n`)
    }
  })()
  // Slow body: headers complete, 10 of 1000 promised bytes, then silence — with a valid token
  // (the handler waits for the body) and without one (refused at once, before the body).
  const { contributor } = await orgWith(server, ['contributor'])
  const slowBodies = await Promise.all([open(), open()])
  const slowWatches = slowBodies.map(closedBy)
  slowBodies.forEach((s, i) =>
    s.write(
      `POST /v1/indicators HTTP/1.1\r\nHost: x\r\n${i === 0 ? `Authorization: Bearer ${contributor.token}\r\n` : ''}Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"type":"v`,
    ),
  )
  const slowWatch = { closed: () => slowWatches.every((w) => w.closed()) }
  // Idle: connects and sends nothing.
  const idle = await open()
  const idleWatch = closedBy(idle)

  // While they hang on, the server answers everyone else.
  const during = await fetch(`${base}/healthz`)
  t.equal(during.status, 200, 'a health check during the slow clients answers')

  const allClosed = await poll(async () => watch.every((w) => w.closed()) && slowWatch.closed() && idleWatch.closed(), 20)
  stop = true
  await drip
  t.ok(
    allClosed,
    `every slow connection was cut off (slowloris ${watch.filter((w) => w.closed()).length}/30, slow bodies ${slowWatches.map((w) => w.closed()).join('/')}, idle ${idleWatch.closed()})`,
  )
  t.match(
    slowWatches[1]?.received(),
    /^HTTP\/1\.1 401[^]*connection: close/i,
    'refused before its body: 401 and the connection closes (not held for the keep-alive timeout)',
  )
  const after = await fetch(`${base}/healthz`)
  t.equal(after.status, 200, 'the server still answers afterwards')

  // Oversized request line / headers on a real socket: Node's parser refuses them with 431.
  const longUrl = await fetch(`${base}/v1/indicators?q=${'a'.repeat(20_000)}`).catch((e: Error) => e)
  t.ok(
    !(longUrl instanceof Error) && longUrl.status === 431,
    `a 20 kB request line is refused (${longUrl instanceof Error ? longUrl.message : longUrl.status})`,
  )
  const bigHeader = await fetch(`${base}/healthz`, { headers: { 'x-filler': 'f'.repeat(20_000) } }).catch((e: Error) => e)
  t.ok(
    !(bigHeader instanceof Error) && bigHeader.status === 431,
    `a 20 kB header is refused (${bigHeader instanceof Error ? bigHeader.message : bigHeader.status})`,
  )
  t.equal((await fetch(`${base}/healthz`)).status, 200, 'and the server answers afterwards')
  for (const s of [...loris, ...slowBodies, idle]) s.destroy()
})
