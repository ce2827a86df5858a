// Shared machinery for the attack, fault and fuzz suites (not a test file: tap runs *.test.ts).
// - the contract: every operation of openapi.yaml, and an Ajv validator for its response schemas
// - the invariants every response must hold (never a 5xx, problem+json errors, nothing internal,
//   no banner, no CORS, no secret)
// - a private PostgreSQL server (initdb into a temporary folder, its own port) for tests that stop
//   or break the database, and a private database on the shared server for tests that need
//   exact counts or a quiet audit chain
// - the real server as a child process, for SIGTERM and socket-level tests
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, chownSync, mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import pg from 'pg'
import { parse } from 'yaml'
import ajvModule from 'ajv/dist/2020.js'
import formatsModule from 'ajv-formats'
import { buildTestApp, type TapLike } from '../helper.js'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Slow cases (a private PostgreSQL started and stopped, a real server killed, sqlmap, soak) run only under npm run test:faults. */
export const FAULTS = process.env.DCX_FAULTS === '1'
export const SLOW_SKIP = FAULTS ? false : 'slow fault case: runs under `npm run test:faults` (DCX_FAULTS=1)'
export const onPg = !!process.env.DATABASE_URL

/** fast-check runs per property; FUZZ_RUNS raises it. */
export const FUZZ_RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 40) || 40)

// ---------------------------------------------------------------------------------------------
// The contract

export const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const
export type JsonSchema = Record<string, unknown>

export interface Parameter {
  name: string
  in: 'path' | 'query' | 'header'
  required?: boolean
  schema: JsonSchema
}

export interface Operation {
  operationId: string
  method: (typeof METHODS)[number]
  /** OpenAPI path, e.g. /v1/indicators/{id} */
  path: string
  /** Fastify route url, e.g. /v1/indicators/:id */
  route: string
  parameters: Parameter[]
  requestBody?: { content: Record<string, { schema: JsonSchema }> }
  responses: Record<string, { content?: Record<string, { schema: JsonSchema }> }>
  security?: Record<string, string[]>[]
}

export interface OpenApiDoc {
  paths: Record<string, Record<string, Omit<Operation, 'method' | 'path' | 'route'>>>
  components: { schemas: Record<string, JsonSchema> }
}

export const doc = parse(readFileSync(path.join(ROOT, 'openapi.yaml'), 'utf8')) as OpenApiDoc

export const operations: Operation[] = Object.entries(doc.paths).flatMap(([p, item]) =>
  METHODS.filter((m) => item[m]).map((m) => {
    const op = item[m] as Omit<Operation, 'method' | 'path' | 'route'>
    return {
      ...op,
      parameters: op.parameters ?? [],
      method: m,
      path: p,
      route: p.replace(/\{(\w+)\}/g, ':$1'),
    }
  }),
)

/** Resolve a local $ref against the document. */
export function deref(schema: JsonSchema | undefined): JsonSchema {
  let s = schema ?? {}
  for (let i = 0; i < 10 && typeof s.$ref === 'string'; i++) {
    const ref = s.$ref as string
    const name = ref.replace('#/components/schemas/', '')
    s = doc.components.schemas[name] ?? {}
  }
  return s
}

// CommonJS default exports seen from ESM: the constructor may sit on .default.
type AjvCtor = typeof import('ajv/dist/2020.js').default
const Ajv2020 = ((ajvModule as unknown as { default?: AjvCtor }).default ?? ajvModule) as AjvCtor
const addFormats = ((formatsModule as unknown as { default?: unknown }).default ?? formatsModule) as (ajv: InstanceType<AjvCtor>) => void

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true })
addFormats(ajv)
ajv.addSchema({ $id: 'https://dcx.test/openapi', components: doc.components }, 'openapi')

const validators = new Map<string, ReturnType<typeof ajv.compile>>()

