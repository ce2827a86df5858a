// Batch calls (bulk, match, imports: the routes with a body limit beyond the default) run at most
// DCX_BATCH_CONCURRENCY at a time per node; the rest wait their turn, and every way a call ends —
// an answer, a refusal, a body too large, a client gone — gives its slot back.
import net from 'node:net'
import t from 'tap'
import { as, buildTestApp, orgWith } from '../helper.js'
import { Semaphore } from '../../src/core/semaphore.js'

t.test('the semaphore', async (t) => {
  t.throws(() => new Semaphore(0), RangeError)
  const s = new Semaphore(2)
  const a = await s.acquire()
  const b = await s.acquire()
  const order: string[] = []
  const c = s.acquire().then((r) => (order.push('c'), r))
  const d = s.acquire().then((r) => (order.push('d'), r))
  await new Promise((r) => setImmediate(r))
  t.same(s.state, { active: 2, waiting: 2 }, 'two hold, two wait')
  a()
  a()
  await new Promise((r) => setImmediate(r))
  t.same(order, ['c'], 'a release hands one slot over, first come first served; a second call of it does nothing')
  b()
  ;(await c)()
  ;(await d)()
  t.same(s.state, { active: 0, waiting: 0 }, 'all slots back')
})

t.test('batch calls through HTTP', async (t) => {
  const app = await buildTestApp(t, { DCX_BATCH_CONCURRENCY: '1' })
  const { contributor, reader } = await orgWith(app, ['contributor', 'reader'])
  const values = Array.from({ length: 2_000 }, (_, i) => ({ type: 'email', value: `nobody.${i}@batch.example` }))

  let peak = 0
  let queued = 0
  const sampler = setInterval(() => {
    peak = Math.max(peak, app.batchSlots.state.active)
    queued = Math.max(queued, app.batchSlots.state.waiting)
  }, 1)
  const answers = await Promise.all(Array.from({ length: 6 }, () => as(app, reader.token).post('/v1/indicators/match', { values })))
  clearInterval(sampler)
  t.same(
    answers.map((r) => r.statusCode),
    [200, 200, 200, 200, 200, 200],
    'every call answered',
  )
  t.equal(peak, 1, 'one at a time')
  t.ok(queued >= 1, 'the others waited')
  t.same(app.batchSlots.state, { active: 0, waiting: 0 }, 'slots back after answers')

  // Refusals: a role without the operation, an invalid body, a body over the limit, no token.
  t.equal((await as(app, reader.token).post('/v1/indicators/bulk', { items: [] })).statusCode, 403)
  t.equal((await as(app, contributor.token).post('/v1/indicators/bulk', { items: 'no' })).statusCode, 400)
  const huge = await app.inject({
    method: 'POST',
    url: '/v1/indicators/match',
    headers: { authorization: `Bearer ${reader.token}`, 'content-type': 'application/json' },
    payload: `{"values":[${'"x",'.repeat(3_000_000)}"x"]}`,
  })
  t.equal(huge.statusCode, 413)
  t.equal((await as(app, undefined).post('/v1/indicators/match', { values })).statusCode, 401)
  t.same(app.batchSlots.state, { active: 0, waiting: 0 }, 'slots back after refusals')

  // Other routes never wait for a slot.
  const release = await app.batchSlots.acquire()
  t.equal((await as(app, reader.token).get('/v1/indicators?limit=1')).statusCode, 200, 'a read passes while the slot is taken')
  release()

  // A client that goes away while waiting: its slot is given back when its turn comes.
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as net.AddressInfo
  const hold = await app.batchSlots.acquire()
  const sock = net.connect(port, '127.0.0.1')
  await new Promise((r) => sock.once('connect', r))
  const body = JSON.stringify({ values })
  sock.write(
    `POST /v1/indicators/match HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${reader.token}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
  for (let i = 0; i < 500 && app.batchSlots.state.waiting === 0; i++) await new Promise((r) => setTimeout(r, 10))
  t.equal(app.batchSlots.state.waiting, 1, 'the socket call waits')
  sock.destroy()
  await new Promise((r) => setTimeout(r, 50))
  hold()
  for (let i = 0; i < 500 && app.batchSlots.state.active > 0; i++) await new Promise((r) => setTimeout(r, 10))
  t.same(app.batchSlots.state, { active: 0, waiting: 0 }, "the gone client's slot is back")
})
