// npm run bench [-- --smoke | --indicators N | --duration S | --json FILE | --keep | …]
// A fresh database, the DCX API and its baseline as child processes, a realistic seed, then each
// scenario driven by autocannon in its own process — baseline first, DCX right after, so the noise
// of whatever else the machine is doing lands on both — and a table of ratios. See bench/README.md.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { parseOptions } from './args.js'
import { createDatabase, dbUrl, dropDatabase, insertAuditEvents, waitForChain } from './db.js'
import { BENCH_DIR, buildDist, cpuSeconds, killAll, LoadWorker, rssMb, runNode, sampleRss, startServer, waitIdle, type Server } from './procs.js'
import { api, loadWorld, seedContent, seedDirectory, Tokens, type World } from './seed.js'
import { validValue, prng, type OrgRef } from './data.js'
import type { LoadResult, LoadSpec } from './load.js'
import { machine, pct, fmt, table, targetTable, type Row, type Target } from './report.js'
import type { IndicatorType } from '../src/modules/indicators/normalize.js'
import { PgDialect } from 'drizzle-orm/pg-core'
import { matchStatement } from '../src/modules/indicators/indicators.batch.js'

const opts = parseOptions(process.argv.slice(2))
const started = Date.now()
const log = (s: string) => process.stderr.write(`${s.startsWith('▶') ? `[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ` : ''}${s}\n`)
const dbName = opts.database ?? `dcx_bench_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_${randomBytes(2).toString('hex')}`
const ownDatabase = opts.database === undefined
let admin: pg.Client | undefined
const servers: Server[] = []
const badScenarios: string[] = []

function dcxEnv(): Record<string, string> {
  return {
    DATABASE_URL: dbUrl(opts.pgUrl, dbName),
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
    // Every bench server on this database must share one master key (signing keys live in the database).
    DCX_MASTER_KEY: `bench-master-key-${dbName}-0123456789abcdef`,
    DCX_DOCS: 'false',
    // The bench drives thousands of requests a second from one address and a few accounts.
    DCX_RATE_LIMIT_PER_MINUTE: '1000000',
    DCX_RATE_LIMIT_ADDRESS_PER_MINUTE: '1000000',
    DCX_TOKEN_ATTEMPTS_PER_MINUTE: '100000',
    DCX_TOKEN_FAILURES_PER_MINUTE: '10000',
    DCX_DB_POOL_SIZE: String(opts.pool),
    NODE_ENV: 'production', // as in the Docker image
  }
}

async function startDcx(noAudit: boolean): Promise<Server> {
  // The built server (bench/server.mjs runs dist/); its profiles map back through dist's source maps.
  // --expose-gc only lets the harness trigger a GC before reading live memory (see Server.memory).
  const flags = ['--expose-gc', ...(opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.join(BENCH_DIR, 'profiles', noAudit ? 'dcx-noaudit' : 'dcx')}`] : [])]
  if (opts.cpuProf) mkdirSync(path.join(BENCH_DIR, 'profiles', noAudit ? 'dcx-noaudit' : 'dcx'), { recursive: true })
  const s = await startServer(noAudit ? 'dcx-noaudit' : 'dcx', 'server.mjs', noAudit ? ['--no-audit'] : [], dcxEnv(), flags)
  servers.push(s)
  return s
}

async function startBaseline(mode: 'baseline' | 'hello-node' | 'hello-fastify'): Promise<Server> {
  const s = await startServer(mode, 'baseline.ts', ['--mode', mode], {
    DATABASE_URL: dbUrl(opts.pgUrl, dbName),
    PORT: '0',
    DCX_DB_POOL_SIZE: String(opts.pool),
    NODE_ENV: 'production',
  })
  servers.push(s)
  return s
}

async function stop(s: Server) {
  await s.stop()
  servers.splice(servers.indexOf(s), 1)
}

/**
 * rssMb: the server's peak RSS; cpuPct: its CPU over the run (100 = one core: the event loop is
 * saturated); pgCpuPct: the CPU of the bench database's PostgreSQL backends over the run (200 = both cores).
 */
type Measured = LoadResult & { rssMb: number; cpuPct: number; pgCpuPct: number }
type Spec = Omit<LoadSpec, 'url' | 'duration' | 'warmup' | 'timeout' | 'connections'> & {
  connections?: number
  /** Seconds a request: a fixed number of requests instead of a duration (see load()). */
  heavy?: boolean
  /** Heavy only in --smoke, where a 1 s run would not see one of them finish. */
  slow?: boolean
}

const loader = new LoadWorker()

async function runLoad(server: Server, full: LoadSpec): Promise<Measured> {
  const rss = sampleRss(server.pid)
  const cpu0 = cpuSeconds(server.pid)
  const pg0 = await backendCpu()
  const t0 = performance.now()
  try {
    const r = await loader.run<LoadResult>(full)
    const s = (performance.now() - t0) / 1000
    const pg1 = await backendCpu()
    let pg = 0
    for (const [pid, c] of pg1) pg += c - (pg0.get(pid) ?? c) // backends alive at both ends (the pools' connections)
    return { ...r, rssMb: rss.stop(), cpuPct: ((cpuSeconds(server.pid) - cpu0) / s) * 100, pgCpuPct: (pg / s) * 100 }
  } finally {
    rss.stop()
  }
}

/** CPU seconds of each PostgreSQL backend connected to the bench database (same machine: /proc). */
async function backendCpu(): Promise<Map<number, number>> {
  const out = new Map<number, number>()
  if (!admin) return out
  const r = await admin.query<{ pid: number }>(`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`)
  for (const { pid } of r.rows) {
    const c = cpuSeconds(pid)
    if (!Number.isNaN(c)) out.set(pid, c)
  }
  return out
}

/** Active statements on the bench database other than ours: abandoned requests still running there. */
async function pgBusy() {
  if (!admin) return false
  const r = await admin.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity where datname = current_database() and state = 'active' and pid <> pg_backend_pid()`,
  )
  return (r.rows[0]?.n ?? 0) > 0
}

/**
 * One measured autocannon run against a server, in a child process, sampling the server's RSS.
 * Warm-up first (its own run, then the server is let go quiet). `heavy` scenarios — requests
 * that take seconds — run a fixed number of requests (two per connection) instead of a duration,
 * so none is abandoned half-done and none is counted before it finishes.
 */
async function load(server: Server, spec: Spec): Promise<Measured> {
  const { heavy: h, slow, ...rest } = spec
  const heavy = h === true || (slow === true && opts.smoke)
  const connections = rest.connections ?? (heavy && opts.smoke ? Math.min(4, opts.connections) : opts.connections)
  const full: LoadSpec = { url: server.url, duration: opts.duration, warmup: 0, timeout: 35, ...rest, connections }
  if (opts.warmup > 0 || heavy) {
    await runLoad(server, heavy ? { ...full, connections: 1, amount: opts.smoke ? 1 : 2 } : { ...full, duration: opts.warmup })
    await waitIdle(server.pid, pgBusy, opts.smoke ? 1 : 2)
  }
  const m = await runLoad(server, heavy ? { ...full, amount: connections * (opts.smoke ? 1 : 2) } : full)
  await waitIdle(server.pid, pgBusy, opts.smoke ? 1 : 2)
  return m
}

/** After a DCX run: let the audit chainer catch up with the events that run wrote, so the next run starts quiet. */
async function settle() {
  if (!admin) return
  const r = await waitForChain(admin, 60, 0)
  if (r.left > 0) log(`  (the audit chainer is still ${r.left} events behind after 60 s)`)
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

const rows: Row[] = []
// A scale's rows carry the seed size after '@' (list@100k): selected like their first-scale row.
const selected = (key: string) => {
  const k = key.split('@')[0] as string
  return !opts.only || opts.only.some((w) => k === w || k.startsWith(`${w}-`))
}
const short = (n: number) => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3}k` : String(n))

/**
 * Baseline then DCX, `repeat` times; the row carries the median run of each (by req/s) and the
 * median of the per-pair ratios.
 */
async function pair(
  key: string,
  name: string,
  dcx: Server,
  base: Server | null,
  spec: (forDcx: boolean) => Spec,
  after?: (row: Row, d: Measured) => void,
): Promise<Row | undefined> {
  if (!selected(key)) return undefined
  log(`▶ ${name}`)
  const ds: Measured[] = []
  const bs: Measured[] = []
  const ratios: number[] = []
  for (let i = 0; i < opts.repeat; i++) {
    const b = base ? await load(base, spec(false)) : undefined
    const d = await load(dcx, spec(true))
    await settle()
    ds.push(d)
    if (b) {
      bs.push(b)
      ratios.push(b.rps > 0 ? d.rps / b.rps : 0)
    }
    log(
      `  dcx ${fmt(d.rps, 1)} req/s p50 ${fmt(d.p50Ms, 1)} ms p99 ${fmt(d.p99Ms, 1)} ms errors ${d.errors} rss ${fmt(d.rssMb)} MB cpu ${fmt(d.cpuPct)} % pg ${fmt(d.pgCpuPct)} %${b ? ` | baseline ${fmt(b.rps, 1)} req/s p50 ${fmt(b.p50Ms, 1)} ms errors ${b.errors} cpu ${fmt(b.cpuPct)} % pg ${fmt(b.pgCpuPct)} %` : ''}`,
    )
    if (d.errors > 0) log(`  dcx status codes: ${JSON.stringify(d.statusCodes)} socket errors ${d.socketErrors} timeouts ${d.timeouts}`)
  }
  const pick = (xs: Measured[]) => [...xs].sort((a, b) => a.rps - b.rps)[Math.floor(xs.length / 2)] as Measured
  const d = pick(ds)
  const b = bs.length ? pick(bs) : undefined
  const row: Row = {
    key,
    name,
    rps: d.rps,
    p50Ms: d.p50Ms,
    p99Ms: d.p99Ms,
    errors: ds.reduce((s, x) => s + x.errors, 0),
    rssMb: Math.max(...ds.map((x) => x.rssMb)),
    baselineRps: b ? b.rps : null,
    ratio: ratios.length ? median(ratios) : null,
    extra: {
      connections: spec(true).connections ?? opts.connections,
      requests: ds.reduce((s, x) => s + x.requests, 0),
      statusCodes: d.statusCodes,
      timeouts: d.timeouts,
      cpuPct: d.cpuPct,
      pgCpuPct: d.pgCpuPct,
      baselineCpuPct: b?.cpuPct ?? null,
      baselinePgCpuPct: b?.pgCpuPct ?? null,
      p90Ms: d.p90Ms,
      maxMs: d.maxMs,
      baselineP50Ms: b?.p50Ms ?? null,
      baselineP99Ms: b?.p99Ms ?? null,
      baselineErrors: bs.reduce((s, x) => s + x.errors, 0),
      baselineRssMb: bs.length ? Math.max(...bs.map((x) => x.rssMb)) : null,
      ...(ratios.length > 1 ? { ratios } : {}),
    },
  }
  // "Errors badly": no successful request at all, or most of them failing.
  if (d.requests === 0 || row.errors > 0.5 * ds.reduce((s, x) => s + x.requests, 0)) badScenarios.push(name)
  after?.(row, d)
  rows.push(row)
  return row
}

/** Match batches: a postal operator's screening mix, ~10 % hits on indicators others posted. */
function matchBodies(hits: { type: IndicatorType; nv: string }[], size: number, count: number, salt: string): string[] {
  const mix: [IndicatorType | 'untyped', number][] = [
    ['postal_item', 40],
    ['postal_address', 15],
    ['email', 15],
    ['phone', 10],
    ['crypto_address', 10],
    ['untyped', 10],
  ]
  const out: string[] = []
  let n = 0
  for (let b = 0; b < count; b++) {
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
      // Misses: values nobody posted, already in normalised form (the baseline does not normalise).
      const v = validValue(kind === 'untyped' ? 'vendor_alias' : kind, 500_000_000 + n++, `${salt}m`)
      values.push(kind === 'untyped' ? { value: v.normalizedValue } : { type: kind, value: v.normalizedValue })
    }
    out.push(JSON.stringify({ values }))
  }
  return out
}

/** A streamed GET, counted and thrown away, with the server's RSS sampled against progress. */
async function streamExport(server: Server, token: string | undefined, expected: number) {
  const rss0 = rssMb(server.pid)
  const heap0 = token ? (await server.memory())?.heapUsed : undefined
  const t0 = performance.now()
  let bytes = 0
  let lines = 0
  let firstByteMs = 0
  const progress: { lines: number; rss: number }[] = []
  const timer = setInterval(() => progress.push({ lines, rss: rssMb(server.pid) }), 100)
  // Live heap (after a full GC) at 10 %, 25 % … 90 % of the export: flat means constant memory.
  const marks = [0.1, 0.25, 0.5, 0.75, 0.9]
  const heap: { at: number; heapUsedMb: number; rssMb: number }[] = []
  const probes: Promise<void>[] = []
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.get(`${server.url}/v1/audit/export`, { headers: token ? { authorization: `Bearer ${token}` } : {}, agent: false }, (res) => {
      res.on('data', (chunk: Buffer) => {
        if (!firstByteMs) firstByteMs = performance.now() - t0
        bytes += chunk.length
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++
        if (token && marks.length && lines >= (marks[0] as number) * expected) {
          const at = marks.shift() as number
          probes.push(server.memory().then((m) => void (m && heap.push({ at, heapUsedMb: m.heapUsed / 1024 ** 2, rssMb: m.rss / 1024 ** 2 }))))
        }
      })
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', reject)
    })
    req.on('error', reject)
  })
  clearInterval(timer)
  const ms = performance.now() - t0
  await Promise.all(probes)
  progress.push({ lines, rss: rssMb(server.pid) })
  const peak = Math.max(rss0, ...progress.map((p) => p.rss))
  // RSS once a quarter of the events were out vs at the end: flat means constant memory.
  const at = (f: number) => progress.find((p) => p.lines >= f * lines)?.rss ?? peak
  return {
    status,
    ms,
    bytes,
    lines,
    firstByteMs,
    rss0,
    peak,
    rssAtQuarter: at(0.25),
    rssAtEnd: at(1),
    rssByQuarter: [0.25, 0.5, 0.75, 1].map(at),
    heapStartMb: heap0 === undefined ? null : heap0 / 1024 ** 2,
    heap: heap.sort((a, b) => a.at - b.at),
  }
}

async function main() {
  const t0 = Date.now()
  const pgVersion = await (async () => {
    const c = new pg.Client({ connectionString: dbUrl(opts.pgUrl, 'postgres') })
    await c.connect()
    try {
      return String((await c.query<{ server_version: string }>('show server_version')).rows[0]?.server_version)
    } finally {
      await c.end()
    }
  })()
  const info = machine(pgVersion)
  log(
    `DCX bench — ${info.cpus} × ${info.cpuModel}, ${info.memGb} GiB, node ${info.node}, PostgreSQL ${pgVersion}, load average ${info.loadAvgAtStart.join(' ')}`,
  )
  log(
    `database ${dbName}${ownDatabase ? ' (new)' : ' (existing)'}; ${opts.smoke ? 'SMOKE; ' : ''}${opts.duration} s per run, ${opts.warmup} s warm-up, ${opts.connections} connections, repeat ${opts.repeat}`,
  )

  if (ownDatabase) await createDatabase(opts.pgUrl, dbName)
  buildDist()
  // Started together: on a loaded machine each takes seconds (tsx compiles the sources at start).
  const [, dcx, base] = await Promise.all([loader.start(), startDcx(false), startBaseline('baseline')])
  admin = new pg.Client({ connectionString: dbUrl(opts.pgUrl, dbName) })
  await admin.connect()

  let seedRow: Record<string, unknown> = {}
  const world: World = ownDatabase ? await seedDirectory(admin, dbName, opts.orgs) : await loadWorld(admin, dbName)
  const current = { dcx }
  const tokens = new Tokens(() => current.dcx.url, world.secret)
  if (ownDatabase) {
    log(`seeding ${opts.orgs} organisations, ${opts.indicators.toLocaleString('en')} indicators…`)
    const st = await seedContent(dcx.url, admin, world, tokens, opts.indicators, log)
    seedRow = { ...st }
    log(
      `  seeded ${st.indicators.toLocaleString('en')} indicators by bulk in ${st.seconds.toFixed(1)} s = ${Math.round(st.perSecond).toLocaleString('en')} indicators/s (${st.invalid} invalid); ${st.notes} notes in ${st.notesSeconds.toFixed(1)} s; ${st.sightings.toLocaleString('en')} sightings`,
    )
  } else {
    log(`using the seeded database ${dbName}: ${world.orgs.length} organisations`)
  }
  await settle()

  // Who reads: analysts of up to ten organisations, authorities and not; who writes: their ingest systems.
  const readersOrgs = world.orgs.slice(0, Math.min(10, world.orgs.length))
  const readerTokens = () => tokens.many(readersOrgs.map((o) => o.readerClientId))
  const writers = async () => {
    const ts = await tokens.many(readersOrgs.map((o) => o.adminClientId))
    return readersOrgs.map((o, i) => ({ token: ts[i] as string, org: { id: o.id, groupIds: o.groupIds } as OrgRef }))
  }
  // What the reads ask for: 1,000 ids readers may see, 5,000 values screening will find.
  const readTargets = async (db: pg.Client) => ({
    ids: (
      await db.query<{ id: string }>(`select id from indicators where distribution = 'community' and value_visibility = 'full' order by random() limit 1000`)
    ).rows.map((r) => r.id),
    hits: (
      await db.query<{ type: IndicatorType; nv: string }>(
        `select type, normalized_value as nv from indicators where status = 'active' and distribution in ('community', 'authorities') order by random() limit 5000`,
      )
    ).rows,
  })
  const { ids, hits } = await readTargets(admin)
  const firstReader = (await readerTokens())[0] as string
  // Each server's own cursors (DCX seals its cursors; the baseline's are plain [xid, seq]).
  const walk = async (server: Server) => {
    const cursors: string[] = ['']
    for (let i = 0; i < 100; i++) {
      const r = await api<{ nextCursor: string | null; hasMore: boolean }>(
        server.url,
        'GET',
        `/v1/changes${cursors.at(-1) ? `?cursor=${cursors.at(-1)}` : ''}`,
        firstReader,
      )
      if (r.status !== 200) throw new Error(`walking the change feed of ${server.name}: ${r.status} ${r.text.slice(0, 300)}`)
      if (!r.json.hasMore || !r.json.nextCursor) break
      cursors.push(r.json.nextCursor)
    }
    return cursors
  }
  const cursors = await walk(dcx)
  const baseCursors = await walk(base)
  await settle()
  const bodies1k = matchBodies(hits, 1_000, opts.smoke ? 2 : 4, world.salt)
  const bodies10k = matchBodies(hits, 10_000, opts.smoke ? 1 : 3, world.salt)
  const plan = await matchPlan(world.orgs[0]?.id as string, hits)
  log(`match plan (10,000 probes, ${plan.indicators.toLocaleString('en')} indicators): ${plan.summary}`)
  const qWords = ['fentanyl', 'escrow', 'vacuum sealed', 'tramadol', 'dread', 'parcel', 'wickr', 'reshipper']

  // 1. The framework ceiling, once: Fastify's hello world over node:http's.
  if (selected('ceiling')) {
    const [helloNode, helloFastify] = await Promise.all([startBaseline('hello-node'), startBaseline('hello-fastify')])
    await pair(
      'ceiling',
      'ceiling: Fastify vs node:http hello',
      helloFastify,
      helloNode,
      () => ({ method: 'GET', paths: ['/'] }),
      (row) => {
        row.note = `node:http ${fmt(row.baselineRps)} req/s, Fastify ${fmt(row.rps)} req/s: the most any Fastify route can do here`
      },
    )
    await Promise.all([stop(helloNode), stop(helloFastify)])
  }

  // 2. Token issuance: scrypt-bound on both sides.
  const tokenBodies = readersOrgs.map((o) =>
    new URLSearchParams({ grant_type: 'client_credentials', client_id: o.readerClientId, client_secret: world.secret }).toString(),
  )
  await pair('token', 'POST /v1/auth/token', dcx, base, () => ({
    method: 'POST',
    paths: ['/v1/auth/token'],
    bodies: tokenBodies,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    slow: true,
  }))

  // 3–5. Reads.
  const rt = await readerTokens()
  await pair('list', 'GET /v1/indicators?limit=50', dcx, base, () => ({ method: 'GET', paths: ['/v1/indicators?limit=50'], tokens: rt }))
  await pair('list-q', 'GET /v1/indicators?limit=50&q=…', dcx, base, () => ({
    method: 'GET',
    paths: qWords.map((w) => `/v1/indicators?limit=50&q=${encodeURIComponent(w)}`),
    tokens: rt,
  }))
  await pair('get', 'GET /v1/indicators/{id}', dcx, base, () => ({ method: 'GET', paths: ids.map((id) => `/v1/indicators/${id}`), tokens: rt }))

  // 6–8. Match.
  const json = { 'content-type': 'application/json' }
  await pair('match-1k', 'POST /v1/indicators/match (1,000 values)', dcx, base, () => ({
    method: 'POST',
    paths: ['/v1/indicators/match'],
    bodies: bodies1k,
    headers: json,
    tokens: rt,
    slow: true,
  }))
  await pair('match-10k', 'POST /v1/indicators/match (10,000 values)', dcx, base, () => ({
    method: 'POST',
    paths: ['/v1/indicators/match'],
    bodies: bodies10k,
    headers: json,
    tokens: rt,
    heavy: true,
  }))
  await pair('match-10k-c1', 'POST /v1/indicators/match (10,000 values, 1 conn)', dcx, base, () => ({
    method: 'POST',
    paths: ['/v1/indicators/match'],
    bodies: bodies10k,
    headers: json,
    tokens: rt,
    connections: 1,
    slow: true,
  }))

  // 9. Change feed paging: every page of the feed, as partner systems poll it. A change cursor is
  // sealed to the organisation it was issued to, so the pages are walked with the reader that got them.
  await pair('changes', `GET /v1/changes (paging, ${cursors.length} pages)`, dcx, base, (forDcx) => ({
    method: 'GET',
    paths: (forDcx ? cursors : baseCursors).map((c) => (c ? `/v1/changes?cursor=${c}` : '/v1/changes')),
    tokens: [firstReader],
  }))

  // 10. Audit overhead: the same list, recording on vs off (off, on, on, off: drift cancels out). Also on
  // GET /v1/indicators/{id}, where the query is cheap and the audit insert + durable commit is most of the work.
  const auditVariants = ['audit-overhead', 'audit-overhead-get']
  if (auditVariants.some(selected)) {
    const noAudit = await startDcx(true)
    const rtk = await readerTokens()
    const variants = [
      { key: 'audit-overhead', what: 'list', spec: { method: 'GET' as const, paths: ['/v1/indicators?limit=50'], tokens: rtk } },
      { key: 'audit-overhead-get', what: 'get by id', spec: { method: 'GET' as const, paths: ids.map((id) => `/v1/indicators/${id}`), tokens: rtk } },
    ]
    for (const v of variants) {
      if (!selected(v.key)) continue
      log(`▶ audit overhead (${v.what}, recording off vs on)`)
      const order = opts.smoke ? [noAudit, dcx] : [noAudit, dcx, dcx, noAudit]
      const on: Measured[] = []
      const off: Measured[] = []
      for (let r = 0; r < opts.repeat; r++) {
        for (const s of order) {
          const m = await load(s, v.spec)
          await settle()
          ;(s === dcx ? on : off).push(m)
          log(
            `  ${s === dcx ? 'on ' : 'off'} ${fmt(m.rps, 1)} req/s p50 ${fmt(m.p50Ms, 1)} ms errors ${m.errors} cpu ${fmt(m.cpuPct)} % pg ${fmt(m.pgCpuPct)} %`,
          )
        }
      }
      const avg = (xs: Measured[], f: (m: Measured) => number) => xs.reduce((s, x) => s + f(x), 0) / xs.length
      const onRps = avg(on, (m) => m.rps)
      const offRps = avg(off, (m) => m.rps)
      rows.push({
        key: v.key,
        name: `audit overhead: ${v.what}, recording on (baseline: off)`,
        rps: onRps,
        p50Ms: avg(on, (m) => m.p50Ms),
        p99Ms: avg(on, (m) => m.p99Ms),
        errors: on.reduce((s, m) => s + m.errors, 0) + off.reduce((s, m) => s + m.errors, 0),
        rssMb: Math.max(...on.map((m) => m.rssMb), ...off.map((m) => m.rssMb)),
        baselineRps: offRps,
        ratio: onRps / offRps,
        note: `recording costs ${((1 - onRps / offRps) * 100).toFixed(1)} % of ${v.what} throughput (off ${fmt(offRps)} req/s, p50 ${fmt(
          avg(off, (m) => m.p50Ms),
          1,
        )} ms)`,
        extra: {
          onRuns: on.map((m) => m.rps),
          offRuns: off.map((m) => m.rps),
          onCpuPct: on.map((m) => m.cpuPct),
          offCpuPct: off.map((m) => m.cpuPct),
          onPgCpuPct: on.map((m) => m.pgCpuPct),
          offPgCpuPct: off.map((m) => m.pgCpuPct),
        },
      })
    }
    await stop(noAudit)
  }

  // 11. Scale: grow the seed to each further size and measure the reads and a screening call again,
  // against the same baseline (PostgreSQL's own plans at that size), to see what the size costs.
  const scales = opts.scales.filter((n) => n > opts.indicators && ownDatabase)
  let seeded = opts.indicators
  const plans: { indicators: number; ok: boolean; summary: string }[] = [plan]
  for (const n of scales) {
    const dcxS = current.dcx
    log(`▶ scale ${short(n)}: seeding ${(n - seeded).toLocaleString('en')} more indicators…`)
    const st = await seedContent(dcxS.url, admin, world, tokens, n, log, seeded)
    seeded = n
    log(
      `  seeded ${st.indicators.toLocaleString('en')} by bulk in ${st.seconds.toFixed(1)} s = ${Math.round(st.perSecond).toLocaleString('en')} indicators/s; the keeper's statistics ${st.statisticsSeconds.toFixed(1)} s after the load`,
    )
    seedRow[`scale${short(n)}`] = st
    await settle()
    const { ids: idsN, hits: hitsN } = await readTargets(admin)
    const planN = await matchPlan(world.orgs[0]?.id as string, hitsN)
    plans.push(planN)
    log(`match plan (10,000 probes, ${planN.indicators.toLocaleString('en')} indicators): ${planN.summary}`)
    const rtN = await readerTokens()
    const at = `@${short(n)}`
    await pair(`list${at}`, `GET /v1/indicators?limit=50 at ${short(n)}`, dcxS, base, () => ({
      method: 'GET',
      paths: ['/v1/indicators?limit=50'],
      tokens: rtN,
    }))
    await pair(`list-q${at}`, `GET /v1/indicators?limit=50&q=… at ${short(n)}`, dcxS, base, () => ({
      method: 'GET',
      paths: qWords.map((w) => `/v1/indicators?limit=50&q=${encodeURIComponent(w)}`),
      tokens: rtN,
    }))
    await pair(`get${at}`, `GET /v1/indicators/{id} at ${short(n)}`, dcxS, base, () => ({
      method: 'GET',
      paths: idsN.map((id) => `/v1/indicators/${id}`),
      tokens: rtN,
    }))
    const bodiesN = matchBodies(hitsN, 10_000, opts.smoke ? 1 : 3, `${world.salt}${short(n)}`)
    await pair(`match-10k-c1${at}`, `POST /v1/indicators/match (10,000 values, 1 conn) at ${short(n)}`, dcxS, base, () => ({
      method: 'POST',
      paths: ['/v1/indicators/match'],
      bodies: bodiesN,
      headers: json,
      tokens: rtN,
      connections: 1,
      slow: true,
    }))
  }

  // 12. Bulk ingest (at the largest seed): fresh values in every request, each writer posting to its own groups.
  const w = await writers()
  await pair(
    'bulk',
    'POST /v1/indicators/bulk (1,000 items)',
    dcx,
    base,
    (forDcx) => ({
      method: 'POST',
      paths: ['/v1/indicators/bulk'],
      headers: json,
      heavy: true,
      bulk: { writers: w, items: 1000, salt: `${world.salt}${forDcx ? 'd' : 'b'}${Date.now() % 100000}`, start: 0 },
    }),
    (row, d) => {
      const perSec = ((d.requests - d.non2xx) / d.durationS) * 1000
      row.extra = { ...row.extra, indicatorsPerSec: perSec, baselineIndicatorsPerSec: (row.baselineRps ?? 0) * 1000 }
      row.note = `${fmt(perSec)} indicators/s (baseline ${fmt((row.baselineRps ?? 0) * 1000)}/s)`
    },
  )

  // 13. Audit export of 1M (smoke: 10k) synthetic events, after the chainer has linked them all.
  if (selected('export')) {
    // On a fresh DCX server, so its RSS before the export is not what the token scenario's scrypt left behind.
    await stop(dcx)
    current.dcx = await startDcx(false)
    const dcxE = current.dcx
    log(`▶ audit export: inserting ${opts.auditEvents.toLocaleString('en')} synthetic audit events…`)
    const i0 = Date.now()
    await insertAuditEvents(admin, opts.auditEvents)
    log(`  inserted in ${((Date.now() - i0) / 1000).toFixed(1)} s; waiting for the chainer to link them (at most ${opts.waitChainS} s)…`)
    const chain = await waitForChain(admin, opts.waitChainS, 0, (left) => log(`  … ${left.toLocaleString('en')} left to chain`))
    log(
      `  chainer: ${chain.chained.toLocaleString('en')} events in ${chain.seconds.toFixed(1)} s = ${Math.round(chain.perSecond).toLocaleString('en')} events/s${chain.left ? ` (${chain.left} still unchained)` : ''}`,
    )
    // Steady state: statistics that know the chain is as long as the log (autovacuum would get there
    // on its own, minutes later). The export's plan depends on them.
    await admin.query('ANALYZE audit_events')
    await admin.query('ANALYZE audit_chain')
    const auditor = await tokens.get(world.auditorClientId)
    const expected = Number((await admin.query<{ n: string }>('select count(*) as n from audit_events')).rows[0]?.n ?? 0)
    const b = await streamExport(base, undefined, expected)
    const d = await streamExport(dcxE, auditor, expected)
    await settle()
    if (d.status !== 200 || b.status !== 200) badScenarios.push('audit export')
    const total = (await admin.query<{ n: string }>('select count(*) as n from audit_events')).rows[0]?.n
    log(
      `  dcx ${fmt(d.ms / 1000, 1)} s for ${d.lines.toLocaleString('en')} events (${fmt(d.bytes / 1024 ** 2)} MB), RSS ${fmt(d.rss0)} → peak ${fmt(d.peak)} MB; baseline ${fmt(b.ms / 1000, 1)} s`,
    )
    rows.push({
      key: 'export',
      name: `GET /v1/audit/export (${Number(total).toLocaleString('en')} events)`,
      rps: d.lines / (d.ms / 1000),
      p50Ms: d.ms,
      p99Ms: d.ms,
      errors: d.status === 200 ? 0 : 1,
      rssMb: d.peak,
      baselineRps: b.lines / (b.ms / 1000),
      ratio: b.ms / d.ms,
      note: `one request: ${fmt(d.ms / 1000, 1)} s (baseline ${fmt(b.ms / 1000, 1)} s), ${fmt(d.lines)} lines, ${fmt(d.bytes / 1024 ** 2)} MB, first byte ${fmt(d.firstByteMs)} ms; req/s column = events/s; server RSS ${fmt(d.rss0)} MB before, ${d.rssByQuarter.map((x) => fmt(x)).join(' / ')} MB at 25/50/75/100 %, peak ${fmt(d.peak)} MB; live heap after GC ${fmt(d.heapStartMb)} MB before, ${d.heap.map((h) => `${fmt(h.heapUsedMb)}`).join(' / ')} MB at ${d.heap.map((h) => `${h.at * 100}`).join('/')} %; chainer ${fmt(chain.perSecond)} events/s`,
      extra: { ...d, baseline: b, chainer: chain },
    })
  }

  // 14. The embedded default: DCX on PGlite in its own process, next to the same SQL run bare.
  const embedded = opts.embedded > 0 && (!opts.only || opts.only.includes('embedded')) ? await runEmbedded(opts.embedded) : undefined

  // 15. Oblivious screening (bench/screening.ts, its own process): evaluate 10,000 and the digest's size.
  const screening = !opts.only || opts.only.includes('screening') ? await runScreening() : undefined

  // The report.
  const out = table(rows)
  const targets = evaluate(rows, plans, embedded)
  if (screening) targets.push(...screeningTargets(screening))
  const t = targetTable(targets)
  process.stdout.write(`\n${out}\n\n${embedded ? `${embedded.table}\n\n` : ''}${t}\n\n`)
  if (opts.smoke) process.stdout.write('SMOKE: this proves the harness works; the numbers (cold servers, 1 s runs, tiny seed) are not measurements.\n')
  process.stdout.write(`seed: ${JSON.stringify(seedRow)}\n`)
  process.stdout.write(
    `total ${((Date.now() - t0) / 1000).toFixed(0)} s; load average now ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}\n`,
  )
  if (opts.json) {
    writeFileSync(
      opts.json,
      JSON.stringify(
        {
          machine: { ...info, loadAvgAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100) },
          options: { ...opts, database: dbName },
          seed: seedRow,
          scenarios: rows.map((r) => ({
            name: r.name,
            rps: r.rps,
            p50Ms: r.p50Ms,
            p99Ms: r.p99Ms,
            errors: r.errors,
            rssMb: r.rssMb,
            baselineRps: r.baselineRps,
            ratio: r.ratio,
            key: r.key,
            note: r.note,
            ...r.extra,
          })),
          targets,
          ...(embedded ? { embedded } : {}),
        },
        null,
        2,
      ),
    )
    process.stdout.write(`wrote ${opts.json}\n`)
  }
  if (opts.cpuProf)
    process.stdout.write(
      `CPU profiles in bench/profiles/dcx/ (one per thread, written when the server stops; the largest is the main thread); summarise with: npx tsx bench/profile.ts <file>\n`,
    )
}

