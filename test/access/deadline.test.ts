// The request deadline (src/core/deadline.ts, issue 11): nothing commits after it. A request
// past its deadline before COMMIT is answered 503 problem+json with Retry-After, leaves no row
// and no audit event claiming success, and its retry with the same Idempotency-Key runs afresh.
// Over a real socket the client gets that answer, never a cut connection. On both databases.
//
// Slowness is made deterministic, never measured: a 1 s deadline (the least the configuration
// takes) against a 2.5 s sleep inside the transaction — in JavaScript on a test-only route, or in
// the database (a trigger calling pg_sleep) on the real POST /v1/indicators.
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { sql } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { build } from '../../src/app.js'
import { idempotent } from '../../src/access/idempotency.js'
import { indicatorsService } from '../../src/modules/indicators/indicators.service.js'
import { Deadline, DeadlineExceeded, MAX_STATEMENT_MS, deadlineIn, receiveTimeoutMs, serverTimeoutMs } from '../../src/core/deadline.js'
import { as, isProblem, orgWith, testConfig, testDatabase, type TestOrg } from '../helper.js'
import { countAs, vendorAlias, type IndicatorInput } from '../exchange/fixtures.js'

const DEADLINE_MS = 1_000
const SLOW_MS = 2_500

const config = testConfig({ DCX_REQUEST_TIMEOUT_MS: String(DEADLINE_MS) })
const app: FastifyInstance = await build(config, await testDatabase(config))
// Test-only routes, registered before ready (so the policy and audit hooks see them): an
// indicator created inside the request's transaction, then a pause before it commits.
await app.register(
  async (v1) => {
    v1.post('/test-slow-indicator', { schema: { operationId: 'createIndicator' } }, async (req, reply) => {
      const pause = Number(req.headers['x-test-pause-ms'] ?? 0)
      const out = await idempotent(req, async () => {
        const body = await indicatorsService.create(req.ctx, req.body as never)
        if (pause) await sleep(pause)
        return { status: 201, body }
      })
      if (out.replayed) reply.header('idempotent-replayed', 'true')
      return reply.code(201).send(out.body)
    })
    // The deadline error as drizzle hands it on when a query throws it: wrapped, with a cause.
    v1.post('/test-wrapped-deadline', { schema: { operationId: 'createIndicator' } }, async () => {
      throw Object.assign(new Error('Failed query: commit'), { name: 'DrizzleQueryError', query: 'commit', params: [], cause: new DeadlineExceeded() })
    })
  },
  { prefix: '/v1' },
)
await app.ready()
t.teardown(() => app.close())

const pg = app.database.kind === 'pg'

const countValue = (org: TestOrg, value: string) =>
  countAs(app, org, sql`select count(*) as n from indicators where organisation_id = ${org.id} and value = ${value}`)

async function eventsOf(requestId: string) {
  return app.database.asOwner((q) => q(sql`select outcome, status, action from audit_events where request_id = ${requestId} order by id`))
}

async function assertNothingCommitted(t: Test, org: TestOrg, value: string, requestId: string) {
  t.equal(await countValue(org, value), 0, 'the indicator did not commit')
  const events = await eventsOf(requestId)
  t.notOk(
    events.some((e) => e.outcome === 'ok'),
    'no audit event claims success',
  )
  t.match(events, [{ outcome: 'error', status: 503 }], 'the refusal itself is recorded: outcome error, 503')
}

function isDeadline503(t: Test, res: Parameters<typeof isProblem>[1]) {
  const p = isProblem(t, res, 503)
  t.match(p.type, /\/problems\/timeout$/, 'problem type …/timeout')
  t.match(p.detail, /nothing of it was committed/)
  t.equal(res.headers['retry-after'], '5', 'Retry-After: 5')
  return p
}

t.test('Deadline: the statement_timeout is the time left, at most 30 s, never 0 (no limit)', async (t) => {
  t.equal(Deadline.after(10 * 60_000).statementTimeoutMs(), MAX_STATEMENT_MS)
  const soon = Deadline.after(5_000).statementTimeoutMs()
  t.ok(soon > 0 && soon <= 5_000, `${soon} ms`)
  const past = Deadline.after(-1)
  t.equal(past.statementTimeoutMs(), 1)
  t.ok(past.passed())
  t.throws(() => past.check(), DeadlineExceeded)
  t.doesNotThrow(() => Deadline.after(60_000).check())
  const wrapped = new Error('Failed query', { cause: new Error('inner', { cause: new DeadlineExceeded() }) })
  t.type(deadlineIn(wrapped), DeadlineExceeded, 'found along the cause chain')
  t.equal(deadlineIn(new Error('other')), undefined)
})

t.test('the server waits longer than the deadline before it would cut a socket', async (t) => {
  const server = app.server
  const limit = serverTimeoutMs(DEADLINE_MS)
  t.ok(limit > DEADLINE_MS + 1_000, `socket timeout ${limit} ms > deadline + margin`)
  t.equal(server.timeout, limit, 'connection (socket inactivity) timeout, which runs while a handler works')
  t.ok(serverTimeoutMs(30_000) >= 60_000, 'by default: a statement begun just before the deadline may run its statement_timeout out')
  // Receiving the request: no handler runs before it is complete, so these need only outlast the deadline.
  const receive = receiveTimeoutMs(DEADLINE_MS)
  t.ok(receive > DEADLINE_MS + 1_000, `receive timeout ${receive} ms > deadline + margin`)
  t.equal(server.requestTimeout, receive, 'request timeout')
  t.equal(server.headersTimeout, receive, 'headers timeout')
})

