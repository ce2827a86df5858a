// One Db type over two engines: a PostgreSQL server through a pg pool, or PGlite (Postgres
// compiled to WebAssembly) embedded in the process. Migrations run first as the connecting
// user; every query after that runs as the non-owner role APP_ROLE, so row-level security
// and the append-only audit grants apply to the service even when DATABASE_URL is a superuser.
import { createHash, hkdfSync } from 'node:crypto'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { promisify } from 'node:util'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { PGlite } from '@electric-sql/pglite'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator'
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator'
import { sql, type SQL } from 'drizzle-orm'
import { PgDialect, type PgDatabase, type PgQueryResultHKT, type PgTransaction } from 'drizzle-orm/pg-core'
import type { ExtractTablesWithRelations } from 'drizzle-orm'
import * as schema from './schema/index.js'
import { PipedPool } from './pipeline.js'
import { assertMigrated } from './migrations.js'

const execFileAsync = promisify(execFile)

export const APP_ROLE = 'dcx_app'
export const MIGRATIONS_FOLDER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations')
/** How long a borrower may keep a client whose connection died before the pool takes it back. */
const DEAD_CLIENT_RECLAIM_MS = 5_000
// Any constant works; it only has to be the same on every node migrating one database.
const MIGRATION_LOCK_ID = 0x64637801

export type Schema = typeof schema
export type Db = PgDatabase<PgQueryResultHKT, Schema>
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>
/** Anything a repository can run a query on: the database or an open transaction. */
export type Queryable = Db | Tx

