// Requests only INSERT their event; the chainer links them afterwards. Under 200 concurrent mixed
// requests every event still gets exactly one place in an unbroken chain.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'drizzle-orm'
import { rows } from '../../src/db/client.js'
import { loadConfig } from '../../src/config.js'
import { as, buildTestApp, createAccount, json, orgWith, unique } from '../helper.js'
import { privateApp } from './private-db.js'

// Several apps (and databases) per file: on a loaded machine this file may need more than the
// default two minutes. A limit on the run, not an assertion on timing.
t.setTimeout(300_000)

const N = 200

t.test(`${N} concurrent requests: one event each, all chained, the chain verifies`, async (t) => {
  const app = await buildTestApp(t)
  const owner = await orgWith(app, ['contributor'], { sector: 'police' })
  const viewer = await orgWith(app, ['reader'], { sector: 'customs' })
  const auditor = await createAccount(app, viewer.org.id, ['auditor'])
  const C = as(app, owner.contributor.token)
  const R = as(app, viewer.reader.token)
  // One indicator per PATCH: contended row locks would only measure the pool, not the audit.
  const seeded: string[] = []
  for (let i = 0; i < N / 8; i++) {
    const res = await C.post('/v1/indicators', { type: 'domain', value: `${unique('cc')}.example`, distribution: 'community', tlp: 'green' })
    seeded.push(json<{ id: string }>(res).id)
  }

  const kinds = [
    () => C.post('/v1/indicators', { type: 'domain', value: `${unique('cc')}.example`, distribution: 'community', tlp: 'green' }),
    (i: number) => R.get(`/v1/indicators/${seeded[i % seeded.length]}`),
    () => R.get('/v1/indicators?type=domain&limit=5'),
    (i: number) => R.post('/v1/indicators/match', { values: [{ value: `cc-${i}.example` }] }),
    (i: number) => C.patch(`/v1/indicators/${seeded[Math.floor(i / 8)]}`, { confidence: i % 101 }),
    () => R.get(`/v1/indicators/${randomUUID()}`),
    () => as(app, undefined).get('/v1/me'),
    () =>
      as(app, undefined).post('/v1/auth/token', {
        grant_type: 'client_credentials',
        client_id: viewer.reader.clientId,
        client_secret: viewer.reader.clientSecret,
      }),
  ]
  const responses: LightMyRequestResponse[] = await Promise.all(
    Array.from({ length: N }, (_, i) => (kinds[i % kinds.length] as (i: number) => Promise<LightMyRequestResponse>)(i)),
  )
  const statuses = new Map<number, number>()
  for (const r of responses) statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1)
  // A loaded shared server may answer 503 (pool wait); a 500 would be a defect.
  t.notOk(statuses.has(500), `no internal errors: ${JSON.stringify([...statuses])}`)
  const ids = responses.map((r) => r.headers['x-request-id'] as string)
  t.equal(new Set(ids).size, N, 'distinct request ids')

  // Chain what has committed. On a shared server another node's chainer may hold the chain lock
  // for a moment, or older open transactions hold the horizon back: keep asking until ours are in.
  const ours = async () =>
    rows<{ request_id: string; outcome: string; sequence: string | null }>(
      app.db,
      sql`select e.request_id, e.outcome, c.sequence from audit_events e left join audit_chain c on c.event_id = e.id
          where e.request_id in (${sql.join(
            ids.map((id) => sql`${id}`),
            sql`, `,
          )})`,
    )
  let events = await ours()
  for (let i = 0; i < 300 && events.some((e) => e.sequence === null); i++) {
    await app.chainer.chainNow()
    if (i) await new Promise((r) => setTimeout(r, 100))
    events = await ours()
  }
  t.equal(events.length, N, 'exactly one event per request')
  t.same(new Set(events.map((e) => e.request_id)), new Set(ids), 'every request has its event')
  t.ok(
    events.every((e) => e.sequence !== null),
    'every event has a sequence',
  )
  const seqs = events.map((e) => Number(e.sequence)).sort((a, b) => a - b)
  t.equal(new Set(seqs).size, N, 'no two events share a sequence')
  const lo = seqs[0] as number
  const hi = seqs.at(-1) as number
  if (app.database.kind === 'pglite') {
    t.equal(hi - lo + 1, N, 'alone on this database: our sequences are contiguous')
  }
  const [span] = await rows<{ n: number }>(app.db, sql`select count(*)::int as n from audit_chain where sequence between ${lo} and ${hi}`)
  t.equal(span?.n, hi - lo + 1, 'no gap in the chain across our events')
  const outcomeById = new Map(events.map((e) => [e.request_id, e.outcome]))
  const wrong = responses.filter((r) => {
    const expected = r.statusCode < 400 ? 'ok' : r.statusCode < 500 ? 'denied' : 'error'
    return outcomeById.get(r.headers['x-request-id'] as string) !== expected
  })
  t.same(
    wrong.map((r) => `${r.statusCode} ${r.headers['x-request-id']}`),
    [],
    'each outcome matches its status (ok / denied / error)',
  )

  const A = as(app, auditor.token)
  const ranged = await A.get(`/v1/audit/verify?from=${lo}&to=${hi}`)
  t.match(json(ranged), { ok: true, firstInvalid: null, checked: hi - lo + 1 }, 'the range verifies')
  const whole = await A.get('/v1/audit/verify')
  t.equal(whole.statusCode, 200)
  t.match(json(whole), { ok: true, firstInvalid: null }, `the whole chain verifies: ${whole.body}`)
})