t.test('past the deadline before COMMIT: 503, nothing committed; the retry with the same key is processed', async (t) => {
  const O = await orgWith(app, ['contributor'], { sector: 'police' })
  const c = as(app, O.contributor.token)
  const body: IndicatorInput = vendorAlias()
  const key = `key-${randomUUID()}`
  const requestId = `deadline-${randomUUID()}`
  const slow = await c.post('/v1/test-slow-indicator', body, { 'idempotency-key': key, 'x-test-pause-ms': String(SLOW_MS), 'x-request-id': requestId })
  isDeadline503(t, slow)
  await assertNothingCommitted(t, O.org, body.value, requestId)

  const retry = await c.post('/v1/test-slow-indicator', body, { 'idempotency-key': key })
  t.equal(retry.statusCode, 201, `the retry runs afresh, not a replay of the 503: ${retry.body.slice(0, 200)}`)
  t.notOk(retry.headers['idempotent-replayed'], 'not replayed')
  t.equal(await countValue(O.org, body.value), 1, 'and commits exactly once')
  const again = await c.post('/v1/test-slow-indicator', body, { 'idempotency-key': key })
  t.equal(again.headers['idempotent-replayed'], 'true', 'from then on, the stored 201 is replayed')
  t.equal(await countValue(O.org, body.value), 1)
})

t.test('a normal request is unaffected by the deadline', async (t) => {
  const O = await orgWith(app, ['contributor', 'reader'], { sector: 'police' })
  const body = vendorAlias()
  const res = await as(app, O.contributor.token).post('/v1/indicators', body, { 'idempotency-key': `key-${randomUUID()}` })
  t.equal(res.statusCode, 201, res.body.slice(0, 200))
  t.notOk(res.headers['retry-after'])
  const read = await as(app, O.reader.token).get(`/v1/indicators/${res.json().id}`)
  t.equal(read.statusCode, 200)
  t.equal(await countValue(O.org, body.value), 1)
})

t.test('a slow statement in the database: stopped at the deadline (PostgreSQL) or rolled back after it (PGlite)', async (t) => {
  const O = await orgWith(app, ['contributor'], { sector: 'police' })
  const body = vendorAlias()
  const name = `dcx_test_slow_${randomUUID().replaceAll('-', '').slice(0, 12)}`
  const owner = (text: string) => app.database.asOwner((q) => q(sql.raw(text)))
  await owner(`create function ${name}() returns trigger language plpgsql as $$ begin perform pg_sleep(${SLOW_MS / 1000}); return new; end $$`)
  await owner(`create trigger ${name} before insert on indicators for each row when (new.value = '${body.value}') execute function ${name}()`)
  let dropped = false
  const drop = async () => {
    if (dropped) return
    dropped = true
    await owner(`drop trigger if exists ${name} on indicators`)
    await owner(`drop function if exists ${name}()`)
  }
  t.teardown(drop)
  const key = `key-${randomUUID()}`
  const requestId = `deadline-${randomUUID()}`
  const res = await as(app, O.contributor.token).post('/v1/indicators', body, { 'idempotency-key': key, 'x-request-id': requestId })
  isDeadline503(t, res)
  await assertNothingCommitted(t, O.org, body.value, requestId)
  await drop()
  const retry = await as(app, O.contributor.token).post('/v1/indicators', body, { 'idempotency-key': key })
  t.equal(retry.statusCode, 201, `the retry is processed: ${retry.body.slice(0, 200)}`)
  t.notOk(retry.headers['idempotent-replayed'])
  t.equal(await countValue(O.org, body.value), 1)
  // PostgreSQL: the pooled connections that ran into statement_timeout are in working order.
  if (pg) for (let i = 0; i < 3; i++) t.equal((await as(app, O.contributor.token).get(`/v1/indicators/${retry.json().id}`)).statusCode, 200)
})

t.test('the deadline error wrapped by drizzle (DrizzleQueryError, cause) is still the 503', async (t) => {
  const O = await orgWith(app, ['contributor'], { sector: 'police' })
  isDeadline503(t, await as(app, O.contributor.token).post('/v1/test-wrapped-deadline', {}))
})

t.test('over a real socket: the client gets the 503, not a cut connection', async (t) => {
  const O = await orgWith(app, ['contributor'], { sector: 'police' })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  const body = vendorAlias()
  const payload = JSON.stringify(body)
  const answer = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/test-slow-indicator',
        agent: false,
        headers: {
          authorization: `Bearer ${O.contributor.token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          'x-test-pause-ms': String(SLOW_MS),
        },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => (text += d))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }))
        res.on('error', reject)
      },
    )
    req.on('error', reject) // a cut connection (ECONNRESET, socket hang up) fails the test
    req.end(payload)
  })
  t.equal(answer.status, 503, answer.body.slice(0, 200))
  t.match(answer.headers['content-type'], /^application\/problem\+json/)
  t.equal(answer.headers['retry-after'], '5')
  t.match(JSON.parse(answer.body), { type: /\/problems\/timeout$/, status: 503 })
  t.equal(await countValue(O.org, body.value), 0, 'nothing committed')
})
