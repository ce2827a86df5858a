// Soak: the real server (tsx src/server.ts, as a child process) under a mixed partner load for N
// minutes. Passes when no request failed (no 5xx, no unexpected 4xx, no network error) and the
// server's resident memory stayed flat; prints RSS at start and end (from the server's own
// /metrics, dcx_process_resident_memory_bytes).
//
//   npm run soak -- --minutes 5 [--concurrency 8] [--database-url postgres://…] [--max-growth 0.3]
//
// Database: --database-url (or DATABASE_URL) names a PostgreSQL server: the soak creates a
// database of its own there (dcx_soak_<time>) and drops it afterwards. Without one, the embedded
// PGlite in a temporary folder — whose pages live in the server's own memory, so its RSS grows
// with the data; prefer PostgreSQL for a memory verdict. All traffic goes to 127.0.0.1 only.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '8' },
    'database-url': { type: 'string' },
    'max-growth': { type: 'string', default: '0.3' },
    'warmup-seconds': { type: 'string', default: '30' },
  },
})
const minutes = Number(args.minutes)
const concurrency = Number(args.concurrency)
const maxGrowth = Number(args['max-growth'])
const warmupMs = Number(args['warmup-seconds']) * 1000
if (!(minutes > 0) || !(concurrency > 0)) {
  process.stderr.write('usage: npm run soak -- --minutes 5 [--concurrency 8] [--database-url postgres://…] [--max-growth 0.3]\n')
  process.exit(2)
}

const log = (m: string) => process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${m}\n`)
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })
}

// ---- database
const baseUrl = args['database-url'] ?? process.env.DATABASE_URL
let databaseUrl: string | undefined
let dropDatabase: (() => Promise<void>) | undefined
let dataDir: string | undefined
if (baseUrl) {
  const name = `dcx_soak_${Date.now()}`
  const admin = new URL(baseUrl)
  admin.pathname = '/postgres'
  const c = new pg.Client({ connectionString: admin.toString() })
  await c.connect()
  await c.query(`CREATE DATABASE ${name}`)
  await c.end()
  const u = new URL(baseUrl)
  u.pathname = `/${name}`
  databaseUrl = u.toString()
  dropDatabase = async () => {
    const d = new pg.Client({ connectionString: admin.toString() })
    await d.connect()
    await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await d.end()
  }
  log(`database: PostgreSQL, temporary database ${name}`)
} else {
  dataDir = mkdtempSync(path.join(tmpdir(), 'dcx-soak-'))
  log(`database: embedded PGlite in ${dataDir} (its memory counts in the server's RSS)`)
}

// ---- server
const port = await freePort()
const base = `http://127.0.0.1:${port}`
const BOOT_ID = 'soak-admin'
const BOOT_SECRET = 'soak-secret-0123456789abcdefghijklmnopq'
const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
  cwd: ROOT,
  env: {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    DCX_DOCS: 'false',
    DCX_MASTER_KEY: 'soak-master-key-0123456789abcdef0123456789ab',
    DCX_BOOTSTRAP_CLIENT_ID: BOOT_ID,
    DCX_BOOTSTRAP_CLIENT_SECRET: BOOT_SECRET,
    // A memory and stability test, not a rate-limit test.
    DCX_RATE_LIMIT_PER_MINUTE: '1000000',
    DCX_RATE_LIMIT_ADDRESS_PER_MINUTE: '1000000',
    DCX_TOKEN_ATTEMPTS_PER_MINUTE: '100000',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { DCX_DATA_DIR: dataDir as string }),
  },
  stdio: ['ignore', 'pipe', 'pipe'],
})
let serverLog = ''
child.stdout.on('data', (d: Buffer) => (serverLog += d.toString()))
child.stderr.on('data', (d: Buffer) => (serverLog += d.toString()))
const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')))

async function cleanup() {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM')
    const t = setTimeout(() => child.kill('SIGKILL'), 40_000)
    await exited
    clearTimeout(t)
  }
  if (dropDatabase) await dropDatabase().catch((e: unknown) => log(`could not drop the soak database: ${String(e)}`))
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)))

for (let i = 0; i < 300; i++) {
  if (child.exitCode !== null) break
  try {
    if ((await fetch(`${base}/healthz`)).ok) break
  } catch {
    /* not yet */
  }
  await sleep(300)
}
if (child.exitCode !== null) {
  process.stderr.write(serverLog)
  await cleanup()
  throw new Error('the server did not start')
}

