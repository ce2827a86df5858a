// Verifiable audit pruning (DESIGN §7): payloads older than DCX_AUDIT_PAYLOAD_RETENTION_MONTHS
// are cleared by the pruning job only; the chain (GET /v1/audit/verify, npm run audit:verify)
// still proves every event, pruned ones by their digest; the database refuses every other change;
// a run is idempotent, one node at a time, all or nothing, and itself an audit event.
// Private database: pruning clears every old event of the database it runs on.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { sql } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { verifyExport } from '../../scripts/audit-verify.js'
import { cutoffFor } from '../../src/audit/pruning.js'
import { rows } from '../../src/db/client.js'
import { as, createAccount, createOrg, json } from '../helper.js'
import { chainAll, onPg, owner, privateApp, refusal } from './private-db.js'

t.setTimeout(300_000)

const HEADER = { 'dcx-justification': 'DPO audit 2026-12' }
const MONTH = 30 * 24 * 3600 * 1000

/** Insert `n` events dated `monthsAgo` months back, as the owner (the service only ever writes now()). */
async function oldEvents(app: FastifyInstance, n: number, monthsAgo: number, tag: string): Promise<number[]> {
  const at = new Date(Date.now() - monthsAgo * MONTH).toISOString()
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const [r] = await owner(
      app,
      `insert into audit_events (time, action, resource_type, outcome, status, request_id, client_address, user_agent, details)
       values ('${at}', 'indicator.read', 'indicator', 'ok', 200, '${tag}-${i}', '198.51.100.${i + 1}', 'old-client/${i}', '{"filters":{"q":"${tag}"},"justification":"case ${i}"}')
       returning id::int as id`,
    )
    out.push(Number(r?.id))
  }
  return out
}

