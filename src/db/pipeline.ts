// Fewer round trips per transaction on a PostgreSQL server. A request's transaction used to cost
// five: BEGIN, the caller's settings, the query, the audit insert, COMMIT. Statements that return
// nothing the service reads (BEGIN, the caller's settings, the audit insert, COMMIT) are held back
// and sent in the same simple-protocol message as the next statement that does return something
// — a multi-statement Query message runs its statements in order, in the open transaction — so a
// read costs two round trips: [BEGIN; settings; SELECT] and [INSERT audit event; COMMIT].
//
// Parameters of a statement sent that way are written into its text as literals. A literal in
// single quotes has type unknown until context resolves it, exactly like a parameter the pg
// driver sends untyped (type 0), so the statement means the same; escapeLiteral() matches the driver's
// own. A value holding NUL (which a query text cannot carry) is never inlined: the held
// statements are sent on their own first and the statement goes out as usual. Nothing changes
// for atomicity: the audit insert still runs inside the transaction and COMMIT is what returns, so
// data leaves only after its audit event has committed; an error in a held statement surfaces on
// the message that carries it and the transaction rolls back.
import { createRequire } from 'node:module'
import pg from 'pg'
import type { SQL } from 'drizzle-orm'
import { PgDialect } from 'drizzle-orm/pg-core'
import type { Deadline } from '../core/deadline.js'

/**
 * pg's escapeLiteral, byte for byte, but with native replaces instead of a loop over characters:
 * a match call carries a parameter of several hundred kilobytes.
 */
export function escapeLiteral(s: string): string {
  const quoted = s.replace(/'/g, "''")
  return s.includes('\\') ? ` E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`
}
// The driver's own conversion of a JS value to its text form (dates, arrays, buffers, JSON).
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue: (v: unknown) => string | Buffer | null }

type QueryConfig = { text: string; name?: string; rowMode?: 'array'; types?: unknown; values?: unknown[] }

/** The literal for one parameter value, or undefined when it cannot be written into a query text. */
function literal(value: unknown): string | undefined {
  const v = prepareValue(value)
  if (v === null) return 'NULL'
  if (Buffer.isBuffer(v)) return `'\\x${v.toString('hex')}'`
  if (v.includes('\u0000')) return undefined
  return escapeLiteral(v)
}

/**
 * The statement with $n replaced by its parameter's literal; undefined when a value cannot be
 * inlined. Skips quoted strings, quoted identifiers, comments and dollar-quoted bodies, so a "$1"
 * inside any of them is left alone.
 */
export function inlineParams(text: string, params: readonly unknown[]): string | undefined {
  const lits = literals(params)
  return lits && inlineLiterals(text, lits)
}

/** Every parameter's literal, or undefined when one cannot be written into a query text. */
function literals(params: readonly unknown[]): string[] | undefined {
  const lits: string[] = []
  for (const p of params) {
    const l = literal(p)
    if (l === undefined) return undefined
    lits.push(l)
  }
  return lits
}

/** The statement with $n replaced by lits[n - 1] (see inlineParams); undefined for a $n out of range. */
function inlineLiterals(text: string, lits: readonly string[]): string | undefined {
  if (lits.length === 0) return text
  let out = ''
  let i = 0
  const n = text.length
  while (i < n) {
    const c = text[i] as string
    if (c === "'") {
      // A string constant; E'…' also takes backslash escapes.
      const escapes = i > 0 && /[eE]/.test(text[i - 1] ?? '') && !/[A-Za-z0-9_]/.test(text[i - 2] ?? '')
      let j = i + 1
      while (j < n) {
        if (escapes && text[j] === '\\') j += 2
        else if (text[j] === "'" && text[j + 1] === "'") j += 2
        else if (text[j] === "'") break
        else j++
      }
      out += text.slice(i, j + 1)
      i = j + 1
    } else if (c === '"') {
      let j = i + 1
      while (j < n && !(text[j] === '"' && text[j + 1] !== '"')) j += text[j] === '"' ? 2 : 1
      out += text.slice(i, j + 1)
      i = j + 1
    } else if (c === '-' && text[i + 1] === '-') {
      const j = text.indexOf('\n', i)
      const end = j < 0 ? n : j
      out += text.slice(i, end)
      i = end
    } else if (c === '/' && text[i + 1] === '*') {
      const j = text.indexOf('*/', i + 2)
      const end = j < 0 ? n : j + 2
      out += text.slice(i, end)
      i = end
    } else if (c === '$') {
      const prev = text[i - 1] ?? ''
      const num = /^\$(\d+)/.exec(text.slice(i, i + 12))
      if (num && !/[A-Za-z0-9_$]/.test(prev)) {
        const k = Number(num[1]) - 1
        if (k < 0 || k >= lits.length) return undefined
        out += lits[k]
        i += num[0].length
        continue
      }
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i))
      if (tag && !/[A-Za-z0-9_]/.test(prev)) {
        const close = text.indexOf(tag[0], i + tag[0].length)
        const end = close < 0 ? n : close + tag[0].length
        out += text.slice(i, end)
        i = end
        continue
      }
      out += c
      i++
    } else {
      out += c
      i++
    }
  }
  return out
}