/** Ajv errors of a body against the response schema of operation × status × media type; undefined when valid. */
export function responseSchemaErrors(op: Operation, status: number, body: unknown, contentType = 'application/json'): string | undefined {
  const response = op.responses[String(status)]
  if (!response) return `status ${status} is not documented for ${op.operationId}`
  const base = (m: string) => m.split(';')[0]?.trim().toLowerCase() ?? ''
  const documented = Object.keys(response.content ?? {})
  if (status === 204 && documented.length === 0) return undefined
  const media = documented.find((m) => base(m) === base(contentType))
  if (!media) return `${op.operationId} ${status} answered ${base(contentType) || 'no content type'}; documented: ${documented.join(', ') || 'none'}`
  const schema = response.content?.[media]?.schema
  if (!schema) return undefined
  // A streamed document (audit export, STIX bundle) is documented as a string of its media type.
  if (deref(schema).type === 'string' && base(media) !== 'application/json') return typeof body === 'string' || body !== undefined ? undefined : 'no body'
  const key = `${op.operationId} ${status} ${media}`
  let validate = validators.get(key)
  if (!validate) {
    // Local refs (#/components/...) resolve against the document added above.
    const rebased = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"https://dcx.test/openapi#/components/')) as JsonSchema
    validate = ajv.compile(rebased)
    validators.set(key, validate)
  }
  if (validate(body)) return undefined
  return ajv.errorsText(validate.errors, { separator: '; ' }).slice(0, 800)
}

/** Ajv errors of a value against a named component schema; undefined when valid. */
export function componentErrors(name: string, value: unknown): string | undefined {
  const key = `component ${name}`
  let validate = validators.get(key)
  if (!validate) {
    validate = ajv.compile({ $ref: `https://dcx.test/openapi#/components/schemas/${name}` })
    validators.set(key, validate)
  }
  return validate(value) ? undefined : ajv.errorsText(validate.errors, { separator: '; ' }).slice(0, 800)
}

/** The operation a request hit, from the app's matched route. */
export function operationFor(method: string, route: string): Operation | undefined {
  return operations.find((o) => o.method === method.toLowerCase() && o.route === route)
}

// ---------------------------------------------------------------------------------------------
// Invariants of every response

// Anything that would tell a caller about our internals: stack frames, files, SQL, driver text.
export const INTERNALS =
  /\bat .+:\d+:\d+|node_modules|\/src\/|\.ts:\d|\bSELECT\b.*\bFROM\b|\bINSERT INTO\b|\bUPDATE "|\bDELETE FROM\b|\bdrizzle\b|DrizzleQueryError|duplicate key|violates|relation "|\bFastifyError\b|FST_ERR|ECONNREFUSED|\bSQLSTATE\b|RangeError|TypeError|Maximum call stack/

/** Keys that must never appear in any response body. */
export const NEVER_KEYS = ['secretHash', 'secret_hash', 'privatePem', 'private_pem', 'sealedPrivateKey', 'sealed_private_key', 'password', 'privateJwk', 'd']

/** Every key anywhere in a JSON value. */
export function keysDeep(v: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) keysDeep(x, out)
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      out.add(k)
      keysDeep(x, out)
    }
  }
  return out
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Assertion = (...a: any[]) => unknown
export type Asserts = { ok: Assertion; equal: Assertion; match: Assertion; notMatch: Assertion; notOk: Assertion; fail?: Assertion }

export interface Verdict {
  ok: boolean
  problems: string[]
}

/**
 * The invariants, as a list of violations (so fuzz properties can report them together):
 * no 5xx (unless allowed), errors are problem+json with the RFC 9457 fields (the token endpoint
 * answers OAuth errors), nothing internal, no banner, no CORS, no secret key, and a 2xx body that
 * validates against the operation's response schema.
 */
