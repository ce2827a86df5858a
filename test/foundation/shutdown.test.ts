// Graceful shutdown on a real socket: a request in flight when close() starts completes (and
// can still use the database); new connections are refused once the server stops listening.
import { Agent, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { build } from '../../src/app.js'
import { organisations } from '../../src/db/schema/index.js'
import { createOrg, testConfig, testDatabase } from '../helper.js'

interface Outcome {
  status?: number
  headers?: Record<string, string | string[] | undefined>
  body?: string
  code?: string
}

/** A GET resolving to the response or the socket error code; a fresh connection unless an agent is given. */
function get(port: number, path: string, agent?: Agent): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: agent ?? false, timeout: 5_000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }))
    })
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ code: err.code ?? err.message }))
    req.end()
  })
}

t.test('graceful shutdown with a request in flight', async (t) => {
  const config = testConfig()
  const app = await build(config, await testDatabase(config))
  let entered!: () => void
  const inHandler = new Promise<void>((resolve) => (entered = resolve))
  app.get('/slow', { config: { public: true } }, async () => {
    entered()
    await sleep(500)
    // The database is still open for a request that started before close().
    const rows = await app.db.select({ id: organisations.id }).from(organisations).limit(1)
    return { ok: true, rows: rows.length }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  await createOrg(app)
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 })
  let closed = false
  t.teardown(async () => {
    keepAlive.destroy()
    if (!closed) await app.close()
  })
  const { port } = app.server.address() as AddressInfo

  t.equal((await get(port, '/healthz')).status, 200, 'serving before close')

  // A keep-alive client (as a load balancer or partner system would hold) starts a slow request.
  const inflight = get(port, '/slow', keepAlive)
  await inHandler
  const closing = app.close().then(() => {
    closed = true
  })

  // Once close() has begun, a new connection is refused (or reset, or told 503).
  const during = await get(port, '/healthz')
  t.ok(
    during.code === 'ECONNREFUSED' || during.code === 'ECONNRESET' || during.status === 503,
    `a new request during shutdown is refused (${during.code ?? during.status})`,
  )

  const res = await inflight
  t.equal(res.status, 200, 'the in-flight request completes')
  t.same(JSON.parse(res.body ?? '{}'), { ok: true, rows: 1 }, 'with its full body and a working database')
  // Without Connection: close the idle keep-alive socket would hold close() open for Fastify's
  // keepAliveTimeout (72 s) — longer than server.ts's grace delay.
  t.equal(res.headers?.connection, 'close', 'a response finished during shutdown closes its connection')
  await closing
  t.ok(closed, 'close() resolved after the in-flight request')

  const after = await get(port, '/healthz')
  t.equal(after.code, 'ECONNREFUSED', 'a new connection after shutdown is refused')
})
