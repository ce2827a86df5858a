// npx tsx bench/micro.ts --database NAME [--only match10k,match1k,get,list] [--n 20]
// In-process, sequential timing of the hot requests on a kept bench database: the real build()
// on the pipelined pool, one request at a time, wall time and this process's CPU time per
// request (medians). Steadier than autocannon on a shared machine for before/after comparisons.
import pg from 'pg'
import { createHash } from 'node:crypto'
import type { InjectOptions } from 'fastify'
import { parseArgs } from 'node:util'
import { build } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import type { IndicatorType } from '../src/modules/indicators/normalize.js'
import { prng, validValue } from './data.js'
import { loadWorld } from './seed.js'

const { values: a } = parseArgs({ options: { database: { type: 'string' }, only: { type: 'string' }, n: { type: 'string' }, pg: { type: 'string' } } })
const dbName = a.database as string
const url = `${(a.pg ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '')}/${dbName}`
const only = (a.only ?? 'match10k,match1k,get,list').split(',')
const N = Number(a.n ?? 20)
const masterKey = `bench-master-key-${dbName}-0123456789abcdef`

function matchBody(hits: { type: IndicatorType; nv: string }[], size: number, b: number, salt: string): string {
  const mix: [IndicatorType | 'untyped', number][] = [
    ['postal_item', 40],
    ['postal_address', 15],
    ['email', 15],
    ['phone', 10],
    ['crypto_address', 10],
    ['untyped', 10],
  ]
  let n = b * size
  const r = prng(1000 + b)
  const values: { type?: IndicatorType; value: string }[] = []
  for (let i = 0; i < size; i++) {
    if (hits.length && r() < 0.1) {
      const h = hits[Math.floor(r() * hits.length)] as { type: IndicatorType; nv: string }
      values.push(h.type === 'vendor_alias' ? { value: h.nv } : { type: h.type, value: h.nv })
      continue
    }
    let x = r() * 100
    let kind: IndicatorType | 'untyped' = 'postal_item'
    for (const [k, w] of mix)
      if ((x -= w) < 0) {
        kind = k
        break
      }
    const v = validValue(kind === 'untyped' ? 'vendor_alias' : kind, 500_000_000 + n++, `${salt}m`)
    values.push(kind === 'untyped' ? { value: v.normalizedValue } : { type: kind, value: v.normalizedValue })
  }
  return JSON.stringify({ values })
}

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y)
  return s[Math.floor(s.length / 2)] as number
}

const c = new pg.Client({ connectionString: url })
await c.connect()
const world = await loadWorld(c, dbName)
const reader = world.orgs.find((o) => o.sector === 'postal') ?? (world.orgs[0] as (typeof world.orgs)[number])
const acct = (
  await c.query<{ id: string; organisation_id: string; roles: string[] }>(`select id, organisation_id, roles from accounts where client_id = $1`, [
    reader.readerClientId,
  ])
).rows[0]
if (!acct) throw new Error('no reader')
const hits = (
  await c.query<{ type: IndicatorType; nv: string }>(
    `select type, normalized_value as nv from indicators where status = 'active' and distribution in ('community', 'authorities') order by id limit 5000`,
  )
).rows
const ids = (
  await c.query<{ id: string }>(`select id from indicators where distribution = 'community' and value_visibility = 'full' order by id limit 200`)
).rows.map((r) => r.id)
await c.end()

const config = loadConfig({
  DATABASE_URL: url,
  LOG_LEVEL: 'warn',
  DCX_MASTER_KEY: masterKey,
  DCX_DOCS: 'false',
  DCX_RATE_LIMIT_PER_MINUTE: '1000000',
  DCX_RATE_LIMIT_ADDRESS_PER_MINUTE: '1000000',
  DCX_STATS_KEEPER: 'false',
  DCX_RETENTION_JOB: 'false',
  DCX_SCREENING_TAGGER: 'false',
})
const app = await build(config)
await app.ready()
const token = await app.signAccessToken({ accountId: acct.id, organisationId: acct.organisation_id, clientId: reader.readerClientId, roles: acct.roles })
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }

async function time(name: string, req: (i: number) => InjectOptions, n = N) {
  for (let i = 0; i < 3; i++) {
    const r = await app.inject(req(i))
    if (r.statusCode !== 200) throw new Error(`${name}: ${r.statusCode} ${r.body.slice(0, 300)}`)
    // The answer's bytes, to check that a change leaves them alone.
    if (i === 0)
      console.log(`${name.padEnd(10)} body sha256 ${createHash('sha256').update(r.rawPayload).digest('hex').slice(0, 16)} (${r.rawPayload.length} bytes)`)
  }
  const wall: number[] = []
  const cpu: number[] = []
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    const r = await app.inject(req(i))
    wall.push(performance.now() - t0)
    const d = process.cpuUsage(c0)
    cpu.push((d.user + d.system) / 1000)
    if (r.statusCode !== 200) throw new Error(`${name}: ${r.statusCode}`)
  }
  console.log(`${name.padEnd(10)} wall p50 ${median(wall).toFixed(1).padStart(7)} ms   cpu p50 ${median(cpu).toFixed(1).padStart(7)} ms   (n=${n})`)
}

if (only.includes('match10k')) {
  const bodies = [0, 1, 2].map((b) => matchBody(hits, 10_000, b, world.salt))
  await time('match10k', (i) => ({ method: 'POST' as const, url: '/v1/indicators/match', headers, payload: bodies[i % 3] }))
}
if (only.includes('match1k')) {
  const bodies = [0, 1, 2, 3].map((b) => matchBody(hits, 1_000, b, world.salt))
  await time('match1k', (i) => ({ method: 'POST' as const, url: '/v1/indicators/match', headers, payload: bodies[i % 4] }))
}
if (only.includes('get')) await time('get', (i) => ({ method: 'GET' as const, url: `/v1/indicators/${ids[i % ids.length]}`, headers }), N * 10)
if (only.includes('list')) await time('list', () => ({ method: 'GET' as const, url: '/v1/indicators?limit=50', headers }), N * 10)
await app.close()
