// build(t) and factories. Each test file builds one app: on PGlite (in memory, a fresh database
// per app, started from one migrated template per run) or, when DATABASE_URL is set, on that
// server — shared by parallel files, so every test creates its own organisations and never counts
// rows it did not make.
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { build, type BuildOptions } from '../src/app.js'
import { loadConfig, type Config } from '../src/config.js'
import { openDatabase } from '../src/db/client.js'
import { migratedTemplate } from './db-template.js'
import { accountsRepository } from '../src/modules/accounts/accounts.repository.js'
import { organisationsRepository } from '../src/modules/organisations/organisations.repository.js'
import { generateClientId, generateSecret, hashSecret } from '../src/core/secrets.js'
import type { Role, Sector } from '../src/core/roles.js'
import { watchContract } from './contract.js'

// All test files on one PostgreSQL database share its signing keys, so they share this key.
export const TEST_MASTER_KEY = 'test-master-key-0123456789abcdef0123456789abcdef'

export interface TapLike {
  teardown(fn: () => unknown): void
}

// scrypt at N=2^10 instead of the service's 2^15: a test file creates dozens of accounts and asks
// for tokens, and every hash says which parameters made it. Below what an environment may set
// (DCX_SECRET_HASH_COST ≥ 14), so it is set here, in code, and never reaches a deployment.
export const TEST_SECRET_HASH_COST = 10

export function testConfig(env: Record<string, string> = {}): Config {
  const config = loadConfig({
    DATABASE_URL: process.env.DATABASE_URL,
    DCX_DATA_DIR: 'memory://',
    LOG_LEVEL: 'silent',
    DCX_MASTER_KEY: TEST_MASTER_KEY,
    DCX_DOCS: 'false',
    // Tests run thousands of requests from one address; the rate-limit tests lower these.
    DCX_RATE_LIMIT_PER_MINUTE: '1000000',
    DCX_RATE_LIMIT_ADDRESS_PER_MINUTE: '1000000',
    DCX_TOKEN_ATTEMPTS_PER_MINUTE: '100000',
    DCX_TOKEN_FAILURES_PER_MINUTE: '10000',
    // No chaining behind a test's back: a test that needs the chain calls app.chainer.chainNow()
    // (or GET /v1/audit/verify, which chains first).
    DCX_AUDIT_CHAIN_TIMER: 'false',
    // Nor pruning: a test that needs it calls app.auditPruner.runNow().
    DCX_AUDIT_PRUNE_TIMER: 'false',
    // Nor maintenance: a test that needs it calls app.statsKeeper.runOnce() or turns it on.
    DCX_STATS_KEEPER: 'false',
    // Nor the screening tagger: a test that needs tags calls app.screening.tagger.runOnce().
    DCX_SCREENING_TAGGER: 'false',
    // Nor retention: a test that needs it calls app.retentionJob.runOnce().
    DCX_RETENTION_JOB: 'false',
    // Nor the TAXII pending-status job: a test that needs it calls app.taxiiPending.runOnce().
    DCX_TAXII_PENDING_JOB: 'false',
    ...env,
  })
  return env.DCX_SECRET_HASH_COST ? config : Object.freeze({ ...config, secretHashCost: TEST_SECRET_HASH_COST })
}

/**
 * build() options for a test app's database: on PGlite a fresh in-memory one started from the
 * migrated template (test/db-template.ts); on PostgreSQL none, so build() connects to
 * DATABASE_URL itself (migrations there are applied once and then skipped).
 */
export async function testDatabase(config: Config): Promise<Pick<BuildOptions, 'database'>> {
  if (config.databaseUrl || !config.dataDir.startsWith('memory://')) return {}
  return {
    database: await openDatabase({ databaseUrl: undefined, dataDir: config.dataDir, poolSize: config.dbPoolSize, pgliteTemplate: await migratedTemplate() }),
  }
}

export async function buildTestApp(t: TapLike, env: Record<string, string> = {}): Promise<FastifyInstance> {
  const config = testConfig(env)
  const app = await build(config, await testDatabase(config))
  await app.ready()
  t.teardown(() => app.close())
  // Every response a test provokes must be one openapi.yaml describes (test/contract.ts).
  watchContract(app)
  return app
}

export const unique = (prefix = 'org') => `${prefix}-${randomUUID().slice(0, 8)}`

export interface TestOrg {
  id: string
  name: string
  sector: Sector
}

/**
 * A test organisation. fourEyes is off unless asked for: the service's default is on (DESIGN §7),
 * but the tests written before four-eyes publication expect their TLP red, personal-data and
 * match_only items to publish at once; the four-eyes tests (test/lifecycle) turn it on.
 */