// ---- accounts
async function call(method: string, p: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  const text = await res.text()
  return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> }
}
async function token(id: string, secret: string) {
  const r = await call('POST', '/v1/auth/token', undefined, { grant_type: 'client_credentials', client_id: id, client_secret: secret })
  if (r.status !== 200) throw new Error(`token: ${r.status} ${r.text}`)
  return r.json().access_token as string
}
const admin = await token(BOOT_ID, BOOT_SECRET)
async function org(name: string, sector: string) {
  const r = await call('POST', '/v1/organisations', admin, { name, sector, country: 'NL', contact: { email: 'desk@soak.example' } })
  if (r.status !== 201) throw new Error(`org: ${r.text}`)
  return r.json().id as string
}
async function account(orgId: string, roles: string[]) {
  const r = await call('POST', `/v1/organisations/${orgId}/accounts`, admin, { name: `soak ${roles.join('+')}`, roles })
  if (r.status !== 201) throw new Error(`account: ${r.text}`)
  const a = r.json() as { clientId: string; clientSecret: string }
  return { ...a, token: await token(a.clientId, a.clientSecret) }
}
const customs = await org('Soak customs', 'customs')
const postal = await org('Soak postal', 'postal')
const writer = await account(customs, ['org_admin'])
const screener = await account(postal, ['contributor'])
const auditor = await account(customs, ['auditor'])
const tokens = { writer: writer.token, screener: screener.token, auditor: auditor.token }
// Tokens live 10 minutes: refresh every 5.
const refresh = setInterval(() => {
  void Promise.all([
    token(writer.clientId, writer.clientSecret),
    token(screener.clientId, screener.clientSecret),
    token(auditor.clientId, auditor.clientSecret),
  ]).then(([w, s, a]) => {
    tokens.writer = w
    tokens.screener = s
    tokens.auditor = a
  })
}, 300_000)

// ---- load
const stats = { requests: 0, byStatus: new Map<string, number>(), failures: [] as string[] }
const indicatorIds: string[] = []
const noteIds: string[] = []
let changesCursor: string | null = null
let seq = 0
const word = () => `soak${(seq++).toString(36)}${Math.random().toString(36).slice(2, 8)}`

type Op = () => Promise<{ status: number; text: string; json: () => Record<string, unknown> }>
const ops: [weight: number, name: string, op: Op][] = [
  [20, 'list indicators', () => call('GET', `/v1/indicators?limit=20&organisationId=${customs}`, tokens.screener)],
  [10, 'search indicators', () => call('GET', `/v1/indicators?q=${word().slice(0, 6)}`, tokens.screener)],
  [
    15,
    'create indicator',
    async () => {
      const r = await call(
        'POST',
        '/v1/indicators',
        tokens.writer,
        { type: 'vendor_alias', value: word(), distribution: 'community', tlp: 'green', tags: ['soak'] },
        { 'idempotency-key': word() },
      )
      if (r.status === 201) indicatorIds.push(r.json().id as string)
      if (indicatorIds.length > 5000) indicatorIds.splice(0, 1000)
      return r
    },
  ],
  [
    8,
    'update indicator',
    () => {
      const id = indicatorIds[Math.floor(Math.random() * indicatorIds.length)]
      return id ? call('PATCH', `/v1/indicators/${id}`, tokens.writer, { confidence: Math.floor(Math.random() * 100) }) : call('GET', '/v1/me', tokens.writer)
    },
  ],
  [
    8,
    'get indicator',
    () => {
      const id = indicatorIds[Math.floor(Math.random() * indicatorIds.length)]
      return call('GET', id ? `/v1/indicators/${id}` : '/v1/me', tokens.screener)
    },
  ],
  [
    10,
    'match 100 values',
    () =>
      call('POST', '/v1/indicators/match', tokens.screener, {
        values: Array.from({ length: 100 }, (_, i) => ({ value: i % 10 === 0 && indicatorIds.length ? `x${i}` : word() })),
      }),
  ],
  [
    3,
    'bulk 50',
    () =>
      call('POST', '/v1/indicators/bulk', tokens.writer, {
        items: Array.from({ length: 50 }, () => ({ type: 'vendor_alias', value: word(), distribution: 'authorities' })),
      }),
  ],
  [
    5,
    'report sighting',
    () => {
      const id = indicatorIds[Math.floor(Math.random() * indicatorIds.length)]
      return id
        ? call('POST', `/v1/indicators/${id}/sightings`, tokens.screener, { seenAt: new Date().toISOString(), outcome: 'nothing_found' })
        : call('GET', '/v1/me', tokens.screener)
    },
  ],
  [
    4,
    'notes',
    async () => {
      if (Math.random() < 0.4 || noteIds.length === 0) {
        const r = await call('POST', '/v1/notes', tokens.writer, {
          title: word(),
          summary: 'soak',
          body: `# ${word()}\n\n${'text '.repeat(50)}`,
          topics: ['training'],
          distribution: 'community',
          tlp: 'clear',
        })
        if (r.status === 201) noteIds.push(r.json().id as string)
        return r
      }
      return call('GET', `/v1/notes?limit=20`, tokens.screener)
    },
  ],
  [
    6,
    'change feed',
    async () => {
      const r = await call('GET', `/v1/changes?limit=200${changesCursor ? `&cursor=${changesCursor}` : ''}`, tokens.screener)
      if (r.status === 200) changesCursor = (r.json().nextCursor as string | null) ?? changesCursor
      return r
    },
  ],
  [2, 'stats', () => call('GET', `/v1/stats?from=${new Date(Date.now() - 3_600_000).toISOString()}`, tokens.screener)],
  [3, 'audit events', () => call('GET', '/v1/audit/events?limit=50', tokens.auditor)],
  [
    1,
    'token',
    async () => {
      const r = await call('POST', '/v1/auth/token', undefined, {
        grant_type: 'client_credentials',
        client_id: screener.clientId,
        client_secret: screener.clientSecret,
      })
      return r
    },
  ],
  [5, 'directory', () => call('GET', '/v1/organisations?limit=50', tokens.screener)],
]
const totalWeight = ops.reduce((s, [w]) => s + w, 0)
function pick(): [string, Op] {
  let r = Math.random() * totalWeight
  for (const [w, name, op] of ops) {
    if ((r -= w) < 0) return [name, op]
  }
  const last = ops.at(-1) as (typeof ops)[number]
  return [last[1], last[2]]
}

