// Fault: PostgreSQL stops in the middle of load, then comes back. On a private PostgreSQL server
// (initdb into a temporary folder, its own port) — never the machine's shared one.
//   - /readyz turns 503 while /healthz stays 200 (the process is up)
//   - every request answers within a bounded time (no hang), with a 503 problem and Retry-After
//     (never a 500, never a crash)
//   - when the database returns, the service recovers by itself: /readyz 200, reads and writes 2xx
import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { setTimeout as sleep } from 'node:timers/promises'
import { build } from '../../src/app.js'
import { as, orgWith, testConfig, unique } from '../helper.js'
import { FAULTS, holds, operationFor, poll, privatePostgres, privatePostgresSkip, violations, within } from './support.js'

/**
 * A private PostgreSQL and an app on it, cleaned up by the caller (in finally, not through tap's
 * teardown): closing an app whose database came and went must never fail the test run.
 */
async function faultRig(env: Record<string, string>) {
  const pgc = await privatePostgres(undefined)
  let app: FastifyInstance
  try {
    app = await build(testConfig({ ...env, DATABASE_URL: pgc.url }))
    await app.ready()
  } catch (err) {
    pgc.destroy()
    throw err
  }
  return {
    pgc,
    app,
    async cleanup() {
      pgc.thaw()
      const keepAlive = setInterval(() => {}, 1000)
      await within(
        app.close().catch((err: unknown) => process.stderr.write(`app.close() after the fault: ${String(err)}\n`)),
        20,
      )
      clearInterval(keepAlive)
      try {
        pgc.destroy()
      } catch (err) {
        process.stderr.write(`private PostgreSQL cleanup: ${String(err)}\n`)
      }
    },
    /** Every pooled connection is back: app.close() (which ends the pool) completes. */
    async closes(): Promise<boolean> {
      const keepAlive = setInterval(() => {}, 1000)
      const closed = await within(app.close(), 20)
      clearInterval(keepAlive)
      return closed !== 'timed out'
    },
  }
}

const skip = !FAULTS ? 'slow fault case: starts and stops a private PostgreSQL; runs under npm run test:faults (DCX_FAULTS=1)' : privatePostgresSkip

interface Outcome {
  phase: 'before' | 'down' | 'after'
  label: string
  res: LightMyRequestResponse | 'timed out'
}

t.test('PostgreSQL stops mid-load and comes back', { skip }, async (t) => {
  const { pgc, app, cleanup, closes } = await faultRig({ DCX_DB_POOL_SIZE: '6' })
  try {
    const O = await orgWith(app, ['reader', 'contributor'], { sector: 'customs' })
    const reader = as(app, O.reader.token)
    const writer = as(app, O.contributor.token)

    let phase: Outcome['phase'] = 'before'
    let running = true
    const outcomes: Outcome[] = []
    const work: [string, () => Promise<LightMyRequestResponse>][] = [
      ['GET /v1/indicators', () => reader.get('/v1/indicators?limit=5')],
      ['POST /v1/indicators', () => writer.post('/v1/indicators', { type: 'vendor_alias', value: unique('load'), distribution: 'community' })],
      ['GET /v1/me', () => reader.get('/v1/me')],
      ['POST /v1/indicators/match', () => reader.post('/v1/indicators/match', { values: [{ value: 'nothing' }] })],
    ]
    // Four workers, each looping over the mix; every request bounded at 20 s (a hang, not a speed test).
    const workers = work.map(async ([label, send], i) => {
      for (let n = 0; running; n++) {
        const [l, s] = work[(i + n) % work.length] ?? [label, send]
        const at = phase
        const res = await within(s(), 20)
        outcomes.push({ phase: at, label: l, res })
        await sleep(20)
      }
    })

    // Let the load get going (a count, not a duration: the machine may be busy).
    await poll(async () => outcomes.length >= 20, 60)
    const healthy = outcomes.filter((o) => o.phase === 'before')
    t.ok(healthy.length >= 20, `load runs (${healthy.length} requests before the stop)`)
    t.ok(
      healthy.every((o) => o.res !== 'timed out' && o.res.statusCode < 300),
      'all 2xx before the stop',
    )
    t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, '/readyz 200 before')

    // Stop: fast shutdown terminates every session (57P01) and refuses new connections.
    phase = 'down'
    pgc.stop('fast')
    const notReady = await poll(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 503, 15)
    t.ok(notReady, '/readyz turns 503')
    const ready503 = await app.inject({ method: 'GET', url: '/readyz' })
    const readyV = violations(ready503, operationFor('GET', '/readyz'), { allow5xx: true })
    t.same(
      readyV.filter((v) => !v.includes('Retry-After')),
      [],
      '/readyz while down: a 503 problem',
    )
    t.ok(ready503.headers['retry-after'], '/readyz 503 carries Retry-After')
    t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, '/healthz stays 200: the process is up')
    // Let the load run against the stopped database for a while (the 2 s account cache expires too).
    await sleep(4000)
    // Fresh requests while down, on every kind of path, each bounded.
    for (const [label, send] of work) {
      const res = await within(send(), 20)
      outcomes.push({ phase: 'down', label: `${label} (probe)`, res })
    }

    phase = 'after'
    pgc.start()
    const recovered = await poll(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 30)
    t.ok(recovered, '/readyz returns to 200 by itself')
    const writeOk = await poll(async () => (await writer.post('/v1/indicators', { type: 'vendor_alias', value: unique('after') })).statusCode === 201, 30)
    t.ok(writeOk, 'writes succeed again without a restart')
    await sleep(1000)
    running = false
    await Promise.all(workers)

    const down = outcomes.filter((o) => o.phase === 'down')
    t.ok(down.length >= work.length, `${down.length} requests while the database was down`)
    const hung = down.filter((o) => o.res === 'timed out')
    t.same(
      hung.map((o) => o.label),
      [],
      'no request hung (each answered within 20 s)',
    )
    for (const o of down) {
      if (o.res === 'timed out') continue
      const res = o.res
      // A request that finished just before the stop took effect may still succeed.
      if (res.statusCode < 300) continue
      t.equal(res.statusCode, 503, `${o.label} while down: 503 (${res.statusCode} ${res.body.slice(0, 120)})`)
      holds(t, res, operationFor(o.label.startsWith('GET') ? 'GET' : 'POST', o.label.split(' ')[1] ?? ''), `${o.label} while down`, { allow5xx: true })
    }
    const probes = down.filter((o) => o.label.endsWith('(probe)'))
    t.ok(
      probes.every((o) => o.res !== 'timed out' && o.res.statusCode === 503),
      'every probe after the stop answered 503',
    )
    const after = outcomes.filter((o) => o.phase === 'after' && o.res !== 'timed out') as { res: LightMyRequestResponse }[]
    t.notOk(
      after.some((o) => o.res.statusCode >= 500 && o.res.statusCode !== 503),
      'no 500 while recovering',
    )
    const last = outcomes.slice(-work.length)
    t.ok(
      last.every((o) => o.res !== 'timed out' && o.res.statusCode < 300),
      `the load is back to 2xx (${last.map((o) => (o.res === 'timed out' ? 'timeout' : o.res.statusCode)).join(', ')})`,
    )
    // The pool got every connection back, dead ones included: more parallel requests than it has
    // connections all succeed, and closing it completes (a leaked client would hold pool.end() forever).
    const burst = await Promise.all(Array.from({ length: 24 }, () => within(reader.get('/v1/indicators?limit=1'), 20)))
    t.ok(
      burst.every((r) => r !== 'timed out' && r.statusCode === 200),
      '24 parallel reads on a pool of 6 all succeed',
    )
    t.ok(await closes(), 'app.close() completes: no pooled connection leaked')
  } finally {
    await cleanup()
  }
})