t.test('pruning clears old payloads; the chain still verifies, online and offline', async (t) => {
  const app = await privateApp(t)
  const dir = mkdtempSync(path.join(tmpdir(), 'dcx-prune-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const org = await createOrg(app)
  const auditor = await createAccount(app, org.id, ['auditor'])
  const A = as(app, auditor.token)

  const old = await oldEvents(app, 3, 30, 'old')
  const recent = await oldEvents(app, 2, 6, 'recent')
  await A.get('/v1/me')
  await chainAll(app)
  const cp = json<{ items: { sequence: number }[] }>(await A.get('/v1/audit/checkpoints')).items[0]
  t.ok(cp, 'a checkpoint covers them')

  const first = await app.auditPruner.runNow()
  t.match(first, { skipped: null, pruned: 3, legacyKept: 0, cutoff: cutoffFor(new Date(), 24).toISOString().slice(0, 10) + 'T' }, 'the three old payloads')
  const after = await owner(
    app,
    `select id::int as id, details, client_address, user_agent from audit_events where id in (${[...old, ...recent].join(',')}) order by id`,
  )
  for (const r of after) {
    if (old.includes(Number(r.id))) t.match(r, { details: null, client_address: null, user_agent: null }, `event ${r.id} pruned`)
    else t.match(r, { details: { filters: { q: 'recent' } }, client_address: /^198\.51/, user_agent: /^old-client/ }, `event ${r.id} kept`)
  }

  // The run is an audit event itself: the cut-off and counts, no payload.
  const [ev] = await rows<{ action: string; details: Record<string, unknown>; account_id: string | null }>(
    app.db,
    sql`select action, details, account_id from audit_events where action = 'audit.prune' order by id desc limit 1`,
  )
  t.same(ev, { action: 'audit.prune', account_id: null, details: { cutoff: first.cutoff, pruned: 3, legacyKept: 0, retentionMonths: 24 } })

  // Idempotent: a second run finds nothing left.
  t.match(await app.auditPruner.runNow(), { skipped: null, pruned: 0 })

  // The server's verification proves the chain, pruned events by their digest.
  const v = json<{ ok: boolean; checked: number; firstInvalid: number | null }>(await A.get('/v1/audit/verify'))
  t.match(v, { ok: true, firstInvalid: null }, 'verify: ok after pruning')

  // The export carries the digest and the flag; the offline verifier proves it against the
  // checkpoint signed before the pruning.
  const exported = await A.get('/v1/audit/export', HEADER)
  t.equal(exported.statusCode, 200)
  const lines = exported.body
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  const pruned = lines.filter((l) => old.includes(Number(l.id)))
  t.equal(pruned.length, 3)
  for (const l of pruned) t.match(l, { pruned: true, details: null, clientAddress: null, userAgent: null, scheme: 2, payloadDigest: /^[0-9a-f]{64}$/ })
  t.match(
    lines.find((l) => Number(l.id) === recent[0]),
    { pruned: false, scheme: 2, payloadDigest: /^[0-9a-f]{64}$/ },
  )
  const csv = await A.get('/v1/audit/export?format=csv', HEADER)
  t.match(csv.body.split('\n')[0], /,scheme,payloadDigest,pruned$/, 'CSV has the columns')
  const cps = json<{ items: Record<string, unknown>[] }>(await A.get('/v1/audit/checkpoints'))
  const signed = cps.items.find((c) => c.sequence === cp?.sequence) as never
  const exportFile = path.join(dir, 'audit.ndjson')
  writeFileSync(exportFile, exported.body)
  const jwks = JSON.parse((await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).body)
  t.match(await verifyExport(exportFile, signed, jwks), { ok: true, pruned: 3 }, 'offline: ok, three pruned')

  // An unpruned payload must match its digest; a pruned event's header is still covered.
  const victim = lines.find((l) => Number(l.id) === recent[0]) as Record<string, unknown>
  const altered = lines.map((l) => (l === victim ? { ...l, clientAddress: '203.0.113.9' } : l))
  writeFileSync(exportFile, altered.map((l) => JSON.stringify(l)).join('\n') + '\n')
  t.match(await verifyExport(exportFile, signed, jwks), { ok: false, firstInvalid: victim.sequence }, 'offline: an altered payload breaks at its event')
  const prunedVictim = pruned[0] as Record<string, unknown>
  for (const change of [{ action: 'indicator.match' }, { details: {} }, { payloadDigest: '0'.repeat(64) }, { clientAddress: '203.0.113.9' }]) {
    const forged = lines.map((l) => (l === prunedVictim ? { ...l, ...change } : l))
    writeFileSync(exportFile, forged.map((l) => JSON.stringify(l)).join('\n') + '\n')
    t.match(
      await verifyExport(exportFile, signed, jwks),
      { ok: false, firstInvalid: prunedVictim.sequence },
      `offline: a pruned event with ${Object.keys(change)[0]} altered`,
    )
  }

  // On the server too: the owner, past the trigger, alters an unpruned payload / a pruned header.
  await app.database.asOwner(async (q) => {
    await q(sql.raw('ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only'))
    await q(sql.raw(`update audit_events set user_agent = 'forged' where id = ${recent[1]}`))
    await q(sql.raw('ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only'))
  })
  const [seqRecent] = await owner(app, `select sequence::int as s from audit_chain where event_id = ${recent[1]}`)
  t.match(json(await A.get('/v1/audit/verify')), { ok: false, firstInvalid: Number(seqRecent?.s) }, 'verify: an altered payload is named')
})

t.test('the database refuses every change but the pruning function', async (t) => {
  const app = await privateApp(t)
  const [id] = await oldEvents(app, 1, 30, 'guard')
  await chainAll(app)
  const appRole = (text: string) => refusal(app.db.execute(sql.raw(text)))
  // dcx_app: no UPDATE, with or without the flag the function sets.
  t.match(await appRole(`update audit_events set details = null, client_address = null, user_agent = null where id = ${id}`), /permission denied|append-only/)
  t.match(
    await refusal(
      app.db.transaction(async (tx) => {
        await tx.execute(sql`select set_config('dcx.audit_prune', 'on', true)`)
        await tx.execute(sql.raw(`update audit_events set details = null, client_address = null, user_agent = null where id = ${id}`))
      }),
    ),
    /permission denied|append-only/,
    "dcx_app setting the function's flag is not enough",
  )
  t.match(await appRole(`delete from audit_events where id = ${id}`), /permission denied|append-only/)
  // The owner, outside the function: refused by the trigger.
  t.match(await refusal(owner(app, `update audit_events set details = null, client_address = null, user_agent = null where id = ${id}`)), /append-only/)
  t.match(await refusal(owner(app, `delete from audit_events where id = ${id}`)), /append-only/)
  // Even with the flag, only the payload columns, and only to NULL.
  for (const set of [
    "details = null, client_address = null, user_agent = null, action = 'x'",
    "details = '{}', client_address = null, user_agent = null",
    'details = null',
  ]) {
    t.match(
      await refusal(
        app.database.asOwner(async (q) => {
          await q(sql`begin`)
          await q(sql`select set_config('dcx.audit_prune', 'on', true)`)
          await q(sql.raw(`update audit_events set ${set} where id = ${id}`))
        }),
      ),
      /append-only/,
      `owner with the flag: ${set}`,
    )
  }
  // The function refuses a cut-off less than a month back, whoever asks.
  t.match(await appRole(`select * from dcx_audit_prune(now())`), /at least a month/)
  t.match(await appRole(`select * from dcx_audit_prune(now() - interval '20 days')`), /at least a month/)
  const [kept] = await owner(app, `select details is not null as kept from audit_events where id = ${id}`)
  t.same(kept, { kept: true }, 'the payload is still there')
  // The chain rows stay append-only.
  t.match(await appRole(`update audit_chain set payload_digest = null where event_id = ${id}`), /permission denied|append-only/)
})

t.test('an interrupted run leaves nothing half-done', async (t) => {
  const app = await privateApp(t)
  const ids = await oldEvents(app, 4, 30, 'interrupt')
  await chainAll(app)
  // The run's own audit event cannot be written: the run fails, and none of the payloads it
  // cleared in its transaction stay cleared.
  await owner(app, 'REVOKE INSERT ON audit_events FROM dcx_app')
  const err = await refusal(app.auditPruner.runNow())
  t.ok(err, `the run fails: ${err}`)
  await owner(app, 'GRANT INSERT ON audit_events TO dcx_app')
  const [left] = await owner(app, `select count(*)::int as n from audit_events where id in (${ids.join(',')}) and details is not null`)
  t.same(left, { n: 4 }, 'every payload intact')
  t.match(await app.auditPruner.runNow(), { pruned: 4 }, 'the next run does it all')
  t.match(json(await as(app, (await createAccount(app, (await createOrg(app)).id, ['auditor'])).token).get('/v1/audit/verify')), { ok: true })
})

t.test('retention 0 keeps payloads for ever', async (t) => {
  const app = await privateApp(t, { DCX_AUDIT_PAYLOAD_RETENTION_MONTHS: '0' })
  const [id] = await oldEvents(app, 1, 120, 'forever')
  await chainAll(app)
  t.match(await app.auditPruner.runNow(), { skipped: 'retention_off', pruned: 0 })
  const [r] = await owner(app, `select details is not null as kept from audit_events where id = ${id}`)
  t.same(r, { kept: true })
})

t.test('one node at a time: a run finding the lock held does nothing', { skip: onPg ? false : 'PGlite has one connection: no second node' }, async (t) => {
  const app = await privateApp(t)
  const ids = await oldEvents(app, 2, 30, 'lock')
  await chainAll(app)
  // Another node's run: a second connection holding the pruning lock.
  const [dbName] = await owner(app, 'select current_database() as name')
  const url = new URL(process.env.DATABASE_URL as string)
  url.pathname = `/${String(dbName?.name)}`
  const other = new pg.Client({ connectionString: url.toString() })
  await other.connect()
  try {
    await other.query('begin')
    await other.query('select pg_advisory_xact_lock($1)', [0x64637817])
    t.match(await app.auditPruner.runNow(), { skipped: 'locked', pruned: 0 })
    await other.query('commit')
  } finally {
    await other.end()
  }
  const [left] = await owner(app, `select count(*)::int as n from audit_events where id in (${ids.join(',')}) and details is not null`)
  t.same(left, { n: 2 })
  t.match(await app.auditPruner.runNow(), { skipped: null, pruned: 2 })
})

t.test('the cut-off: the same day, months earlier (UTC)', async (t) => {
  t.equal(cutoffFor(new Date('2026-12-03T13:00:00Z'), 24).toISOString(), '2024-12-03T13:00:00.000Z')
  t.equal(cutoffFor(new Date('2026-03-31T00:00:00Z'), 1).toISOString(), '2026-02-28T00:00:00.000Z')
  t.equal(cutoffFor(new Date('2028-03-31T00:00:00Z'), 1).toISOString(), '2028-02-29T00:00:00.000Z')
})
