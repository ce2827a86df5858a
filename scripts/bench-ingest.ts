// Ingest throughput, measured through the HTTP layer (app.inject, so routing, auth, validation,
// the transaction and its audit event all count): POST /v1/indicators/bulk from concurrent
// writers, and one POST /v1/import/stix of a 10,000-object bundle. On PGlite (in memory) by
// default; on PostgreSQL when DATABASE_URL is set (that database is migrated and written to).
//
//   npx tsx scripts/bench-ingest.ts
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/dcx_bench npx tsx scripts/bench-ingest.ts
//   npx tsx scripts/bench-ingest.ts --batches 20 --items 1000 --writers 2 --stix 10000
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { build } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { createAccount, createOrg, TEST_MASTER_KEY, testDatabase } from '../test/helper.js'
import { indicatorBatch } from '../bench/data.js'

const { values: args } = parseArgs({
  options: {
    batches: { type: 'string', default: '20' },
    items: { type: 'string', default: '1000' },
    writers: { type: 'string', default: '2' },
    stix: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '1' },
  },
})
const BATCHES = Number(args.batches)
const ITEMS = Number(args.items)
const WRITERS = Number(args.writers)
const STIX = Number(args.stix)
const ROUNDS = Number(args.rounds)

const config = loadConfig({
  // The tests' master key unless one is given: the signing key this run creates on a shared test
  // database must open for the test files that run there next.
  DCX_MASTER_KEY: TEST_MASTER_KEY,
  ...process.env,
  DATABASE_URL: process.env.DATABASE_URL ?? '',
  DCX_DATA_DIR: 'memory://',
  LOG_LEVEL: 'warn',
  DCX_DOCS: 'false',
  DCX_RATE_LIMIT_PER_MINUTE: '1000000',
  DCX_RATE_LIMIT_ADDRESS_PER_MINUTE: '1000000',
  DCX_AUDIT_CHAIN_TIMER: 'false',
  DCX_STATS_KEEPER: 'false',
})
const engine = config.databaseUrl ? 'PostgreSQL' : 'PGlite (in memory)'
const app = await build(config, await testDatabase(config))
await app.ready()

const writers = await Promise.all(
  Array.from({ length: WRITERS }, async () => {
    const org = await createOrg(app, { sector: 'customs' })
    const acct = await createAccount(app, org.id, ['contributor'])
    return { org: { id: org.id, groupIds: [] as string[] }, token: acct.token }
  }),
)
const inject = (url: string, token: string, payload: object) =>
  app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify(payload) })

const salt = randomUUID().slice(0, 6)
let seq = 0
async function bulkRound(label: string) {
  // Bodies made before the clock starts: only the server's work is timed.
  const bodies = writers.map((w) => Array.from({ length: Math.ceil(BATCHES / WRITERS) }, () => ({ items: indicatorBatch(w.org, (seq += ITEMS), ITEMS, salt) })))
  let created = 0
  const t0 = performance.now()
  await Promise.all(
    writers.map(async (w, i) => {
      for (const body of bodies[i] ?? []) {
        const res = await inject('/v1/indicators/bulk', w.token, body)
        if (res.statusCode !== 200) throw new Error(`bulk: ${res.statusCode} ${res.body.slice(0, 300)}`)
        created += (res.json() as { results: { status: string }[] }).results.filter((r) => r.status === 'created').length
      }
    }),
  )
  const s = (performance.now() - t0) / 1000
  const n = bodies.flat().length * ITEMS
  console.log(
    `${label}: ${n.toLocaleString('en')} items (${created.toLocaleString('en')} created) in ${s.toFixed(2)} s = ${Math.round(n / s).toLocaleString('en')} indicators/s`,
  )
}

function stixBundle(n: number) {
  const objects = Array.from({ length: n }, (_, i) => ({
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--${randomUUID()}`,
    created: '2026-01-01T00:00:00.000Z',
    modified: '2026-01-01T00:00:00.000Z',
    name: `bench ${salt} ${i}`,
    pattern: `[domain-name:value = 'bench-${salt}-${seq}-${i}.example']`,
    pattern_type: 'stix',
    valid_from: '2026-01-01T00:00:00Z',
    labels: ['bench'],
    confidence: 70,
  }))
  return { type: 'bundle', id: `bundle--${randomUUID()}`, objects }
}

async function stixRound(label: string) {
  const w = writers[0] as (typeof writers)[number]
  seq++
  const body = stixBundle(STIX)
  const bytes = JSON.stringify(body).length
  const t0 = performance.now()
  const res = await inject('/v1/import/stix?distribution=community&tlp=green', w.token, body)
  const s = (performance.now() - t0) / 1000
  if (res.statusCode !== 200) throw new Error(`import: ${res.statusCode} ${res.body.slice(0, 300)}`)
  const counts = (res.json() as { counts: Record<string, number> }).counts
  console.log(
    `${label}: ${STIX.toLocaleString('en')} objects (${(bytes / 1048576).toFixed(1)} MiB) in ${s.toFixed(2)} s = ${Math.round(STIX / s).toLocaleString('en')} objects/s ${JSON.stringify(counts)}`,
  )
}

console.log(`engine: ${engine}; bulk ${BATCHES} × ${ITEMS} items over ${WRITERS} writers; STIX bundle of ${STIX} objects`)
// One small warm-up of each (statement preparation, JIT), not counted.
await inject('/v1/indicators/bulk', (writers[0] as (typeof writers)[number]).token, { items: indicatorBatch(writers[0]!.org, (seq += ITEMS), 100, salt) })
for (let r = 1; r <= ROUNDS; r++) {
  await bulkRound(`bulk round ${r}`)
  await stixRound(`stix round ${r}`)
}
await app.close()
