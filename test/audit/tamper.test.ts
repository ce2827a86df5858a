// Tampering by someone who can switch the append-only trigger off (a superuser) is detected by
// GET /v1/audit/verify, which names the first altered event. Each case runs on its own private
// database: a broken chain there breaks nobody else's verify.
import t, { type Test } from 'tap'
import pg from 'pg'
import { sql } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { auditService } from '../../src/modules/audit/audit.service.js'
import { as, createAccount, createOrg, json, unique } from '../helper.js'
import { chainAll, onPg, owner, privateApp } from './private-db.js'

// Several apps (and databases) per file: on a loaded machine this file may need more than the
// default two minutes. A limit on the run, not an assertion on timing.
t.setTimeout(300_000)

interface Verification {
  ok: boolean
  checked: number
  firstInvalid: number | null
  chainedThrough: number
  pending: number
}

/** A private app with a dozen chained events; returns the auditor and the chain, by sequence. */
async function chained(t: Test, n = 12) {
  const app = await privateApp(t)
  const org = await createOrg(app)
  const auditor = await createAccount(app, org.id, ['auditor'])
  const contributor = await createAccount(app, org.id, ['contributor'])
  for (let i = 0; i < n; i++) {
    if (i % 3 === 0)
      await as(app, contributor.token).post('/v1/indicators', { type: 'domain', value: `${unique('t')}.example`, distribution: 'community', tlp: 'green' })
    else await as(app, i % 2 ? auditor.token : contributor.token).get(`/v1/me?i=${i}`)
  }
  await chainAll(app)
  const chain = (await owner(app, 'select c.sequence::int as sequence, c.event_id::int as id from audit_chain c order by c.sequence')) as {
    sequence: number
    id: number
  }[]
  t.ok(chain.length >= n, `chained ${chain.length}`)
  const verify = async () => {
    const res = await as(app, auditor.token).get('/v1/audit/verify')
    t.equal(res.statusCode, 200, res.body)
    return json<Verification>(res)
  }
  t.match(await verify(), { ok: true, firstInvalid: null }, 'intact before tampering')
  return { app, auditor, chain, verify }
}

/** As a superuser: switch the trigger off, tamper, switch it back on. */
async function tamper(app: FastifyInstance, table: string, trigger: string, ...statements: string[]) {
  await app.database.asOwner(async (q) => {
    await q(sql.raw(`ALTER TABLE ${table} DISABLE TRIGGER ${trigger}`))
    for (const s of statements) await q(sql.raw(s))
    await q(sql.raw(`ALTER TABLE ${table} ENABLE TRIGGER ${trigger}`))
  })
}

t.test('(a) one event altered: verify names its sequence', async (t) => {
  const { app, auditor, chain, verify } = await chained(t)
  const victim = chain[5] as { sequence: number; id: number }
  await tamper(app, 'audit_events', 'audit_events_append_only', `UPDATE audit_events SET details = '{"returned":0}' WHERE id = ${victim.id}`)
  t.match(await verify(), { ok: false, firstInvalid: victim.sequence, checked: victim.sequence - 1 })

  // Still detected while the service keeps appending.
  for (let i = 0; i < 3; i++) await as(app, auditor.token).get('/v1/me')
  await chainAll(app)
  t.match(await verify(), { ok: false, firstInvalid: victim.sequence }, 'and again after more events')

  // Other columns are covered too: time, account, outcome, request id, user agent.
  for (const [column, value] of [
    ['outcome', "'denied'"],
    ['time', "time + interval '1 millisecond'"],
    ['user_agent', "'forged'"],
    ['request_id', "'x'"],
  ] as const) {
    const other = chain[2] as { sequence: number; id: number }
    const [before] = await owner(app, `select ${column}::text as v from audit_events where id = ${other.id}`)
    await tamper(app, 'audit_events', 'audit_events_append_only', `UPDATE audit_events SET ${column} = ${value} WHERE id = ${other.id}`)
    t.match(await verify(), { ok: false, firstInvalid: other.sequence }, `${column} altered`)
    const restoreTo = before?.v === null || before?.v === undefined ? 'NULL' : `'${String(before.v).replaceAll("'", "''")}'`
    await tamper(app, 'audit_events', 'audit_events_append_only', `UPDATE audit_events SET ${column} = ${restoreTo} WHERE id = ${other.id}`)
    t.match(await verify(), { ok: false, firstInvalid: victim.sequence }, `${column} restored: the first break is the old one again`)
  }
})

