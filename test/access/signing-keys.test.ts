// Signing-key rotation for platform admins (POST /v1/auth/signing-key): only a platform admin may
// rotate; the new kid signs at once, the retired key keeps verifying. On PostgreSQL, two nodes
// (two apps, separate pools) on one database: a rotation on A reaches B within seconds, and B
// never signs with the retired key after that.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { sql } from 'drizzle-orm'
import { build } from '../../src/app.js'
import { as, buildTestApp, createAccount, createOrg, isProblem, json, orgWith, testConfig } from '../helper.js'

const onPg = !!process.env.DATABASE_URL
const kidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()).kid as string

const app = await buildTestApp(t)

async function tokenFrom(node: FastifyInstance, clientId: string, clientSecret: string): Promise<string> {
  const res = await as(node, undefined).post('/v1/auth/token', { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret })
  if (res.statusCode !== 200) throw new Error(`token: ${res.statusCode} ${res.body}`)
  return json<{ access_token: string }>(res).access_token
}

async function until(what: string, fn: () => Promise<boolean>, seconds = 10): Promise<void> {
  const deadline = Date.now() + seconds * 1000
  while (Date.now() < deadline) {
    if (await fn()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`not within ${seconds} s: ${what}`)
}

t.test('every role and a foreign organisation: only a platform admin rotates', async (t) => {
  const own = await orgWith(app, ['reader', 'contributor', 'org_admin', 'auditor', 'platform_admin'])
  const foreign = await createOrg(app, { sector: 'customs' })
  const foreignAdmin = await createAccount(app, foreign.id, ['org_admin'])
  const foreignPlatform = await createAccount(app, foreign.id, ['platform_admin'])
  const cases: [string, string | undefined, number][] = [
    ['no token', undefined, 401],
    ['reader', own.reader.token, 403],
    ['contributor', own.contributor.token, 403],
    ['org_admin', own.org_admin.token, 403],
    ['auditor', own.auditor.token, 403],
    ['foreign org_admin', foreignAdmin.token, 403],
    ['platform_admin', own.platform_admin.token, 200],
    ['foreign platform_admin', foreignPlatform.token, 200],
  ]
  for (const [who, token, want] of cases) {
    const res = await as(app, token).post('/v1/auth/signing-key', {})
    if (want === 200) t.equal(res.statusCode, 200, `${who}: 200 ${res.body.slice(0, 200)}`)
    else isProblem(t, res, want)
  }
})

t.test('rotation through the endpoint: new kid signs, retired kid verifies, audited', async (t) => {
  const { platform_admin: admin, reader } = await orgWith(app, ['platform_admin', 'reader'])
  const before = await tokenFrom(app, reader.clientId, reader.clientSecret)
  const res = await as(app, admin.token).post('/v1/auth/signing-key', { reason: 'test rotation' })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = json<{ kid: string; createdAt: string; retired: { kid: string; verifiesUntil: string } | null }>(res)
  t.match(body, { kid: /^k-/, createdAt: String })
  t.equal(body.retired?.kid, kidOf(before), 'the key that signed before is the one retired')
  t.ok(new Date(body.retired?.verifiesUntil ?? 0).getTime() > Date.now(), 'it verifies for a while yet')
  const after = await tokenFrom(app, reader.clientId, reader.clientSecret)
  t.equal(kidOf(after), body.kid, 'the next token names the new kid')
  t.equal((await as(app, before).get('/v1/me')).statusCode, 200, 'a token of the retired key still verifies')
  t.equal((await as(app, after).get('/v1/me')).statusCode, 200, 'a token of the new key verifies')
  const kids = json<{ keys: { kid: string }[] }>(await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).keys.map((k) => k.kid)
  t.ok(kids.includes(body.kid) && kids.includes(kidOf(before)), 'both published')

  const events = json<{ items: { action: string; resourceId: string; details: Record<string, unknown> }[] }>(
    await as(app, admin.token).get(`/v1/audit/events?action=auth.signing_key.rotate&resourceId=${body.kid}`),
  ).items
  t.equal(events.length, 1, 'one audit event')
  t.match(events[0], {
    action: 'auth.signing_key.rotate',
    resourceId: body.kid,
    details: { kid: body.kid, retiredKid: kidOf(before), reason: 'test rotation' },
  })
})

t.test('bad input is a 400 problem naming the field; an Idempotency-Key retry does not rotate twice', async (t) => {
  const { platform_admin: admin } = await orgWith(app, ['platform_admin'])
  const bad = isProblem(t, await as(app, admin.token).post('/v1/auth/signing-key', { reason: 'x', kid: 'mine' }), 400)
  t.match(JSON.stringify(bad), /kid|unrecognized/i, 'names the unknown field')
  isProblem(t, await as(app, admin.token).post('/v1/auth/signing-key', { reason: '' }), 400)
  const key = `rot-${Date.now()}`
  const first = await as(app, admin.token).post('/v1/auth/signing-key', {}, { 'idempotency-key': key })
  const again = await as(app, admin.token).post('/v1/auth/signing-key', {}, { 'idempotency-key': key })
  t.equal(first.statusCode, 200)
  t.equal(again.statusCode, 200)
  t.equal(json<{ kid: string }>(again).kid, json<{ kid: string }>(first).kid, 'the replay answers the first rotation')
})

t.test('two nodes on one PostgreSQL database', { skip: onPg ? false : 'PGlite is one process: two apps cannot share one database' }, async (t) => {
  const config = testConfig()
  const b = await build(config)
  await b.ready()
  t.teardown(() => b.close())
  const { platform_admin: admin, reader } = await orgWith(app, ['platform_admin', 'reader'])

  const oldKid = kidOf(await tokenFrom(b, reader.clientId, reader.clientSecret))
  const res = await as(app, admin.token).post('/v1/auth/signing-key', {})
  t.equal(res.statusCode, 200, res.body)
  const { kid: newKid, retired } = json<{ kid: string; retired: { kid: string } | null }>(res)
  t.equal(retired?.kid, oldKid, 'A retired the key B was signing with')

  // Committed on A: B switches within seconds (notification; poll as backstop).
  let fromB = ''
  await until('B signs with the new key', async () => {
    fromB = await tokenFrom(b, reader.clientId, reader.clientSecret)
    return kidOf(fromB) !== oldKid
  })
  t.not(kidOf(fromB), oldKid, 'B no longer signs with the retired key')
  const fromA = await tokenFrom(app, reader.clientId, reader.clientSecret)
  t.equal(kidOf(fromA), newKid, 'A signs with the new key')
  // Other files on this database may rotate too: B's key is the new one or newer, never the retired one.
  const later = await Promise.all(Array.from({ length: 10 }, () => tokenFrom(b, reader.clientId, reader.clientSecret)))
  t.notOk(
    later.some((tok) => kidOf(tok) === oldKid),
    'after the switch, B never issues a token with the retired kid',
  )
  for (const [name, tok] of [
    ['A', fromA],
    ['B', fromB],
  ] as const) {
    t.equal((await as(app, tok).get('/v1/me')).statusCode, 200, `a token from ${name} verifies on A`)
    t.equal((await as(b, tok).get('/v1/me')).statusCode, 200, `a token from ${name} verifies on B`)
  }
  t.equal((await as(b, reader.token).get('/v1/me')).statusCode, 200, 'a token of the retired key still verifies on B')
})

t.test(
  'the LISTEN connection comes back after the server ends it',
  { skip: onPg ? false : 'LISTEN/NOTIFY across connections needs a PostgreSQL server' },
  async (t) => {
    const listen = app.database.listen
    if (!listen) throw new Error('no listen() on PostgreSQL')
    let listening = 0
    const heard: (string | undefined)[] = []
    const channel = `dcx_test_${Math.random().toString(36).slice(2, 10)}`
    const l = listen.call(app.database, channel, { onNotify: (p) => heard.push(p), onListening: () => listening++ })
    t.teardown(() => l.close())
    await until('listening', async () => listening === 1)
    const ended = await app.database.asOwner((q) =>
      q(sql.raw(`select pg_terminate_backend(pid) as ok from pg_stat_activity where query = 'LISTEN ${channel}' and pid <> pg_backend_pid()`)),
    )
    t.equal(ended.length, 1, 'the server ended the listening session')
    await until('listening again', async () => listening === 2)
    await until('a notification arrives on the new connection', async () => {
      await app.database.asOwner((q) => q(sql.raw(`select pg_notify('${channel}', 'ping')`)))
      return heard.includes('ping')
    })
    t.pass('reconnected and hearing')
  },
)