interface EmbeddedResult {
  indicators: number
  seedPerSecond: number
  single: { what: string; dcx: { p50: number; p99: number }; base: { p50: number; p99: number }; goal?: number }[]
  concurrent: { what: string; rps: number; p50Ms: number; p99Ms: number; errors: number; baselineRps: number; ratio: number }[]
  rssPeakMb: number
  table: string
}

/** bench/embedded.ts in its own process (PGlite lives in the process that serves it), its figures as JSON. */
async function runEmbedded(n: number): Promise<EmbeddedResult | undefined> {
  log(`▶ embedded default (PGlite, in its own process): ${n.toLocaleString('en')} indicators`)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dcx-bench-emb-'))
  const file = path.join(dir, 'embedded.json')
  const size = opts.smoke
    ? ['--requests', '20', '--duration', '1', '--connections', '4', '--orgs', '4']
    : ['--connections', String(opts.connections), '--duration', String(opts.duration)]
  try {
    const r = await runNode('embedded.ts', ['--indicators', String(n), '--json', file, ...size])
    if (r.code !== 0) {
      log(`  embedded bench failed (exit ${r.code}): ${r.stderr.slice(-2000)}`)
      badScenarios.push('embedded')
      return undefined
    }
    return JSON.parse(readFileSync(file, 'utf8')) as EmbeddedResult
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

interface ScreeningResult {
  evaluate: { elements: number; cpuS: number; wallS: number; httpCpuS: number; httpWallS: number }
  digest: { holdings: number; rawBytes: number; jsonBytes: number; jsonGzipBytes: number }
}

/** bench/screening.ts in its own process (one core: it is single-threaded), its figures as JSON. */
async function runScreening(): Promise<ScreeningResult | undefined> {
  log('▶ oblivious screening: evaluate + batch proof of 10,000 elements, digest of 100,000 holdings')
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dcx-bench-scr-'))
  const file = path.join(dir, 'screening.json')
  try {
    const r = await runNode('screening.ts', ['--json', file], opts.smoke ? { NOBLE_N: '50' } : {})
    if (r.code !== 0) {
      log(`  screening bench failed (exit ${r.code}): ${r.stderr.slice(-2000)}`)
      badScenarios.push('screening')
      return undefined
    }
    return JSON.parse(readFileSync(file, 'utf8')) as ScreeningResult
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function screeningTargets(s: ScreeningResult): Target[] {
  const kB = (n: number) => `${fmt(n / 1000)} kB`
  return [
    {
      what: `screening: evaluate + proof of ${fmt(s.evaluate.elements)} elements (CPU, one core)`,
      goal: '≤ 3 s',
      measured: `${s.evaluate.cpuS.toFixed(2)} s (wall ${s.evaluate.wallS.toFixed(2)} s)`,
      met: s.evaluate.cpuS <= 3,
      margin: pct(1 - s.evaluate.cpuS / 3),
    },
    {
      what: `screening: POST /v1/screening/evaluate, ${fmt(s.evaluate.elements)} elements (CPU, one process)`,
      goal: '≤ 3 s',
      measured: `${s.evaluate.httpCpuS.toFixed(2)} s (wall ${s.evaluate.httpWallS.toFixed(2)} s)`,
      met: s.evaluate.httpCpuS <= 3,
      margin: pct(1 - s.evaluate.httpCpuS / 3),
    },
    {
      what: `screening: digest of ${fmt(s.digest.holdings)} holdings (application/octet-stream)`,
      goal: '≤ 1 MB',
      measured: `${kB(s.digest.rawBytes)} (JSON ${kB(s.digest.jsonBytes)}, gzipped ${kB(s.digest.jsonGzipBytes)})`,
      met: s.digest.rawBytes <= 1_000_000,
      margin: pct(1 - s.digest.rawBytes / 1_000_000),
    },
  ]
}

/**
 * The plan PostgreSQL picks for the service's own match statement (10,000 probes, ~10 % known), as
 * the service role with a reader's settings: every access to indicators must be an index scan of
 * the covering digest index, never a sequential scan (a hash join over one costs ten times as much).
 */
async function matchPlan(orgId: string, hits: { type: IndicatorType; nv: string }[]) {
  const probes = Array.from({ length: 10_000 }, (_, idx) => {
    const h = hits[idx % Math.max(1, hits.length)]
    return idx % 10 === 0 && h ? { idx, type: h.type, nv: h.nv } : { idx, type: 'email', nv: `nobody.${idx}@plan.example` }
  })
  const q = new PgDialect().sqlToQuery(matchStatement(probes))
  if (!admin) throw new Error('no database connection')
  const db = admin
  const n = Number((await db.query<{ n: string }>('select count(*) as n from indicators')).rows[0]?.n ?? 0)
  await db.query('BEGIN')
  try {
    await db.query('SET LOCAL ROLE dcx_app')
    await db.query('SELECT dcx_act_as($1::uuid)', [orgId])
    await db.query(`SELECT set_config('dcx.purpose', 'match', true)`)
    const res = await db.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${q.sql}`, q.params as unknown[])
    const nodes: { type: string; index?: string }[] = []
    const walk = (n: Record<string, unknown>) => {
      if (n['Relation Name'] === 'indicators') nodes.push({ type: String(n['Node Type']), index: n['Index Name'] as string | undefined })
      for (const c of (n.Plans as Record<string, unknown>[] | undefined) ?? []) walk(c)
    }
    const doc = res.rows[0]?.['QUERY PLAN'] as { Plan: Record<string, unknown> }[]
    walk(doc[0]?.Plan ?? {})
    const ok = nodes.length > 0 && nodes.every((x) => x.type.startsWith('Index') && x.index === 'indicators_match_digest_idx')
    return { ok, indicators: n, summary: nodes.map((x) => `${x.type}${x.index ? ` using ${x.index}` : ''}`).join(', ') || 'indicators not scanned' }
  } finally {
    await db.query('ROLLBACK')
  }
}

function evaluate(rs: Row[], plans: { ok: boolean; indicators: number; summary: string }[], embedded?: EmbeddedResult): Target[] {
  const by = (k: string) => rs.find((r) => r.key === k)
  const out: Target[] = []
  const ratioTarget = (key: string, what: string, goal: number) => {
    const r = by(key)
    out.push(
      r?.ratio != null
        ? { what, goal: `≥ ${goal.toFixed(2)}×`, measured: `${r.ratio.toFixed(2)}×`, met: r.ratio >= goal, margin: pct(r.ratio / goal - 1) }
        : { what, goal: `≥ ${goal.toFixed(2)}×`, measured: '—', met: null, margin: '' },
    )
  }
  const sizes = ['', ...opts.scales.filter((n) => n > opts.indicators).map((n) => `@${short(n)}`)]
  const sizeName = (at: string) => (at ? at.slice(1) : short(opts.indicators))
  for (const at of sizes) {
    ratioTarget(`list${at}`, `authenticated, audited list vs baseline (${sizeName(at)})`, 0.7)
    ratioTarget(`get${at}`, `read by id vs baseline (${sizeName(at)})`, 0.5)
  }
  // The size must not cost the reads: p99 at the largest seed against p99 at the first.
  const largest = sizes.at(-1) as string
  if (largest)
    for (const key of ['list', 'list-q']) {
      const a = by(key)?.p99Ms
      const b = by(`${key}${largest}`)?.p99Ms
      const what = `${key} p99 at ${sizeName(largest)} vs at ${sizeName('')}`
      out.push(
        a != null && b != null && a > 0
          ? { what, goal: '≤ 1.5×', measured: `${fmt(b, 1)} / ${fmt(a, 1)} ms = ${(b / a).toFixed(2)}×`, met: b / a <= 1.5, margin: pct(1 - b / a / 1.5) }
          : { what, goal: '≤ 1.5×', measured: '—', met: null, margin: '' },
      )
    }
  for (const plan of plans)
    out.push({
      what: `match plan at ${fmt(plan.indicators)} indicators`,
      goal: 'index scans of the digest index only',
      measured: plan.summary,
      met: plan.ok,
      margin: '',
    })
  const m1 = by('match-10k-c1')
  const m50 = by('match-10k')
  out.push(
    m1?.p50Ms != null
      ? {
          what: 'match 10,000 values p50 (1 connection)',
          goal: '< 250 ms',
          measured: `${fmt(m1.p50Ms)} ms${m50?.p50Ms != null ? ` (at ${opts.connections} conns: ${fmt(m50.p50Ms)} ms)` : ''}`,
          met: m1.p50Ms < 250,
          margin: pct(1 - m1.p50Ms / 250),
        }
      : { what: 'match 10,000 values p50 (1 connection)', goal: '< 250 ms', measured: '—', met: null, margin: '' },
  )
  const bulk = by('bulk')
  const ips = bulk?.extra?.indicatorsPerSec as number | undefined
  out.push(
    ips !== undefined
      ? { what: 'bulk ingest', goal: '≥ 10,000 indicators/s', measured: `${fmt(ips)} /s`, met: ips >= 10000, margin: pct(ips / 10000 - 1) }
      : { what: 'bulk ingest', goal: '≥ 10,000 indicators/s', measured: '—', met: null, margin: '' },
  )
  const loadRows = rs.filter((r) => r.key !== 'ceiling')
  const errs = loadRows.reduce((s, r) => s + r.errors, 0)
  out.push({
    what: `no errors under ${opts.connections} connections`,
    goal: '0 errors',
    measured: `${errs} errors${
      errs
        ? ` (${loadRows
            .filter((r) => r.errors)
            .map((r) => `${r.key}: ${r.errors}`)
            .join(', ')})`
        : ''
    }`,
    met: loadRows.length ? errs === 0 : null,
    margin: '',
  })
  const rssRows = loadRows.filter((r) => r.rssMb !== null)
  const maxRss = rssRows.length ? Math.max(...rssRows.map((r) => r.rssMb as number)) : NaN
  const worst = rssRows.find((r) => r.rssMb === maxRss)
  out.push({
    what: 'DCX server RSS during load',
    goal: '≤ 300 MB',
    measured: Number.isFinite(maxRss) ? `${fmt(maxRss)} MB peak (${worst?.key})` : '—',
    met: Number.isFinite(maxRss) ? maxRss <= 300 : null,
    margin: Number.isFinite(maxRss) ? pct(1 - maxRss / 300) : '',
  })
  if (embedded) {
    const e = (what: string) => embedded.single.find((r) => r.what.startsWith(what))
    const list = e('GET /v1/indicators?limit=50')
    const match = e('POST /v1/indicators/match')
    const at = fmt(embedded.indicators)
    if (list)
      out.push({
        what: `embedded list p50, one client (${at})`,
        goal: '≤ 10 ms',
        measured: `${fmt(list.dcx.p50, 1)} ms`,
        met: list.dcx.p50 <= 10,
        margin: pct(1 - list.dcx.p50 / 10),
      })
    if (match)
      out.push({
        what: `embedded match 10,000 p50, one client (${at})`,
        goal: '≤ 250 ms',
        measured: `${fmt(match.dcx.p50)} ms`,
        met: match.dcx.p50 <= 250,
        margin: pct(1 - match.dcx.p50 / 250),
      })
    for (const c of embedded.concurrent)
      out.push({
        what: `embedded ${c.what} vs bare route (${opts.smoke ? 4 : opts.connections} conns)`,
        goal: 'ratio reported',
        measured: `${c.ratio.toFixed(2)}× (${fmt(c.rps)} req/s, ${c.errors} errors)`,
        met: c.errors === 0,
        margin: '',
      })
    out.push({
      what: `embedded server RSS (${at}, under load)`,
      goal: '≤ 300 MB',
      measured: `${fmt(embedded.rssPeakMb)} MB peak`,
      met: embedded.rssPeakMb <= 300,
      margin: pct(1 - embedded.rssPeakMb / 300),
    })
  }
  const exp = by('export')
  if (exp?.extra) {
    const e = exp.extra as { rss0: number; peak: number; lines: number; heap: { at: number; heapUsedMb: number }[] }
    // Constant memory: the live heap (after a full GC) does not grow between 25 % and 90 % of the
    // export (8 MB of slack); RSS alone cannot tell a leak from garbage the GC has not collected yet.
    const h25 = e.heap.find((h) => h.at === 0.25)?.heapUsedMb
    const h90 = e.heap.find((h) => h.at === 0.9)?.heapUsedMb
    const growth = h25 !== undefined && h90 !== undefined ? h90 - h25 : NaN
    out.push({
      what: `audit export of ${fmt(e.lines)} events in constant memory`,
      goal: 'live heap grows < 8 MB from 25 % to 90 %',
      measured: Number.isFinite(growth)
        ? `heap ${fmt(h25)} → ${fmt(h90)} MB (${growth >= 0 ? '+' : ''}${fmt(growth, 1)} MB); RSS ${fmt(e.rss0)} → peak ${fmt(e.peak)} MB; ${fmt((exp.p50Ms ?? 0) / 1000, 1)} s`
        : `no heap samples; RSS ${fmt(e.rss0)} → peak ${fmt(e.peak)} MB`,
      met: Number.isFinite(growth) ? growth < 8 : null,
      margin: Number.isFinite(growth) ? `${fmt(8 - growth, 1)} MB to spare` : '',
    })
  } else out.push({ what: 'audit export in constant memory', goal: 'flat RSS', measured: '—', met: null, margin: '' })
  const ao = by('audit-overhead')
  out.push(
    ao?.ratio != null
      ? {
          what: 'audit recording overhead (list)',
          goal: '≤ 20 % of throughput',
          measured: `${((1 - ao.ratio) * 100).toFixed(1)} % (on/off ${ao.ratio.toFixed(2)}×)`,
          met: 1 - ao.ratio <= 0.2,
          margin: pct((0.2 - (1 - ao.ratio)) / 0.2),
        }
      : { what: 'audit recording overhead (list)', goal: '≤ 20 %', measured: '—', met: null, margin: '' },
  )
  return out
}

async function cleanup() {
  loader.stop()
  for (const s of [...servers].reverse()) await s.stop().catch(() => {})
  await admin?.end().catch(() => {})
  if (ownDatabase && !opts.keep) await dropDatabase(opts.pgUrl, dbName).catch((e) => log(`could not drop ${dbName}: ${e}`))
  else
    log(`kept database ${dbName} (reuse it with --database ${dbName}; drop it with: psql -h 127.0.0.1 -U postgres -c 'DROP DATABASE ${dbName} WITH (FORCE)')`)
}

let interrupted = false
process.on('SIGINT', () => {
  if (interrupted) process.exit(130)
  interrupted = true
  log('interrupted: stopping servers and cleaning up…')
  killAll()
  cleanup().finally(() => process.exit(130))
})

try {
  await main()
  await cleanup()
  if (badScenarios.length) {
    log(`scenarios that errored badly: ${badScenarios.join(', ')}`)
    process.exit(1)
  }
  process.exit(0)
} catch (err) {
  log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  killAll()
  await cleanup().catch(() => {})
  process.exit(1)
}
