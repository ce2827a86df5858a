// The embedded default, measured as one user sees it: DCX on PGlite in this process (the keeper
// on, as `npm start` runs it), filled through its own bulk endpoint, then one client at a time.
// Each figure sits next to its baseline in the same run: the same SQL straight on the same PGlite
// instance as its owner (no HTTP, no auth, no visibility filter, no audit).
//
// Then the same data directory under concurrent load, each server a process of its own: the bare
// baseline (the same SELECTs on PGlite as its owner, a bare Fastify), then DCX exactly as
// `npm start` runs it; autocannon in a third process at --connections, and each server's RSS
// sampled by pid while it serves (PGlite's memory and its page cache included).
//
//   npm run bench:embedded                       # 100,000 indicators (about a minute to seed)
//   npm run bench:embedded -- --indicators 20000 --requests 100
//   npm run bench:embedded -- --json out.json    # also as JSON (npm run bench runs it so)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { sql } from 'drizzle-orm'
import { build } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { createAccount, createOrg } from '../test/helper.js'
import { indicatorBatch, sharedPool, type OrgRef } from './data.js'
import { fmt } from './report.js'
import { buildDist, LoadWorker, sampleRss, startCommand, startServer, type Server } from './procs.js'
import type { LoadResult } from './load.js'

const { values: args } = parseArgs({
  options: {
    indicators: { type: 'string', default: '100000' },
    requests: { type: 'string', default: '200' },
    orgs: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    duration: { type: 'string', default: '10' },
    json: { type: 'string' },
    'data-dir': { type: 'string' },
  },
})
const N = Number(args.indicators)
const REQUESTS = Number(args.requests)
const ORGS = Number(args.orgs)
const CONNECTIONS = Number(args.connections)
const DURATION = Number(args.duration)
// On disk, as `npm start` keeps it (./data): a database in memory:// would count its data as RSS.
const ownDir = args['data-dir'] === undefined
const dataDir = args['data-dir'] ?? mkdtempSync(path.join(os.tmpdir(), 'dcx-bench-embedded-'))

const config = loadConfig({
  ...process.env,
  DATABASE_URL: '',
  DCX_DATA_DIR: dataDir,
  LOG_LEVEL: 'warn',
  DCX_RATE_LIMIT_PER_MINUTE: '1000000',
  DCX_RATE_LIMIT_ADDRESS_PER_MINUTE: '1000000',
})
const app = await build(config)
await app.ready()
const t0 = Date.now()
const sectors = ['police', 'customs', 'postal', 'courier', 'prosecution'] as const
const orgs: (OrgRef & { writer: string; reader: string })[] = []
for (let i = 0; i < ORGS; i++) {
  const org = await createOrg(app, { sector: sectors[i % sectors.length] })
  const writer = await createAccount(app, org.id, ['contributor'])
  const reader = await createAccount(app, org.id, ['reader'])
  orgs.push({ id: org.id, groupIds: [], writer: writer.token, reader: reader.token })
}
const inject = (method: 'GET' | 'POST', url: string, token: string, payload?: unknown) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload: payload as object } : {}) })

const pool = sharedPool(200, 'emb')
const seedStart = Date.now()
for (let start = 0, k = 0; start < N; start += 1000, k++) {
  const org = orgs[k % orgs.length] as (typeof orgs)[number]
  const res = await inject('POST', '/v1/indicators/bulk', org.writer, { items: indicatorBatch(org, start, Math.min(1000, N - start), 'emb', pool) })
  if (res.statusCode !== 200) throw new Error(`bulk: ${res.statusCode} ${res.body.slice(0, 300)}`)
}
const seedS = (Date.now() - seedStart) / 1000
process.stdout.write(`seeded ${fmt(N)} indicators in ${fmt(seedS, 1)} s = ${fmt(N / seedS)} /s (embedded bulk, one client)\n`)
// The keeper sees the load (afterBulkLoad) and analyses; give it its pass as `npm start` would.
await app.statsKeeper.runOnce()

const reader = (orgs[0] as (typeof orgs)[number]).reader
const owner = (q: string) => app.database.asOwner((run) => run(sql.raw(q)))
const ids = (await owner(`select id from indicators where distribution = 'community' and value_visibility = 'full' order by random() limit 500`)).map((r) =>
  String(r.id),
)
const hits = await owner(
  `select type, normalized_value as nv from indicators where status = 'active' and distribution = 'community' order by random() limit 1000`,
)