export interface Database {
  readonly kind: 'pg' | 'pglite'
  readonly db: Db
  /** Cheap liveness query used by /readyz; rejects when the database is unreachable. */
  ping(timeoutMs?: number): Promise<void>
  close(): Promise<void>
  /** Run SQL as the connecting (owner) user, bypassing the app role. For tests and maintenance only. */
  asOwner<T>(fn: (q: (query: SQL) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T>
  /**
   * Run SQL as the owner outside any transaction block, each statement on its own (VACUUM refuses
   * to run inside one): on PostgreSQL a connection of its own, on PGlite the one session, with
   * no other query in between. For the statistics keeper (db/maintenance.ts).
   */
  maintain<T>(fn: (q: (query: SQL) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T>
  /**
   * PostgreSQL server only: LISTEN on a channel over a dedicated connection that reconnects by
   * itself when it drops. onListening runs after every (re)connect, since notifications sent while
   * it was away are lost. Closed with the database. Absent on PGlite (one process: nothing to hear).
   */
  listen?(channel: string, handlers: ListenHandlers): { close(): Promise<void> }
}

export interface ListenHandlers {
  onNotify(payload: string | undefined): void
  onListening?(): void
}

export interface DatabaseOptions {
  databaseUrl: string | undefined
  dataDir: string
  poolSize: number
  /** PGlite only: shared_buffers in MB (PostgreSQL's default is 128). */
  pgliteSharedBuffersMb?: number | undefined
  /** Derives the service login's password (every node of one database shares it). */
  masterKey?: string | undefined
  log?: (message: string) => void
  /**
   * PGlite in memory only: start from this data directory (a dumpDataDir() tarball, e.g. from
   * pgliteTemplate()) instead of an empty cluster. Migrations still run and skip what it has.
   */
  pgliteTemplate?: Blob | undefined
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  return opts.databaseUrl
    ? openPg(opts.databaseUrl, opts.poolSize, opts.masterKey, opts.log)
    : openPglite(opts.dataDir, opts.pgliteTemplate, opts.pgliteSharedBuffersMb, opts.log)
}

/**
 * A freshly migrated, empty in-memory PGlite cluster as an uncompressed tarball. initdb is most
 * of what opening a new PGlite costs; tests make this once and start each database from it.
 */
export async function pgliteTemplate(): Promise<Blob> {
  const client = await PGlite.create()
  try {
    await migratePglite(drizzlePglite(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER })
    await analyseNeverAnalysed((text) => client.query(text).then((r) => r.rows as Record<string, unknown>[]))
    return await client.dumpDataDir('none')
  } finally {
    await client.close()
  }
}

/**
 * The service's own login: a per-database role that is neither superuser nor owner, member of
 * APP_ROLE. Connecting as it (rather than as DATABASE_URL's user, then SET ROLE) means even a
 * statement that says RESET ROLE cannot become the owner. Its password is derived from the master
 * key, so every node agrees without storing it. Where the connecting user may not create roles,
 * or pg_hba refuses the new login, the pool falls back to DATABASE_URL's user with the role set
 * at connection start (the audit log's hash chain still catches what an owner changes).
 */
async function serviceLogin(owner: pg.Client, url: string, masterKey: string): Promise<string | undefined> {
  const db = decodeURIComponent(new URL(url).pathname.slice(1) || 'postgres')
  const role = `dcx_svc_${createHash('sha256').update(db).digest('hex').slice(0, 16)}`
  const password = Buffer.from(hkdfSync('sha256', Buffer.from(masterKey), Buffer.alloc(0), `dcx:db-login:${db}`, 32)).toString('base64url')
  try {
    await owner.query(`DO $$ BEGIN
        CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS INHERIT IN ROLE ${APP_ROLE};
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`)
    await owner.query(`ALTER ROLE ${role} WITH LOGIN PASSWORD '${password}'`)
    await owner.query(`GRANT ${APP_ROLE} TO ${role}`)
    const login = new URL(url)
    login.username = role
    login.password = password
    const probe = new pg.Client({ connectionString: login.toString(), options: `-c role=${APP_ROLE}` })
    await probe.connect()
    await probe.end()
    return login.toString()
  } catch {
    return undefined
  }
}

async function openPg(url: string, poolSize: number, masterKey: string | undefined, log?: (m: string) => void): Promise<Database> {
  // Migrate on one dedicated connection, as the connecting user, under an advisory lock so
  // several nodes (or parallel test files) starting at once apply each migration once.
  const migrator = new pg.Client({ connectionString: url })
  await migrator.connect()
  let serviceUrl: string | undefined
  try {
    await migrator.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID])
    await migratePg(drizzlePg(migrator, { schema }), { migrationsFolder: MIGRATIONS_FOLDER })
    await assertMigrated(MIGRATIONS_FOLDER, (text) => migrator.query(text).then((r) => r.rows as Record<string, unknown>[]))
    await analyseNeverAnalysed((text) => migrator.query(text).then((r) => r.rows as Record<string, unknown>[]))
    serviceUrl = masterKey ? await serviceLogin(migrator, url, masterKey) : undefined
  } finally {
    await migrator.end().catch(() => {})
  }
  if (!serviceUrl) log?.(`connecting as DATABASE_URL's user with role ${APP_ROLE} (could not set up a dedicated service login)`)

  const pool = new PipedPool({
    connectionString: serviceUrl ?? url,
    max: poolSize,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // A statement may never hold a connection for longer than a request may take.
    statement_timeout: 30_000,
    // …and a server that stops answering altogether (frozen, partitioned) must not hold a request
    // forever either: the client gives up a little after the server-side limit would have fired.
    query_timeout: 35_000,
    idle_in_transaction_session_timeout: 60_000,
    // The role is a startup parameter: a connection that cannot take it fails to open,
    // so no query can ever run as the connecting (owner) user by accident. JIT off: the
    // service's statements are short, and compiling them (which a never-analysed table's
    // inflated cost estimates trigger) only costs — tens of milliseconds per query.
    options: `-c role=${APP_ROLE} -c jit=off`,
  })
  // An idle client losing its server (restart, network) must not crash the process.
  pool.on('error', () => {})
  // Nor may a checked-out one: pg-pool removes its idle listener while a client is lent out, and a
  // server that terminates the session (57P01 on shutdown) between two statements of a transaction
  // then emits 'error' on a client with no listener — an uncaught exception. The next query on
  // that client fails instead (a 503), and the pool discards it on release (it is no longer queryable).
  //
  // And a borrower that never gives a dead client back must not starve the pool: drizzle's
  // transaction() sends BEGIN before its try/finally, so when BEGIN fails on a connection the
  // server just closed, the client is never released — after a database restart the pool would
  // shrink by one for every such request, until nothing could connect and the service never came
  // back by itself. A checked-out client whose connection has died is reclaimed (and discarded)
  // if its borrower has not released it a few seconds later.
  const lent = new WeakSet<pg.PoolClient>()
  pool.on('acquire', (client) => lent.add(client))
  pool.on('release', (_err, client) => lent.delete(client))
  pool.on('connect', (client) => {
    client.on('error', (err) => {
      setTimeout(() => {
        if (!lent.has(client)) return
        lent.delete(client)
        try {
          client.release(err)
        } catch {
          /* released meanwhile */
        }
      }, DEAD_CLIENT_RECLAIM_MS).unref()
    })
  })
  const asOwner: Database['asOwner'] = async (fn) => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      const owner = drizzlePg(client, { schema })
      return await fn(async (query) => (await owner.execute(query)).rows as Record<string, unknown>[])
    } finally {
      await client.end()
    }
  }
  // No schema at run time: the service never uses drizzle's relational queries (db.query.*), and
  // with a schema every transaction object builds one relational query builder per table.
  const db = drizzlePg(pool) as unknown as Db
  const listeners = new Set<{ close(): Promise<void> }>()
  return {
    kind: 'pg',
    db,
    async ping(timeoutMs = 2_000) {
      await withTimeout(pool.query('SELECT 1'), timeoutMs)
    },
    async close() {
      await Promise.all([...listeners].map((l) => l.close()))
      await pool.end()
    },
    asOwner,
    // A plain connection runs each statement in a transaction of its own already.
    maintain: asOwner,
    listen(channel, handlers) {
      const l = pgListener(serviceUrl ?? url, channel, handlers)
      listeners.add(l)
      return {
        close: async () => {
          listeners.delete(l)
          await l.close()
        },
      }
    },
  }
}