// chainNow() promises to cover everything committed before it was called, even when a run
// (the background tick, say) is already in flight and read before those events committed.
t.test('chainNow covers events committed while an earlier run was in flight', async (t) => {
  const app = await privateApp(t) // alone: no other node's chainer holds the lock
  app.chainer.stop()
  const { reader } = await orgWith(app, ['reader'])
  const missed: string[] = []
  for (let i = 0; i < 30; i++) {
    const inFlight = app.chainer.chainNow()
    const res = await as(app, reader.token).get('/v1/me')
    const rid = res.headers['x-request-id'] as string
    // A transaction of this database still finishing holds the horizon back (dcx_horizon()).
    // Only an event below it must be chained.
    for (let j = 0; j < 200; j++) {
      const [h] = await rows<{ below: boolean }>(
        app.db,
        sql`select xid < (select horizon from dcx_horizon()) as below from audit_events where request_id = ${rid}`,
      )
      if (h?.below) break
      await new Promise((r) => setTimeout(r, 20))
    }
    await app.chainer.chainNow()
    const [row] = await rows<{ sequence: string | null }>(
      app.db,
      sql`select c.sequence from audit_events e left join audit_chain c on c.event_id = e.id where e.request_id = ${rid}`,
    )
    if (row?.sequence === null) missed.push(rid)
    await inFlight
  }
  t.same(missed, [], 'every event committed before chainNow() is chained when it resolves')
})

// Tests drive the chainer themselves (testConfig turns its timer off); the service does not wait
// to be asked: with the timer on, as by default, events are linked without anyone calling it.
t.test('the chainer timer, on by default, links events by itself', async (t) => {
  t.equal(loadConfig({}).auditChainTimer, true, 'on by default')
  const app = await privateApp(t, { DCX_AUDIT_CHAIN_TIMER: 'true' })
  const { reader } = await orgWith(app, ['reader'])
  const rid = (await as(app, reader.token).get('/v1/me')).headers['x-request-id'] as string
  const sequence = async () =>
    (
      await rows<{ sequence: string | null }>(
        app.db,
        sql`select c.sequence from audit_events e left join audit_chain c on c.event_id = e.id where e.request_id = ${rid}`,
      )
    )[0]?.sequence ?? null
  // A bound on the wait, not an assertion on its length (older transactions elsewhere on a shared
  // server can hold the chainer's horizon back).
  let seq = await sequence()
  for (let i = 0; i < 600 && seq === null; i++) {
    await new Promise((r) => setTimeout(r, 50))
    seq = await sequence()
  }
  t.not(seq, null, 'the event was chained without a call to chainNow()')
})