export function violations(res: LightMyRequestResponse, op: Operation | undefined, opts: { allow5xx?: boolean } = {}): string[] {
  const out: string[] = []
  const status = res.statusCode
  const type = String(res.headers['content-type'] ?? '')
  if (status >= 500 && !opts.allow5xx) out.push(`5xx: ${status} ${res.body.slice(0, 200)}`)
  // Error bodies only: a 2xx may legitimately echo stored text that looks like SQL.
  if (status >= 400 && INTERNALS.test(res.body)) out.push(`internal detail in body: ${res.body.slice(0, 300)}`)
  if (res.headers['x-powered-by']) out.push('x-powered-by header')
  if (res.headers.server) out.push(`server banner: ${String(res.headers.server)}`)
  if (res.headers['access-control-allow-origin']) out.push('CORS header')
  const oauth = op?.operationId === 'issueToken' && (status === 400 || status === 401)
  let body: unknown
  if (/^application\/x-ndjson/.test(type)) {
    // The audit export: one AuditEvent per line.
    const lines = res.body.split('\n').filter(Boolean)
    for (const [i, line] of lines.entries()) {
      let event: unknown
      try {
        event = JSON.parse(line)
      } catch {
        out.push(`NDJSON line ${i} is not JSON`)
        break
      }
      const errs = componentErrors('AuditEvent', event)
      if (errs) {
        out.push(`NDJSON line ${i} is not an AuditEvent: ${errs}`)
        break
      }
    }
  } else if (/json/.test(type) && res.body.length > 0) {
    try {
      body = JSON.parse(res.body)
    } catch {
      out.push(`unparseable JSON body: ${res.body.slice(0, 100)}`)
    }
  }
  if (body !== undefined) {
    const keys = keysDeep(body)
    // 'd' is the private part of a JWK: checked where keys are published.
    const jwkRoutes = op?.operationId === 'getJwks' || op?.operationId === 'listAuditCheckpoints'
    for (const k of NEVER_KEYS) if (keys.has(k) && (k !== 'd' || jwkRoutes)) out.push(`secret key ${k} in body`)
    if (keys.has('clientSecret') && !['createAccount', 'rotateAccountSecret'].includes(op?.operationId ?? ''))
      out.push('clientSecret outside account creation / rotation')
  }
  const taxii = op?.path.startsWith('/taxii2/') ?? false
  if (status >= 400 && taxii) {
    // TAXII 2.1 §3.6.1: an error message in the TAXII media type, its http_status the status.
    if (!/^application\/taxii\+json;version=2\.1$/.test(type)) out.push(`TAXII error ${status} is not application/taxii+json;version=2.1 (${type})`)
    const b = body as Record<string, unknown> | undefined
    if (!b || typeof b.title !== 'string' || b.http_status !== String(status)) out.push(`not a TAXII error message: ${res.body.slice(0, 200)}`)
    else if (b.error_id !== res.headers['x-request-id']) out.push('TAXII error_id differs from x-request-id')
    if (status === 503 && !res.headers['retry-after']) out.push('503 without Retry-After')
  } else if (status >= 400) {
    if (oauth) {
      const b = body as { error?: unknown; error_description?: unknown } | undefined
      if (typeof b?.error !== 'string' || typeof b.error_description !== 'string') out.push(`token error is not an OAuth error body: ${res.body.slice(0, 200)}`)
    } else {
      if (!/^application\/problem\+json/.test(type)) out.push(`error ${status} is not problem+json (${type}): ${res.body.slice(0, 200)}`)
      const b = body as Record<string, unknown> | undefined
      if (
        !b ||
        b.status !== status ||
        typeof b.type !== 'string' ||
        typeof b.title !== 'string' ||
        typeof b.detail !== 'string' ||
        typeof b.requestId !== 'string'
      ) {
        out.push(`problem body lacks RFC 9457 fields: ${res.body.slice(0, 200)}`)
      } else if (b.requestId !== res.headers['x-request-id']) out.push('problem requestId differs from x-request-id')
      if (status === 503 && !res.headers['retry-after']) out.push('503 without Retry-After')
    }
  }
  if (op && status >= 200 && status < 300 && (body !== undefined || status === 204) && !/^application\/x-ndjson/.test(type)) {
    const errs = responseSchemaErrors(op, status, status === 204 ? null : body, status === 204 ? '' : type)
    if (errs) out.push(`${op.operationId} ${status} body does not match openapi.yaml: ${errs}`)
  }
  return out
}

/** Assert the invariants with tap. */
export function holds(t: Asserts, res: LightMyRequestResponse, op: Operation | undefined, label: string, opts: { allow5xx?: boolean } = {}) {
  const v = violations(res, op, opts)
  t.equal(v.length, 0, `${label}: invariants hold${v.length ? ` — ${v.join(' | ')}` : ''}`)
  return v
}

// ---------------------------------------------------------------------------------------------
// The route table

export { routeTable } from '../helper.js'

// ---------------------------------------------------------------------------------------------
// Waiting without timing assertions