async function openPglite(dataDir: string, template?: Blob, sharedBuffersMb?: number, log?: (m: string) => void): Promise<Database> {
  const inMemory = dataDir.startsWith('memory://')
  if (template && !inMemory) throw new Error('a PGlite template is for in-memory databases only')
  const postgresqlconf = sharedBuffersMb ? [`shared_buffers=${sharedBuffersMb}MB`] : undefined
  let client: PGlite
  if (inMemory) client = await PGlite.create({ ...(template ? { loadDataDir: template } : {}), postgresqlconf })
  else {
    const dir = path.resolve(dataDir)
    mkdirSync(dir, { recursive: true })
    if (!migratedTo(dir, migrationsHead())) await preparePgliteElsewhere(dir, log)
    client = await PGlite.create(dir, { postgresqlconf })
  }
  try {
    await migratePglite(drizzlePglite(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER })
    await assertMigrated(MIGRATIONS_FOLDER, (text) => client.query(text).then((r) => r.rows as Record<string, unknown>[]))
  } catch (err) {
    // A database the service will not run on is closed again, so the process can exit.
    await client.close().catch(() => {})
    throw err
  }
  if (!inMemory) writeFileSync(path.join(path.resolve(dataDir), MIGRATED_MARK), migrationsHead())
  await analyseNeverAnalysed((text) => client.query(text).then((r) => r.rows as Record<string, unknown>[]))
  await client.exec(`SET ROLE ${APP_ROLE}`)
  // No schema at run time, as for PostgreSQL above.
  const db = drizzlePglite(client) as unknown as Db
  return {
    kind: 'pglite',
    db,
    async ping() {
      await client.query('SELECT 1')
    },
    async close() {
      await client.close()
    },
    async asOwner(fn) {
      // PGlite has one session: switch role inside a transaction so the app role is restored
      // even when fn throws.
      return client.transaction(async (tx) => {
        await tx.exec('SET LOCAL ROLE postgres')
        return fn(async (query) => {
          const built = new PgDialect().sqlToQuery(query)
          return (await tx.query(built.sql, built.params)).rows as Record<string, unknown>[]
        })
      })
    },
    async maintain(fn) {
      // client.transaction() is PGlite's way to hold its session: no other query runs until the
      // callback returns. Its BEGIN is committed at once (VACUUM cannot run in a transaction
      // block), the role switched for the session, and both are restored before its COMMIT.
      return client.transaction(async (tx) => {
        await tx.exec('COMMIT')
        try {
          await tx.exec('SET ROLE postgres')
          return await fn(async (query) => {
            const built = new PgDialect().sqlToQuery(query)
            return (await tx.query(built.sql, built.params)).rows as Record<string, unknown>[]
          })
        } finally {
          await tx.exec(`SET ROLE ${APP_ROLE}`)
          await tx.exec('BEGIN')
        }
      })
    },
  }
}

/**
 * The data directory's record of the last migration applied to it (the journal's last tag),
 * written after every successful migration: when it names the newest migration there is nothing
 * for a child process to do, and a restart skips it (about a second and a half). Only a shortcut:
 * a directory without it, or with an older one, goes through the child, and the migrator in this
 * process still applies whatever a restored or copied directory lacks.
 */
const MIGRATED_MARK = '.dcx-migrated'

export function migrationsHead(): string {
  const journal = JSON.parse(readFileSync(path.join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string; when: number }[] }
  const last = journal.entries.at(-1)
  return last ? `${last.tag} ${last.when}\n` : ''
}

export function migratedTo(dir: string, head: string): boolean {
  if (!existsSync(path.join(dir, 'PG_VERSION'))) return false
  try {
    return readFileSync(path.join(dir, MIGRATED_MARK), 'utf8') === head
  } catch {
    return false
  }
}