/** Server-side prepared statements per connection, by statement text. */
const PREPARED = new WeakMap<pg.PoolClient, Map<string, string>>()
// Plenty for the service's statement shapes; past it, statements are sent as literals.
const MAX_PREPARED = 200
let preparedCount = 0
function statementsOf(client: pg.PoolClient): Map<string, string> {
  let m = PREPARED.get(client)
  if (!m) PREPARED.set(client, (m = new Map()))
  return m
}

type Result = pg.QueryResult & { command: string }
const none = (command: string): Result => ({ command, rowCount: null, oid: 0, rows: [], fields: [] }) as unknown as Result

/**
 * A pooled client that holds back statements whose result nobody reads and sends them with the
 * next one that has a result. Drizzle drives it like any client: 'begin' is held, 'commit' sends
 * what is held plus COMMIT in one message, 'rollback' before anything was sent costs nothing.
 */
export class PipedClient {
  private held: string[] = []
  /** Whether anything of the current transaction has reached the server. */
  private sent = false
  /**
   * The request's deadline for the current transaction (armDeadline): checked before every
   * statement is sent, COMMIT included, so nothing reaches the server — and nothing commits —
   * after it. What throws here drizzle wraps in DrizzleQueryError, then rolls back.
   */
  deadline: Deadline | undefined

  constructor(readonly client: pg.PoolClient) {}

  /** Hold a statement that returns nothing the caller reads; false if it cannot be held (send it yourself). */
  hold(text: string, params: readonly unknown[] = []): boolean {
    const inlined = inlineParams(text, params)
    if (inlined === undefined) return false
    this.held.push(inlined)
    return true
  }

  async query(config: string | QueryConfig, values?: unknown[]): Promise<Result> {
    const cfg: QueryConfig = typeof config === 'string' ? { text: config } : config
    const params = values ?? cfg.values ?? []
    const verb = cfg.text.trim().toLowerCase()
    if (verb === 'begin') {
      this.held = ['BEGIN']
      this.sent = false
      this.deadline = undefined
      return none('BEGIN')
    }
    if (verb === 'rollback') {
      const wasSent = this.sent
      this.held = []
      this.sent = false
      return wasSent ? ((await this.client.query('ROLLBACK')) as Result) : none('ROLLBACK')
    }
    // Past the deadline nothing more is sent but the way out (ROLLBACK [TO SAVEPOINT]).
    if (!verb.startsWith('rollback')) this.deadline?.check()
    if (verb === 'commit') {
      const text = [...this.held, 'COMMIT'].join(';\n')
      this.held = []
      // The transaction reaches the server with this message (if it had not already): should a
      // statement in it fail — a held insert, a statement_timeout — the rest of the message is
      // skipped and the transaction is left open and aborted. The caller's ROLLBACK must then
      // reach the server, or the pool would lend out a connection stuck in a failed transaction.
      this.sent = true
      const out = await this.client.query(text)
      this.sent = false
      return this.last(out)
    }
    if (this.held.length === 0) return (await this.client.query(cfg as pg.QueryConfig, params as unknown[])) as Result
    // Each parameter's literal is made once (a match call's is several hundred kilobytes).
    const lits = literals(params)
    if (lits === undefined) {
      await this.flush()
      return (await this.client.query(cfg as pg.QueryConfig, params as unknown[])) as Result
    }
    const prepared = this.prepared(cfg.text, lits)
    if (prepared === undefined) {
      await this.flush()
      return (await this.client.query(cfg as pg.QueryConfig, params as unknown[])) as Result
    }
    const text = [...this.held, ...prepared.statements].join(';\n')
    this.held = []
    this.sent = true
    try {
      return this.last(await this.client.query({ text, rowMode: cfg.rowMode, types: cfg.types } as pg.QueryConfig))
    } catch (err) {
      // A statement before PREPARE failed, or PREPARE did: the name may not exist on the server.
      if (prepared.created) statementsOf(this.client).delete(cfg.text)
      throw err
    }
  }