async function timed(n: number, fn: (i: number) => Promise<unknown>) {
  for (let i = 0; i < Math.min(10, n); i++) await fn(i) // warm-up
  const ms: number[] = []
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint()
    await fn(i)
    ms.push(Number(process.hrtime.bigint() - s) / 1e6)
  }
  ms.sort((a, b) => a - b)
  return { p50: ms[Math.floor(n / 2)] as number, p99: ms[Math.min(n - 1, Math.floor(n * 0.99))] as number }
}
const ok = async (p: Promise<{ statusCode: number; body: string }>) => {
  const r = await p
  if (r.statusCode !== 200) throw new Error(`${r.statusCode} ${r.body.slice(0, 200)}`)
}
const words = ['fentanyl', 'escrow', 'tramadol', 'parcel', 'reshipper']
const cols = 'id, type, value, normalized_value, description, tlp, distribution, created_at'
const matchBody = {
  values: Array.from({ length: 10_000 }, (_, i) => {
    const h = hits[i % hits.length]
    return i % 10 === 0 && h ? { type: String(h.type), value: String(h.nv) } : { type: 'email', value: `nobody.${i}@screen.example` }
  }),
}
const rows: { what: string; dcx: { p50: number; p99: number }; base: { p50: number; p99: number }; goal?: number }[] = []
rows.push({
  what: 'GET /v1/indicators?limit=50',
  dcx: await timed(REQUESTS, () => ok(inject('GET', '/v1/indicators?limit=50', reader))),
  base: await timed(REQUESTS, () => owner(`select ${cols} from indicators order by created_at desc, id desc limit 51`)),
  goal: 10,
})
rows.push({
  what: 'GET /v1/indicators?limit=50&q=…',
  dcx: await timed(REQUESTS, (i) => ok(inject('GET', `/v1/indicators?limit=50&q=${words[i % words.length]}`, reader))),
  base: await timed(REQUESTS, (i) =>
    owner(
      `select ${cols} from indicators where search @@ websearch_to_tsquery('simple', '${words[i % words.length]}') order by created_at desc, id desc limit 51`,
    ),
  ),
})
rows.push({
  what: 'GET /v1/indicators/{id}',
  dcx: await timed(REQUESTS, (i) => ok(inject('GET', `/v1/indicators/${ids[i % ids.length]}`, reader))),
  base: await timed(REQUESTS, (i) => owner(`select ${cols} from indicators where id = '${ids[i % ids.length]}'`)),
})
const matchRuns = Math.max(5, Math.floor(REQUESTS / 20))
rows.push({
  what: 'POST /v1/indicators/match (10,000 values)',
  dcx: await timed(matchRuns, () => ok(inject('POST', '/v1/indicators/match', reader, matchBody))),
  base: await timed(matchRuns, () =>
    owner(
      `select q.i, x.id from jsonb_to_recordset('${JSON.stringify(matchBody.values.map((v, i) => ({ i, t: v.type, v: v.value }))).replace(/'/g, "''")}'::jsonb) q(i int, t text, v text) join indicators x on x.type = q.t and x.normalized_value = q.v`,
    ),
  ),
  goal: 250,
})

