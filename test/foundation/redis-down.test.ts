// Redis down: the service keeps answering. A node starts while no Redis listens and connects once
// it does; while Redis is unreachable every counter counts in this node's memory with the same
// limits (failed token attempts still reserved before the check, so parallel guesses stay
// bounded), /readyz says 200 "degraded" naming redis, and the outage is logged once as it starts
// and once as it ends. Each test starts its own redis-server on a free port.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { connect, createServer } from 'node:net'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build } from '../../src/app.js'
import { orgWith, testConfig, testDatabase, type TapLike } from '../helper.js'

const LIMIT = 5
const hasRedis = spawnSync('redis-server', ['--version']).status === 0
const skip = hasRedis ? false : 'redis-server is not on PATH'

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

async function until(what: string, fn: () => Promise<boolean>, seconds = 15): Promise<void> {
  const deadline = Date.now() + seconds * 1000
  while (Date.now() < deadline) {
    if (await fn()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`not within ${seconds} s: ${what}`)
}

/** Does something accept connections on the port yet? */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1')
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.once('connect', () => done(true)).once('error', () => done(false))
    socket.setTimeout(500, () => done(false))
  })

/**
 * Our own redis-server on a port, resolved once it accepts connections (so the app's first
 * connection does not race the server's start and log an outage that never was); stop() kills
 * exactly that process.
 */
async function startRedis(t: TapLike, port: number): Promise<{ proc: ChildProcess; stop(): Promise<void> }> {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise((r) => proc.once('exit', r))
    proc.kill('SIGKILL')
    await exited
  }
  t.teardown(stop)
  await until(`redis-server listening on ${port}`, () => listening(port))
  return { proc, stop }
}

async function appOn(t: TapLike, port: number, logs: string[]): Promise<FastifyInstance> {
  const config = testConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, DCX_TOKEN_FAILURES_PER_MINUTE: String(LIMIT) })
  const app = await build(config, {
    ...(await testDatabase(config)),
    logger: { level: 'warn', stream: { write: (line: string) => void logs.push(line) } },
  })
  await app.ready()
  t.teardown(() => app.close())
  return app
}

const readyz = async (app: FastifyInstance) => {
  const res = await app.inject({ method: 'GET', url: '/readyz' })
  return { code: res.statusCode, body: res.json() as { status: string; degraded: string[] } }
}
const token = (app: FastifyInstance, id: string, secret: string, ip: string) =>
  app.inject({ method: 'POST', url: '/v1/auth/token', remoteAddress: ip, payload: { grant_type: 'client_credentials', client_id: id, client_secret: secret } })

async function guesses(app: FastifyInstance, clientId: string, ip: string) {
  const res = await Promise.all(Array.from({ length: 20 }, (_, i) => token(app, clientId, `wrong-${i}`, ip)))
  const codes = res.map((r) => r.statusCode)
  return {
    checked: codes.filter((c) => c === 401).length,
    throttled: codes.filter((c) => c === 429).length,
    other: codes.filter((c) => c !== 401 && c !== 429),
  }
}

const messages = (logs: string[], re: RegExp) => logs.filter((l) => re.test(l)).length

t.test('Redis up, down, back: tokens keep working, guesses stay bounded, /readyz tells', { skip }, async (t) => {
  const port = await freePort()
  const redis = await startRedis(t, port)
  const logs: string[] = []
  const app = await appOn(t, port, logs)
  await until('connected to Redis', async () => (await readyz(app)).body.status === 'ready')
  t.same((await readyz(app)).body, { status: 'ready', degraded: [] }, '/readyz ready while Redis is up')

  const { reader, contributor, org_admin: admin } = await orgWith(app, ['reader', 'contributor', 'org_admin'])
  const up = await guesses(app, reader.clientId, '10.9.0.1')
  t.same(up, { checked: LIMIT, throttled: 20 - LIMIT, other: [] }, 'Redis up: 20 parallel wrong secrets, only the limit checked')

  await redis.stop()
  await until('/readyz degraded', async () => (await readyz(app)).body.status === 'degraded')
  const down = await readyz(app)
  t.equal(down.code, 200, '/readyz stays 200 so the load balancer keeps routing')
  t.same(down.body, { status: 'degraded', degraded: ['redis'] }, 'and names redis as degraded')
  t.equal((await token(app, contributor.clientId, contributor.clientSecret, '10.9.0.2')).statusCode, 200, 'a good secret still gets a token')
  t.equal(
    (await app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${contributor.token}` } })).statusCode,
    200,
    'and requests pass the rate-limit tiers',
  )
  const local = await guesses(app, admin.clientId, '10.9.0.3')
  t.same(local, { checked: LIMIT, throttled: 20 - LIMIT, other: [] }, 'Redis down: the local limit still bounds 20 parallel wrong secrets')
  t.equal((await token(app, admin.clientId, admin.clientSecret, '10.9.0.4')).statusCode, 429, 'the client id stays locked in the local window')
  t.equal(messages(logs, /Redis is unreachable/), 1, 'the outage is logged once as it starts')

  await startRedis(t, port)
  await until('/readyz ready again', async () => (await readyz(app)).body.status === 'ready')
  t.same((await readyz(app)).body, { status: 'ready', degraded: [] }, 'reconnected by itself')
  t.equal(messages(logs, /Redis is reachable again/), 1, 'the end of the outage is logged once')
  t.equal(messages(logs, /Redis is unreachable/), 1, 'no more outage lines')
  // The restarted Redis is empty (no persistence): a fresh window, shared again.
  const { reader: later } = await orgWith(app, ['reader'])
  t.equal((await token(app, later.clientId, later.clientSecret, '10.9.0.5')).statusCode, 200, 'tokens from the shared counter again')
  t.same(await guesses(app, later.clientId, '10.9.0.6'), { checked: LIMIT, throttled: 20 - LIMIT, other: [] }, 'guesses bounded on Redis again')
  t.notMatch(logs.join(''), new RegExp(`${contributor.clientSecret}|wrong-`), 'no secret in the log')
})

t.test('a node started while no Redis listens boots, serves and connects later', { skip }, async (t) => {
  const port = await freePort()
  const logs: string[] = []
  const app = await appOn(t, port, logs)
  const { reader } = await orgWith(app, ['reader'])
  t.same((await readyz(app)).body, { status: 'degraded', degraded: ['redis'] }, 'degraded, not crashed')
  t.equal((await token(app, reader.clientId, reader.clientSecret, '10.8.0.1')).statusCode, 200, 'tokens are issued')
  const local = await guesses(app, reader.clientId, '10.8.0.2')
  t.same(local, { checked: LIMIT, throttled: 20 - LIMIT, other: [] }, 'the local limit bounds parallel guesses')
  await startRedis(t, port)
  await until('/readyz ready once Redis listens', async () => (await readyz(app)).body.status === 'ready')
  t.pass('connected once Redis came')
})