/** Poll fn until it returns a truthy value or `seconds` pass; returns the last value. */
export async function poll<T>(fn: () => Promise<T>, seconds: number, everyMs = 200): Promise<T> {
  const until = Date.now() + seconds * 1000
  let last = await fn()
  while (!last && Date.now() < until) {
    await sleep(everyMs)
    last = await fn()
  }
  return last
}

/** Resolve with the promise's value, or with `timedOut` after `seconds` (a bound on hangs, not a speed test). */
export async function within<T>(p: Promise<T>, seconds: number): Promise<T | 'timed out'> {
  let timer: NodeJS.Timeout | undefined
  const out = await Promise.race([p, new Promise<'timed out'>((resolve) => (timer = setTimeout(() => resolve('timed out'), seconds * 1000)))])
  clearTimeout(timer)
  return out
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })
}

// ---------------------------------------------------------------------------------------------
// A private PostgreSQL server: its own data folder, its own port. Never the shared one.

const PG_BIN = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin'].find((d) => existsSync(path.join(d, 'initdb')))

export const privatePostgresSkip = !PG_BIN ? 'no PostgreSQL server binaries (initdb) on this machine' : false

export interface PrivatePostgres {
  url: string
  port: number
  dir: string
  /** pg_ctl start (waits until it accepts connections). */
  start(): void
  /** pg_ctl stop -m fast: sessions are terminated (57P01), new connections refused. */
  stop(mode?: 'fast' | 'immediate'): void
  /** SIGSTOP the server and all its backends: connections stay open, nothing answers. */
  freeze(): void
  /** SIGCONT them. */
  thaw(): void
  /** Stop and delete everything. */
  destroy(): void
}

/** Signal one process of our own private cluster; one that just exited is fine. */
function signal(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(pid, sig)
  } catch {
    /* gone */
  }
}

/** The postmaster of a data folder and its children (backends, background workers). */
function clusterPids(data: string): number[] {
  const pidFile = path.join(data, 'postmaster.pid')
  if (!existsSync(pidFile)) return []
  const master = Number(readFileSync(pidFile, 'utf8').split('\n')[0])
  const out = [master]
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === master) out.push(Number(entry))
    } catch {
      /* gone */
    }
  }
  return out
}

function asPostgresUser(cmd: string): { status: number | null; out: string } {
  const isRoot = process.getuid?.() === 0
  const r = isRoot ? spawnSync('su', ['postgres', '-s', '/bin/sh', '-c', cmd], { encoding: 'utf8' }) : spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' })
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` }
}

/** initdb into a temporary folder and start on a free port; destroyed in t's teardown (or call destroy() yourself). */
export async function privatePostgres(t: TapLike | undefined, opts: { maxConnections?: number } = {}): Promise<PrivatePostgres> {
  if (!PG_BIN) throw new Error('no initdb')
  const dir = mkdtempSync(path.join(tmpdir(), 'dcx-faults-pg-'))
  if (process.getuid?.() === 0) {
    const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' })
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' })
    chownSync(dir, Number(pw.stdout.trim()), Number(gid.stdout.trim()))
  }
  chmodSync(dir, 0o700)
  const data = path.join(dir, 'data')
  const init = asPostgresUser(`${PG_BIN}/initdb -D ${data} -A trust -U postgres --no-sync -E UTF8 --locale=C.UTF-8`)
  if (init.status !== 0) throw new Error(`initdb failed: ${init.out}`)
  const port = await freePort()
  const serverOpts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=${opts.maxConnections ?? 60}`
  const pgc = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    start() {
      const r = asPostgresUser(`${PG_BIN}/pg_ctl -D ${data} -o "${serverOpts}" -l ${dir}/log -w -t 60 start`)
      if (r.status !== 0) throw new Error(`pg_ctl start failed: ${r.out}`)
    },
    stop(mode: 'fast' | 'immediate' = 'fast') {
      asPostgresUser(`${PG_BIN}/pg_ctl -D ${data} -m ${mode} -w -t 60 stop`)
    },
    freeze() {
      for (const pid of clusterPids(data)) signal(pid, 'SIGSTOP')
    },
    thaw() {
      for (const pid of clusterPids(data)) signal(pid, 'SIGCONT')
    },
    destroy() {
      this.thaw()
      if (existsSync(path.join(data, 'postmaster.pid'))) this.stop('immediate')
      rmSync(dir, { recursive: true, force: true })
    },
  }
  pgc.start()
  // Whatever happens to the test (a crash, an event loop that drains before teardown), the
  // private server must not outlive the process that started it.
  const onExit = () => {
    try {
      pgc.destroy()
    } catch {
      /* best effort */
    }
  }
  process.once('exit', onExit)
  const destroy = pgc.destroy.bind(pgc)
  pgc.destroy = () => {
    process.removeListener('exit', onExit)
    destroy()
  }
  t?.teardown(() => {
    try {
      pgc.destroy()
    } catch (err) {
      process.stderr.write(`private PostgreSQL teardown: ${String(err)}\n`)
    }
  })
  return pgc
}