// Concurrent: the in-process app closes, and the same data directory is served by a process of
// its own — first the bare baseline (bench/baseline.ts --mode pglite: the same SELECTs on PGlite
// as its owner, a bare Fastify), then DCX exactly as `npm start` runs it (`npm run build`, then node dist/server.js:
// build(config), listen). autocannon runs in a third process; each server's RSS is sampled by pid
// while it serves, so the figure is the server's alone.
await app.close()
const serverEnv = {
  DATABASE_URL: '',
  DCX_DATA_DIR: dataDir,
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'warn',
  DCX_RATE_LIMIT_PER_MINUTE: '1000000',
  DCX_RATE_LIMIT_ADDRESS_PER_MINUTE: '1000000',
}
const loader = new LoadWorker()
await loader.start()
const readers = orgs.map((o) => o.reader)
const runs: [string, string[]][] = [
  ['GET /v1/indicators?limit=50', ['/v1/indicators?limit=50']],
  ['GET /v1/indicators/{id}', ids.map((id) => `/v1/indicators/${id}`)],
]
async function serve(name: string, start: () => Promise<Server>) {
  const server = await start()
  const rss = sampleRss(server.pid)
  const results: LoadResult[] = []
  try {
    for (const [, paths] of runs) {
      const spec = (duration: number) => ({
        url: server.url,
        method: 'GET',
        connections: CONNECTIONS,
        duration,
        warmup: 0,
        timeout: 35,
        paths,
        tokens: readers,
      })
      await loader.run<LoadResult>(spec(2))
      results.push(await loader.run<LoadResult>(spec(DURATION)))
    }
  } finally {
    await server.stop()
  }
  return { results, rssPeak: rss.stop() }
}
const bareRun = await serve('bare-pglite', () => startServer('bare-pglite', 'baseline.ts', ['--mode', 'pglite'], serverEnv))
// What `npm start` runs, built first as it builds.
buildDist()
const dcxRun = await serve('dcx-pglite', () => startCommand('dcx-pglite', ['dist/server.js'], serverEnv))
loader.stop()
const concurrent = runs.map(([what], i) => {
  const dcx = dcxRun.results[i] as LoadResult
  const base = bareRun.results[i] as LoadResult
  return { what, dcx, base, ratio: base.rps > 0 ? dcx.rps / base.rps : 0 }
})
const rssPeak = dcxRun.rssPeak
const load = os.loadavg().map((x) => x.toFixed(2))
let out = `DCX embedded (PGlite, data on disk), ${fmt(N)} indicators — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load average ${load.join(' ')}\n\n`
out += `seeded ${fmt(N)} indicators through POST /v1/indicators/bulk at ${fmt(N / seedS)} /s (one client)\n\n`
out += `one client, ${REQUESTS} requests each:\n\n| request | DCX p50 ms | DCX p99 ms | bare SQL p50 ms | target | met |\n|---|--:|--:|--:|---|---|\n`
for (const r of rows)
  out += `| ${r.what} | ${fmt(r.dcx.p50, 1)} | ${fmt(r.dcx.p99, 1)} | ${fmt(r.base.p50, 1)} | ${r.goal ? `p50 ≤ ${r.goal} ms` : ''} | ${r.goal ? (r.dcx.p50 <= r.goal ? 'met' : 'MISSED') : ''} |\n`
out += `\n${CONNECTIONS} connections, ${DURATION} s each, each server its own process, vs a bare Fastify with the same SQL on the same data:\n\n| request | DCX req/s | DCX p99 ms | bare req/s | ratio |\n|---|--:|--:|--:|--:|\n`
for (const c of concurrent) out += `| ${c.what} | ${fmt(c.dcx.rps)} | ${fmt(c.dcx.p99Ms)} | ${fmt(c.base.rps)} | ${c.ratio.toFixed(2)}× |\n`
out += `\nserver RSS peak under load: DCX ${fmt(rssPeak)} MB (as npm start runs it: node dist/server.js, PGlite's memory, the page cache DCX_PGLITE_SHARED_BUFFERS_MB), bare baseline ${fmt(bareRun.rssPeak)} MB; total ${fmt((Date.now() - t0) / 1000)} s\n`
// Under npm run bench (--json) the table goes with the progress lines; the harness prints it again at the end.
;(args.json ? process.stderr : process.stdout).write(out)
if (args.json)
  writeFileSync(
    args.json,
    JSON.stringify(
      {
        indicators: N,
        seedPerSecond: N / seedS,
        loadAvg: load,
        single: rows,
        concurrent: concurrent.map((c) => ({
          what: c.what,
          rps: c.dcx.rps,
          p50Ms: c.dcx.p50Ms,
          p99Ms: c.dcx.p99Ms,
          errors: c.dcx.errors,
          baselineRps: c.base.rps,
          ratio: c.ratio,
        })),
        rssPeakMb: rssPeak,
        baselineRssPeakMb: bareRun.rssPeak,
        table: out,
      },
      null,
      2,
    ),
  )
if (ownDir) rmSync(dataDir, { recursive: true, force: true })