  /**
   * The statement as EXECUTE of a server-side prepared statement (PREPARE-d in the same message the
   * first time on this connection), so the server parses and plans it once per connection rather
   * than once per request; the literal form when its parameters cannot be inlined into EXECUTE.
   */
  private prepared(text: string, lits: readonly string[]): { statements: string[]; created: boolean } | undefined {
    const names = statementsOf(this.client)
    const args = lits.length ? `(${lits.join(', ')})` : ''
    let name = names.get(text)
    if (name) return { statements: [`EXECUTE ${name}${args}`], created: false }
    if (names.size >= MAX_PREPARED || !/^\s*(select|insert|update|delete|with|values)\b/i.test(text)) {
      const inlined = inlineLiterals(text, lits)
      return inlined === undefined ? undefined : { statements: [inlined], created: false }
    }
    name = `dcx_p${++preparedCount}`
    names.set(text, name)
    return { statements: [`PREPARE ${name} AS ${text}`, `EXECUTE ${name}${args}`], created: true }
  }

  private async flush() {
    if (this.held.length === 0) return
    const text = this.held.join(';\n')
    this.held = []
    this.sent = true
    await this.client.query(text)
  }

  private last(out: pg.QueryResult | pg.QueryResult[]): Result {
    return (Array.isArray(out) ? out[out.length - 1] : out) as Result
  }

  release(err?: Error | boolean) {
    this.held = []
    this.sent = false
    this.deadline = undefined
    this.client.release(err)
  }

  escapeLiteral(s: string) {
    return escapeLiteral(s)
  }
  escapeIdentifier(s: string) {
    return this.client.escapeIdentifier(s)
  }
}

/** A pool whose transactions run on piped clients (drizzle's transaction() checks for a Pool). */
export class PipedPool extends pg.Pool {
  override connect(): Promise<pg.PoolClient>
  override connect(callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): void
  override connect(
    callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void,
  ): Promise<pg.PoolClient> | void {
    // pool.query() borrows through the callback form: a single statement, nothing to hold.
    if (callback) return super.connect(callback)
    return super.connect().then((c) => new PipedClient(c) as unknown as pg.PoolClient)
  }
}

const dialect = new PgDialect()

/** The piped client under a drizzle transaction, if it runs on one. */
function pipeOf(q: unknown): PipedClient | undefined {
  const client = (q as { session?: { client?: unknown } }).session?.client
  return client instanceof PipedClient ? client : undefined
}

/**
 * Check the request's deadline before every further statement of this transaction, COMMIT
 * included. True when the transaction runs on a piped client (a PostgreSQL server); false on
 * PGlite, where the caller checks on entry and before COMMIT itself.
 */
export function armDeadline(q: unknown, deadline: Deadline): boolean {
  const pipe = pipeOf(q)
  if (!pipe) return false
  pipe.deadline = deadline
  return true
}

/**
 * Hold a statement whose result is not needed until the transaction's next statement or COMMIT.
 * True when held; false when the transaction does not run on a piped client (PGlite, a plain
 * pool) or the statement cannot be held — then the caller runs it itself.
 */
export function holdOn(q: unknown, query: SQL | { sql: string; params: unknown[] }): boolean {
  const pipe = pipeOf(q)
  if (!pipe) return false
  const built = typeof (query as { sql?: unknown }).sql === 'string' ? (query as { sql: string; params: unknown[] }) : dialect.sqlToQuery(query as SQL)
  return pipe.hold(built.sql, built.params)
}