/**
 * initdb and migrations grow PGlite's WebAssembly memory to several hundred MB, and a process
 * never gets WebAssembly memory back: `npm start` would keep that for its whole life. So a data
 * directory on disk is created and migrated by a short-lived child process first, and this one
 * opens the result and finds nothing left to migrate (about a third of the memory). A new
 * cluster is made aside and moved in: the directory may hold other files (master.key), and a
 * child that fails half-way must leave nothing behind. Where the child fails, this process does
 * the same work itself (and reports the same error, if it was the migration's).
 */
async function preparePgliteElsewhere(dir: string, log?: (m: string) => void): Promise<void> {
  const fresh = !existsSync(path.join(dir, 'PG_VERSION'))
  const aside = fresh ? mkdtempSync(path.join(dir, '.initdb-')) : dir
  const url = (m: string) => JSON.stringify(import.meta.resolve(m))
  const code = `const { PGlite } = await import(${url('@electric-sql/pglite')})
const { drizzle } = await import(${url('drizzle-orm/pglite')})
const { migrate } = await import(${url('drizzle-orm/pglite/migrator')})
const db = await PGlite.create(${JSON.stringify(aside)})
await migrate(drizzle(db), { migrationsFolder: ${JSON.stringify(MIGRATIONS_FOLDER)} })
await db.close()`
  try {
    await execFileAsync(process.execPath, ['--input-type=module', '-e', code], { timeout: 600_000, env: { PATH: process.env.PATH ?? '' } })
    if (fresh) {
      // PG_VERSION last: its presence is what says the directory holds a whole cluster.
      const entries = readdirSync(aside).sort((a, b) => Number(a === 'PG_VERSION') - Number(b === 'PG_VERSION'))
      for (const entry of entries) renameSync(path.join(aside, entry), path.join(dir, entry))
    }
  } catch (e) {
    log?.(`could not prepare the embedded database in a child process (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); doing it in this one`)
  } finally {
    if (fresh) rmSync(aside, { recursive: true, force: true })
  }
}

/**
 * A new database (or one a migration just gave a new table) has tables no ANALYZE has seen:
 * the planner then guesses their size from nothing. Analysing an empty or small table is cheap,
 * so it is done right after migrating, as the owner; the statistics keeper (db/maintenance.ts)
 * takes over from there. Larger never-analysed tables are left to the keeper.
 */
async function analyseNeverAnalysed(run: (text: string) => Promise<Record<string, unknown>[]>): Promise<void> {
  const fresh = await run(`select quote_ident(n.nspname) || '.' || quote_ident(c.relname) as name
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p') and c.reltuples < 0
       and pg_relation_size(c.oid) < 8 * 1024 * 1024
       and pg_has_role(current_user, c.relowner, 'USAGE')`)
  if (fresh.length) await run(`ANALYZE ${fresh.map((r) => String(r.name)).join(', ')}`)
}

/** One LISTEN connection, reconnected with backoff (up to 5 s) whenever it ends. */
function pgListener(connectionString: string, channel: string, handlers: ListenHandlers): { close(): Promise<void> } {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`not a plain channel name: ${channel}`)
  let current: pg.Client | undefined
  let closed = false
  let attempt = 0
  let timer: NodeJS.Timeout | undefined
  const retry = () => {
    if (closed) return
    attempt++
    timer = setTimeout(connect, Math.min(100 * 2 ** attempt, 5_000))
    timer.unref()
  }
  async function connect() {
    if (closed) return
    // keepAlive: a connection whose server vanished without a word is noticed and replaced.
    const client = new pg.Client({ connectionString, options: `-c role=${APP_ROLE}`, keepAlive: true, connectionTimeoutMillis: 5_000 })
    client.on('error', () => {}) // 'end' follows; the connection is replaced there
    client.on('notification', (m) => {
      if (m.channel === channel) handlers.onNotify(m.payload)
    })
    client.on('end', () => {
      if (current !== client) return
      current = undefined
      retry()
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${channel}`)
    } catch {
      client.end().catch(() => {})
      retry()
      return
    }
    if (closed) {
      await client.end().catch(() => {})
      return
    }
    current = client
    attempt = 0
    handlers.onListening?.()
  }
  void connect()
  return {
    async close() {
      closed = true
      clearTimeout(timer)
      const client = current
      current = undefined
      await client?.end().catch(() => {})
    },
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`database did not answer within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

/** Rows of a raw query, whichever engine runs it. */
export async function rows<T = Record<string, unknown>>(q: Queryable, query: SQL): Promise<T[]> {
  const result = (await q.execute(query)) as unknown as { rows: T[] }
  return result.rows
}

export { sql }