// A database that stops answering without closing anything (frozen, or a network partition): the
// pool's connect timeout (5 s) and the client-side query timeout (35 s, src/db/client.ts) bound
// every request; /readyz answers 503 within its 2 s ping. Then it thaws and the service recovers.
t.test('PostgreSQL freezes (SIGSTOP) and thaws', { skip }, async (t) => {
  const { pgc, app, cleanup, closes } = await faultRig({ DCX_DB_POOL_SIZE: '4' })
  try {
    const O = await orgWith(app, ['reader', 'contributor'], { sector: 'customs' })
    const reader = as(app, O.reader.token)
    const writer = as(app, O.contributor.token)
    t.equal((await reader.get('/v1/indicators?limit=1')).statusCode, 200, 'serving before the freeze')

    pgc.freeze()
    const ready = await within(app.inject({ method: 'GET', url: '/readyz' }), 20)
    t.ok(ready !== 'timed out' && ready.statusCode === 503, `/readyz answers 503 while frozen (${ready === 'timed out' ? ready : ready.statusCode})`)
    t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, '/healthz stays 200')
    await sleep(2500) // the account cache expires: authentication needs the database too
    const pending = [
      ['GET /v1/indicators', reader.get('/v1/indicators?limit=5')],
      ['POST /v1/indicators', writer.post('/v1/indicators', { type: 'vendor_alias', value: unique('frozen') })],
      ['GET /v1/me', reader.get('/v1/me')],
    ] as const
    const answers = await Promise.all(pending.map(async ([label, p]) => [label, await within(p, 150)] as const))
    for (const [label, res] of answers) {
      t.not(res, 'timed out', `${label}: answered within the bound`)
      if (res !== 'timed out') {
        t.equal(res.statusCode, 503, `${label}: 503 while frozen (${res.body.slice(0, 120)})`)
        holds(t, res, operationFor(label.split(' ')[0] as string, label.split(' ')[1] as string), `${label} while frozen`, { allow5xx: true })
      }
    }

    pgc.thaw()
    const recovered = await poll(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 60)
    t.ok(recovered, '/readyz returns to 200 after the thaw')
    const writeOk = await poll(async () => (await writer.post('/v1/indicators', { type: 'vendor_alias', value: unique('thawed') })).statusCode === 201, 90)
    t.ok(writeOk, 'writes succeed again by themselves')
    t.ok(await closes(), 'app.close() completes: no pooled connection leaked')
  } finally {
    await cleanup()
  }
})
