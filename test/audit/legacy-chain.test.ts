// A database chained before payload pruning (migration 0017) migrates forward with its chain
// intact: its events keep scheme 1 and verify by it, new ones are chained under scheme 2, and
// the whole chain verifies — on the server and offline. Scheme-1 events are never pruned (their
// hash needs the payload); the pruning job counts them.
import t from 'tap'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { PGlite } from '@electric-sql/pglite'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator'
import { build } from '../../src/app.js'
import { MIGRATIONS_FOLDER, openDatabase } from '../../src/db/client.js'
import * as schema from '../../src/db/schema/index.js'
import { chainHash, GENESIS_HASH } from '../../src/audit/canonical.js'
import { toCanonical } from '../../src/audit/chain.js'
import { verifyExport } from '../../scripts/audit-verify.js'
import { as, createAccount, createOrg, json, testConfig } from '../helper.js'
import { chainAll, onPg, owner } from './private-db.js'

t.setTimeout(300_000)

const MONTH = 30 * 24 * 3600 * 1000
type Query = (text: string) => Promise<Record<string, unknown>[]>

/** The migrations folder as it was before 0017. */
function foldersBefore0017(dir: string): string {
  const out = path.join(dir, 'migrations')
  cpSync(MIGRATIONS_FOLDER, out, { recursive: true })
  const journalFile = path.join(out, 'meta', '_journal.json')
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: { idx: number; tag: string }[] }
  journal.entries = journal.entries.filter((e) => e.idx < 17)
  writeFileSync(journalFile, JSON.stringify(journal))
  return out
}

/** A chain built the way the service did before 0017: three events, old rule, as the owner. */
async function legacyChain(q: Query): Promise<number[]> {
  const at = new Date(Date.now() - 30 * MONTH).toISOString()
  for (let i = 0; i < 3; i++) {
    await q(
      `insert into audit_events (time, action, resource_type, outcome, status, request_id, client_address, user_agent, details)
       values ('${at}', 'indicator.read', 'indicator', 'ok', 200, 'legacy-${i}', '192.0.2.${i + 1}', 'legacy/${i}', '{"filters":{"q":"legacy ${i}"}}')`,
    )
  }
  const events = await q('select * from audit_events order by id')
  let previous = GENESIS_HASH
  let sequence = 0
  for (const raw of events) {
    sequence += 1
    const hash = chainHash(previous, sequence, toCanonical(raw))
    await q(`insert into audit_chain (sequence, event_id, hash, previous_hash) values (${sequence}, ${Number(raw.id)}, '${hash}', '${previous}')`)
    previous = hash
  }
  return events.map((e) => Number(e.id))
}

t.test('a chain on the old rule migrates forward, appends and verifies', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dcx-legacy-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const before = foldersBefore0017(dir)
  let legacyIds: number[]
  let app
  if (!onPg) {
    // PGlite: migrate to 0014 and chain there, then start the service from that data directory.
    const client = await PGlite.create()
    await migratePglite(drizzlePglite(client, { schema }), { migrationsFolder: before })
    legacyIds = await legacyChain(async (text) => (await client.query(text)).rows as Record<string, unknown>[])
    const template = await client.dumpDataDir('none')
    await client.close()
    const config = testConfig()
    app = await build(config, { database: await openDatabase({ databaseUrl: undefined, dataDir: 'memory://', poolSize: 1, pgliteTemplate: template }) })
  } else {
    const name = `dcx_legacy_${randomBytes(6).toString('hex')}`
    const adminUrl = new URL(process.env.DATABASE_URL as string)
    adminUrl.pathname = '/postgres'
    const admin = new pg.Client({ connectionString: adminUrl.toString() })
    await admin.connect()
    await admin.query(`CREATE DATABASE ${name}`)
    await admin.end()
    t.teardown(async () => {
      const c = new pg.Client({ connectionString: adminUrl.toString() })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    })
    const url = new URL(process.env.DATABASE_URL as string)
    url.pathname = `/${name}`
    const c = new pg.Client({ connectionString: url.toString() })
    await c.connect()
    await migratePg(drizzlePg(c, { schema }), { migrationsFolder: before })
    legacyIds = await legacyChain(async (text) => (await c.query(text)).rows as Record<string, unknown>[])
    await c.end()
    app = await build(testConfig({ DATABASE_URL: url.toString() }))
  }
  await app.ready()
  t.teardown(() => app.close())

  const rows = await owner(app, 'select sequence::int as s, scheme, payload_digest from audit_chain order by sequence')
  t.same(
    rows,
    [1, 2, 3].map((s) => ({ s, scheme: 1, payload_digest: null })),
    'the old links are scheme 1',
  )

  // The service appends under scheme 2.
  const org = await createOrg(app)
  const auditor = await createAccount(app, org.id, ['auditor'])
  const A = as(app, auditor.token)
  await A.get('/v1/me')
  await A.get('/v1/audit/events?limit=5')
  await chainAll(app)
  const schemes = await owner(app, 'select scheme, count(*)::int as n from audit_chain group by scheme order by scheme')
  t.match(schemes, [{ scheme: 1, n: 3 }, { scheme: 2 }], 'new links are scheme 2')
  t.match(
    json(await A.get('/v1/audit/verify')),
    { ok: true, firstInvalid: null, checked: Number(schemes[0]?.n) + Number(schemes[1]?.n) },
    'the whole chain verifies',
  )

  // Pruning keeps the scheme-1 events whole (and counts them); a new old event is pruned.
  const [fresh] = await owner(
    app,
    `insert into audit_events (time, action, resource_type, outcome, status, request_id, client_address, user_agent, details)
     values ('${new Date(Date.now() - 30 * MONTH).toISOString()}', 'indicator.read', 'indicator', 'ok', 200, 'new-old', '192.0.2.9', 'new/1', '{}') returning id::int as id`,
  )
  await chainAll(app)
  t.match(await app.auditPruner.runNow(), { pruned: 1, legacyKept: 3 })
  const kept = await owner(app, `select count(*)::int as n from audit_events where id in (${legacyIds.join(',')}) and details is not null`)
  t.same(kept, [{ n: 3 }], 'scheme-1 payloads kept')
  const [gone] = await owner(app, `select details from audit_events where id = ${Number(fresh?.id)}`)
  t.same(gone, { details: null })
  t.match(json(await A.get('/v1/audit/verify')), { ok: true }, 'verifies after pruning')

  // Offline, across both schemes.
  await A.get('/v1/me')
  await chainAll(app)
  const cp = json<{ items: Record<string, unknown>[] }>(await A.get('/v1/audit/checkpoints')).items[0] as never
  const exported = await A.get('/v1/audit/export', { 'dcx-justification': 'migration check' })
  const file = path.join(dir, 'audit.ndjson')
  writeFileSync(file, exported.body)
  const jwks = JSON.parse((await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).body)
  const offline = await verifyExport(file, cp, jwks)
  t.match(offline, { ok: true }, `offline, across both schemes: ${offline.problems.join('; ')}`)

  // An altered scheme-1 event is still caught.
  const lines = exported.body.trim().split('\n')
  const altered = lines.map((l) => {
    const e = JSON.parse(l) as Record<string, unknown>
    return JSON.stringify(e.id === legacyIds[1] ? { ...e, clientAddress: '203.0.113.1' } : e)
  })
  writeFileSync(file, altered.join('\n') + '\n')
  t.match(await verifyExport(file, cp, jwks), { ok: false, firstInvalid: 2 }, 'offline: an altered scheme-1 event')
})