t.test('(b) one event deleted: detected at its sequence', async (t) => {
  const { app, chain, verify } = await chained(t)
  const victim = chain[4] as { sequence: number; id: number }
  await tamper(app, 'audit_events', 'audit_events_append_only', `DELETE FROM audit_events WHERE id = ${victim.id}`)
  t.match(await verify(), { ok: false, firstInvalid: victim.sequence })
})

t.test('(c) two events swapped: detected at the first of them', async (t) => {
  const { app, chain, verify } = await chained(t)
  const a = chain[3] as { sequence: number; id: number }
  const b = chain[7] as { sequence: number; id: number }
  await tamper(
    app,
    'audit_events',
    'audit_events_append_only',
    `UPDATE audit_events x SET action = y.action, details = y.details, resource_type = y.resource_type, resource_id = y.resource_id
     FROM audit_events y WHERE (x.id, y.id) IN ((${a.id}, ${b.id}), (${b.id}, ${a.id}))`,
  )
  const [sa, sb] = await owner(app, `select action from audit_events where id in (${a.id}, ${b.id}) order by id`)
  t.not(sa?.action, sb?.action, 'the two events really differed')
  t.match(await verify(), { ok: false, firstInvalid: a.sequence })
})

t.test('(d) a chain link deleted: detected', async (t) => {
  const { app, chain, verify } = await chained(t)
  const victim = chain[6] as { sequence: number; id: number }
  await tamper(app, 'audit_chain', 'audit_chain_append_only', `DELETE FROM audit_chain WHERE sequence = ${victim.sequence}`)
  t.match(await verify(), { ok: false, firstInvalid: victim.sequence })
  // (Rewriting the whole tail consistently instead is what signed checkpoints catch: see
  // offline-verify.test.ts.)
})

t.test('(e) the newest link deleted: the event is not silently dropped', async (t) => {
  const { app } = await chained(t)
  app.chainer.stop() // keep the chainer from re-linking the event before verify looks
  await chainAll(app)
  const [last] = (await owner(app, 'select sequence::int as sequence, event_id::int as id from audit_chain order by sequence desc limit 1')) as {
    sequence: number
    id: number
  }[]
  if (!last) throw new Error('no chain')
  await tamper(app, 'audit_chain', 'audit_chain_append_only', `DELETE FROM audit_chain WHERE sequence = ${last.sequence}`)
  const v = json<Verification>(await as(app, (await createAccount(app, (await createOrg(app)).id, ['auditor'])).token).get('/v1/audit/verify'))
  // verify chains what is committed first: the event is re-linked, identically, at the same place.
  t.match(v, { ok: true })
  const [row] = await owner(app, `select event_id::int as id from audit_chain where sequence = ${last.sequence}`)
  t.equal(row?.id, last.id, 'the same event holds the same sequence again')
})

// verify must not raise a false alarm for an event whose transaction commits while verify runs.
t.test('a transaction that commits between chaining and checking is no tamper', { skip: !onPg && 'needs two connections (PostgreSQL)' }, async (t) => {
  const { app, verify } = await chained(t, 3)
  app.chainer.stop()
  const url = new URL(process.env.DATABASE_URL as string)
  url.pathname = `/${(await owner(app, 'select current_database() as d'))[0]?.d as string}`
  const slow = new pg.Client({ connectionString: url.toString(), options: '-c role=dcx_app' })
  await slow.connect()
  t.teardown(() => slow.end())
  await slow.query('BEGIN')
  await slow.query("insert into audit_events (action, outcome) values ('lateCommit', 'ok')")
  await as(app, (await createAccount(app, (await createOrg(app)).id, ['reader'])).token).get('/v1/me')
  await app.chainer.chainNow() // held back behind the open transaction
  await slow.query('COMMIT')
  // The service's verify, without the chaining step the route does first: the late event is
  // committed but not chained yet — pending work, not a removed link.
  const v = await auditService.verify(app.db, {})
  t.match(v, { ok: true, firstInvalid: null }, JSON.stringify(v))
  t.match(await verify(), { ok: true }, 'and the route agrees once it has chained it')
})
