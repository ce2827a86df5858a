// Large TAXII pushes (issue 14, TAXII 2.1 §4.3.1/§5.4): above the threshold (lowered here to 3
// objects) a POST answers 202 with status "pending" and pending_count = total; the objects are
// processed after the response (as the poster) and the status moves to "complete" with the
// counts. A status left pending by a node that died (inserted here directly, as the owner) is
// completed by the job, once: re-processing the same objects reports duplicates, never copies.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { buildTestApp, json, orgWith } from '../helper.js'
import { basicAuth, TAXII } from './support.js'

const app = await buildTestApp(t, { DCX_TAXII_ASYNC_OBJECTS: '3' })

type Status = {
  id: string
  status: string
  total_count: number
  success_count: number
  failure_count: number
  pending_count: number
  failures: { id: string }[]
}

function client(user: string, password: string) {
  const authorization = basicAuth(user, password)
  return {
    get: (url: string) => app.inject({ method: 'GET', url, headers: { authorization, accept: TAXII } }),
    post: (url: string, body: unknown) =>
      app.inject({ method: 'POST', url, headers: { authorization, accept: TAXII, 'content-type': TAXII }, payload: JSON.stringify(body) }),
  }
}

const indicator = (i: number) => ({
  type: 'indicator',
  spec_version: '2.1',
  id: `indicator--${randomUUID()}`,
  created: '2025-03-01T00:00:00.000Z',
  modified: '2025-03-02T00:00:00.000Z',
  name: `pending ${i}`,
  indicator_types: ['malicious-activity'],
  pattern: `[domain-name:value = 'pending-${i}-${randomUUID().slice(0, 8)}.example']`,
  pattern_type: 'stix',
  valid_from: '2025-03-01T00:00:00Z',
})

const owner = (query: ReturnType<typeof sql>) => app.database.maintain((q) => q(query))

t.test('a push above the threshold answers pending, then completes with the right counts', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const C = client(a.contributor.clientId, a.contributor.clientSecret)
  const coll = `/taxii2/dcx/collections/${a.org.id}/`
  const good = Array.from({ length: 4 }, (_, i) => indicator(i))
  const bad = { type: 'indicator', spec_version: '2.1', id: `indicator--${randomUUID()}`, pattern: 'not a pattern', pattern_type: 'stix' }
  const res = await C.post(`${coll}objects/`, { type: 'bundle', id: `bundle--${randomUUID()}`, objects: [...good, bad] })
  t.equal(res.statusCode, 202, res.body.slice(0, 300))
  const accepted = json<Status>(res)
  t.match(accepted, { status: 'pending', total_count: 5, pending_count: 5, success_count: 0, failure_count: 0 })

  // The node that took it processes it after the response; runOnce waits for that, then sweeps.
  await app.taxiiPending.runOnce()
  const done = json<Status>(await C.get(`/taxii2/dcx/status/${accepted.id}/`))
  t.match(done, { id: accepted.id, status: 'complete', total_count: 5, success_count: 4, failure_count: 1, pending_count: 0 })
  t.equal(done.failures[0]?.id, bad.id)
  for (const o of good) t.equal((await C.get(`${coll}objects/${o.id}/`)).statusCode, 200, `${o.id} retrievable`)

  // Audited: the acceptance (the request's event) and the processing, as the poster.
  const events = await owner(sql`select action, account_id, details from audit_events where details ->> 'statusId' = ${accepted.id} order by id`)
  t.same(
    events.map((e) => e.action),
    ['taxii.object.add', 'taxii.object.add.process'],
  )
  t.ok(events.every((e) => e.account_id === a.contributor.id))
  const d = events[1]?.details as Record<string, number>
  t.match(d, { submitted: 5, created: 4 })
  t.equal((d.invalid ?? 0) + (d.unsupported ?? 0), 1, 'the bad object counted as a failure')

  // Another organisation never sees the status.
  const b = await orgWith(app, ['contributor'])
  t.equal((await client(b.contributor.clientId, b.contributor.clientSecret).get(`/taxii2/dcx/status/${accepted.id}/`)).statusCode, 404)
})

t.test('a pending status left by a dead node is completed by the job, once', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const C = client(a.contributor.clientId, a.contributor.clientSecret)
  const coll = `/taxii2/dcx/collections/${a.org.id}/`
  const objects = [indicator(10), indicator(11)]
  const crashed = async () => {
    const id = randomUUID()
    const status = {
      id,
      status: 'pending',
      request_timestamp: new Date().toISOString(),
      total_count: 2,
      success_count: 0,
      successes: [],
      failure_count: 0,
      failures: [],
      pending_count: 2,
      pendings: [],
    }
    const work = { objects, request: { requestId: 'req-crashed', clientAddress: '192.0.2.1', userAgent: 'taxii2-client' } }
    await owner(sql`insert into taxii_statuses (id, organisation_id, account_id, collection_id, status, pending_objects)
                    values (${id}::uuid, ${a.org.id}::uuid, ${a.contributor.id}::uuid, ${a.org.id}, ${JSON.stringify(status)}::jsonb, ${JSON.stringify(work)}::jsonb)`)
    return id
  }
  const first = await crashed()
  t.equal(json<Status>(await C.get(`/taxii2/dcx/status/${first}/`)).status, 'pending')
  t.ok((await app.taxiiPending.runOnce()) >= 1)
  t.match(json<Status>(await C.get(`/taxii2/dcx/status/${first}/`)), {
    status: 'complete',
    total_count: 2,
    success_count: 2,
    failure_count: 0,
    pending_count: 0,
  })
  for (const o of objects) t.equal((await C.get(`${coll}objects/${o.id}/`)).statusCode, 200)
  const count = async () => Number((await owner(sql`select count(*)::int as n from indicators where organisation_id = ${a.org.id}::uuid`))[0]?.n)
  t.equal(await count(), 2)

  // Done is done: the job leaves a completed status alone.
  t.equal(await app.taxiiPending.runOnce(), 0)
  // The same objects pending again (a node died after the import but before anyone could tell):
  // processed as duplicates, nothing stored twice.
  const again = await crashed()
  await app.taxiiPending.runOnce()
  const s = json<Status & { successes: { message: string }[] }>(await C.get(`/taxii2/dcx/status/${again}/`))
  t.match(s, { status: 'complete', success_count: 2 })
  t.ok(s.successes.every((x) => x.message.startsWith('already held')))
  t.equal(await count(), 2)
})

t.test('below the threshold a push is processed in its request, as before', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const C = client(a.contributor.clientId, a.contributor.clientSecret)
  const res = await C.post(`/taxii2/dcx/collections/${a.org.id}/objects/`, { objects: [indicator(20), indicator(21), indicator(22)] })
  t.equal(res.statusCode, 202)
  t.match(json<Status>(res), { status: 'complete', total_count: 3, success_count: 3, pending_count: 0 })
})

t.test('a reader may not push a large bundle either', async (t) => {
  const a = await orgWith(app, ['reader'])
  const C = client(a.reader.clientId, a.reader.clientSecret)
  const res = await C.post(`/taxii2/dcx/collections/${a.org.id}/objects/`, { objects: [indicator(30), indicator(31), indicator(32), indicator(33)] })
  t.equal(res.statusCode, 403)
  t.equal(Number((await owner(sql`select count(*)::int as n from taxii_statuses where organisation_id = ${a.org.id}::uuid`))[0]?.n), 0)
})