export async function createOrg(app: FastifyInstance, opts: { sector?: Sector; country?: string; name?: string; fourEyes?: boolean } = {}): Promise<TestOrg> {
  const row = await organisationsRepository.insert(app.db, {
    fourEyes: opts.fourEyes ?? false,
    name: opts.name ?? unique(`Test ${opts.sector ?? 'police'}`),
    sector: opts.sector ?? 'police',
    country: opts.country ?? 'NL',
    contactEmail: `${unique('desk')}@example.org`,
    contactPhone: '+31701234567',
    contactHours: 'Mon–Fri 08:00–18:00 CET',
  })
  return { id: row.id, name: row.name, sector: row.sector as Sector }
}

export interface TestAccount {
  id: string
  organisationId: string
  clientId: string
  clientSecret: string
  roles: Role[]
  token: string
}

/**
 * Test accounts act like partner systems that set a defaultJustification once (DESIGN §7), so
 * tests of other rules may read personal data without a DCX-Justification header; tests of the
 * justification rule pass `{ defaultJustification: null }`.
 */
export const TEST_JUSTIFICATION = 'DCX test suite'

export async function createAccount(
  app: FastifyInstance,
  organisationId: string,
  roles: Role[],
  opts: { defaultJustification?: string | null } = {},
): Promise<TestAccount> {
  const clientId = generateClientId()
  const clientSecret = generateSecret()
  const row = await accountsRepository.insert(app.db, {
    organisationId,
    name: unique(`acct ${roles.join('+')}`),
    roles,
    clientId,
    secretHash: await hashSecret(clientSecret),
    defaultJustification: opts.defaultJustification === undefined ? TEST_JUSTIFICATION : opts.defaultJustification,
  })
  const token = app.signAccessToken({ accountId: row.id, organisationId, clientId, roles })
  return { id: row.id, organisationId, clientId, clientSecret, roles, token }
}

/** A fresh organisation with one account per role given. */
export async function orgWith(app: FastifyInstance, roles: Role[], opts: { sector?: Sector; fourEyes?: boolean } = {}) {
  const org = await createOrg(app, opts)
  const accounts = {} as Record<Role, TestAccount>
  for (const role of roles) accounts[role] = await createAccount(app, org.id, [role])
  return { org, ...accounts }
}

/** app.inject with a bearer token and JSON body. */
export function as(app: FastifyInstance, token: string | undefined) {
  const send = (method: InjectOptions['method'], url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method,
      url,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      ...(payload !== undefined ? { payload: payload as InjectOptions['payload'] } : {}),
    })
  return {
    get: (url: string, headers?: Record<string, string>) => send('GET', url, undefined, headers),
    post: (url: string, payload?: unknown, headers?: Record<string, string>) => send('POST', url, payload ?? {}, headers),
    patch: (url: string, payload?: unknown, headers?: Record<string, string>) => send('PATCH', url, payload ?? {}, headers),
    delete: (url: string, headers?: Record<string, string>) => send('DELETE', url, undefined, headers),
  }
}

export function json<T = Record<string, unknown>>(res: LightMyRequestResponse): T {
  return res.json() as T
}

/** Asserts the RFC 9457 shape; returns the body. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Asserts = { equal: (...a: any[]) => unknown; match: (...a: any[]) => unknown }

export function isProblem(t: Asserts, res: LightMyRequestResponse, status: number) {
  t.equal(res.statusCode, status, `status ${status}: ${res.body.slice(0, 300)}`)
  t.match(res.headers['content-type'], /^application\/problem\+json/, 'problem+json content type')
  const body = res.json() as { type: string; title: string; status: number; detail: string; requestId: string; errors?: { name: string; reason: string }[] }
  t.equal(body.status, status, 'status in body')
  t.match(body, { type: String, title: String, detail: String, requestId: String }, 'problem fields')
  return body
}

/** "METHOD /path" for every route the app registered, from printRoutes' tree. HEAD mirrors GET and is skipped. */
export function routeTable(app: FastifyInstance): string[] {
  const out: string[] = []
  const stack: string[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:│ {3}| {4})*)[├└]── (.*?)(?: \(([^)]*)\))?$/.exec(line)
    if (!m) continue
    const depth = (m[1] ?? '').length / 4
    stack.length = depth
    const p = (stack[depth - 1] ?? '') + m[2]
    stack[depth] = p
    for (const method of m[3]?.split(/,\s*/) ?? []) if (method !== 'HEAD') out.push(`${method} ${p}`)
  }
  return out
}