/** A database of its own on the shared server (CREATE DATABASE; dropped WITH FORCE in teardown); on PGlite a fresh in-memory one. */
export async function privateApp(t: TapLike, env: Record<string, string> = {}): Promise<FastifyInstance> {
  if (!onPg) return buildTestApp(t, env)
  const name = `dcx_faults_${randomBytes(6).toString('hex')}`
  const adminUrl = new URL(process.env.DATABASE_URL as string)
  adminUrl.pathname = '/postgres'
  const admin = new pg.Client({ connectionString: adminUrl.toString() })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  // Registered before the app's own teardown: tap runs teardowns last-registered first, so the
  // app closes, then its database is dropped.
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: adminUrl.toString() })
    await c.connect()
    try {
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    } finally {
      await c.end()
    }
  })
  const url = new URL(process.env.DATABASE_URL as string)
  url.pathname = `/${name}`
  return buildTestApp(t, { ...env, DATABASE_URL: url.toString() })
}

/**
 * An app on a PostgreSQL server of its own (privatePostgres), for a test whose outcome depends on
 * the audit chain settling: the chainer links only events older than every transaction open on
 * the *server* (transaction ids are cluster-wide), so on the shared server another test file's —
 * or another run's — open transaction holds a private database's chain back as well. On PGlite a
 * fresh in-memory database; without server binaries, a private database on the shared server.
 */
export async function ownServerApp(t: TapLike, env: Record<string, string> = {}, opts: { maxConnections?: number } = {}): Promise<FastifyInstance> {
  if (!onPg) return buildTestApp(t, env)
  if (privatePostgresSkip) return privateApp(t, env)
  const pgc = await privatePostgres(t, opts)
  return buildTestApp(t, { ...env, DATABASE_URL: pgc.url })
}

// ---------------------------------------------------------------------------------------------
// The real server, as a child process (tsx src/server.ts)

export interface ServerProcess {
  port: number
  base: string
  child: ChildProcess
  output(): string
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<number | string>
}

export const BOOT_ID = 'faults-admin'
export const BOOT_SECRET = 'faults-secret-0123456789abcdefghijklmnop'

export async function startServer(t: TapLike, env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      DCX_DOCS: 'false',
      DCX_MASTER_KEY: 'faults-master-key-0123456789abcdef0123456789',
      DCX_BOOTSTRAP_CLIENT_ID: BOOT_ID,
      DCX_BOOTSTRAP_CLIENT_SECRET: BOOT_SECRET,
      DCX_RATE_LIMIT_PER_MINUTE: '1000000',
      DCX_RATE_LIMIT_ADDRESS_PER_MINUTE: '1000000',
      DCX_TOKEN_ATTEMPTS_PER_MINUTE: '100000',
      DCX_TOKEN_FAILURES_PER_MINUTE: '10000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()))
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()))
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  const base = `http://127.0.0.1:${port}`
  const up = await poll(async () => {
    if (child.exitCode !== null) return true
    try {
      return (await fetch(`${base}/healthz`)).ok
    } catch {
      return false
    }
  }, 90)
  if (!up || child.exitCode !== null) throw new Error(`server did not start:\n${output}`)
  return { port, base, child, output: () => output, exited }
}

/** A token for client credentials from a running server. */
export async function fetchToken(base: string, clientId: string, clientSecret: string): Promise<string> {
  const res = await fetch(`${base}/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  })
  const body = (await res.json()) as { access_token?: string }
  if (!body.access_token) throw new Error(`token refused: ${res.status} ${JSON.stringify(body)}`)
  return body.access_token
}