async function rss(): Promise<{ rss: number; heap: number }> {
  const text = await (await fetch(`${base}/metrics`)).text()
  const val = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN)
  return { rss: val('dcx_process_resident_memory_bytes'), heap: val('dcx_nodejs_heap_size_used_bytes') }
}

const endAt = Date.now() + minutes * 60_000
let running = true
const samples: { at: number; rss: number; heap: number }[] = []
const workers = Array.from({ length: concurrency }, async () => {
  while (running && Date.now() < endAt) {
    const [name, op] = pick()
    try {
      const r = await op()
      stats.requests++
      const key = `${name} ${r.status}`
      stats.byStatus.set(key, (stats.byStatus.get(key) ?? 0) + 1)
      if (r.status >= 400 && stats.failures.length < 20) stats.failures.push(`${name}: ${r.status} ${r.text.slice(0, 200)}`)
    } catch (err) {
      stats.requests++
      stats.byStatus.set(`${name} network-error`, (stats.byStatus.get(`${name} network-error`) ?? 0) + 1)
      if (stats.failures.length < 20) stats.failures.push(`${name}: ${String(err)}`)
    }
  }
})
const started = Date.now()
log(`load: ${concurrency} workers for ${minutes} min; RSS sampled every 10 s`)
const sampler = (async () => {
  while (running && Date.now() < endAt) {
    try {
      samples.push({ at: Date.now() - started, ...(await rss()) })
      const s = samples.at(-1) as (typeof samples)[number]
      log(`t+${Math.round(s.at / 1000)} s: ${stats.requests} requests, RSS ${mb(s.rss)}, heap ${mb(s.heap)}`)
    } catch (err) {
      log(`metrics unavailable: ${String(err)}`)
    }
    await sleep(10_000)
  }
})()
await Promise.all(workers)
running = false
await sampler
clearInterval(refresh)
const final = await rss().catch(() => ({ rss: NaN, heap: NaN }))
samples.push({ at: Date.now() - started, ...final })

// ---- verdict
const errors = [...stats.byStatus.entries()].filter(([k]) => !/ (2\d\d)$/.test(k))
const afterWarmup = samples.filter((s) => s.at >= Math.min(warmupMs, (minutes * 60_000) / 3))
const startSample = afterWarmup[0] ?? samples[0]
const endSample = samples.at(-1)
const growth = startSample && endSample ? (endSample.rss - startSample.rss) / startSample.rss : NaN
const elapsed = (Date.now() - started) / 1000
log(`${stats.requests} requests in ${elapsed.toFixed(0)} s (${(stats.requests / elapsed).toFixed(1)}/s)`)
for (const [k, n] of [...stats.byStatus.entries()].sort()) log(`  ${k}: ${n}`)
log(
  `RSS at start (after ${Math.round((startSample?.at ?? 0) / 1000)} s of warm-up): ${mb(startSample?.rss ?? NaN)}; at end: ${mb(endSample?.rss ?? NaN)}; growth ${(growth * 100).toFixed(1)} % (limit ${(maxGrowth * 100).toFixed(0)} %)`,
)
log(`heap used at start: ${mb(startSample?.heap ?? NaN)}; at end: ${mb(endSample?.heap ?? NaN)}`)
const ok = errors.length === 0 && growth <= maxGrowth && child.exitCode === null
if (errors.length) for (const f of stats.failures) log(`  failure: ${f}`)
await cleanup()
const code = await exited
log(`server exited with ${code} after SIGTERM`)
log(
  ok
    ? 'PASS: no error, memory flat'
    : `FAIL: ${errors.length ? `${errors.reduce((s, [, n]) => s + n, 0)} failed requests` : ''}${growth > maxGrowth ? ` RSS grew ${(growth * 100).toFixed(1)} %` : ''}`,
)
process.exit(ok ? 0 : 1)
