// The statistics keeper: planner statistics the service keeps itself. PGlite never runs
// autovacuum, and a PostgreSQL server may have it off; then nothing analyses DCX's tables, the
// planner estimates a 20,000-row table from nothing and picks sequential scans and sorts where an
// index scan costs a fraction of a millisecond. Every few seconds the keeper reads the tables'
// modification counters (pg_stat_user_tables) and, like autovacuum, ANALYZEs a table once more
// rows changed than 50 + 10 % of its size; it VACUUMs (and analyses) a table once dead rows exceed
// 50 + 20 % of it, or rows inserted since the last vacuum 1,000 + 20 % (index-only scans need it). Bulk loads (afterBulkLoad) add their rows at once and ask for a
// pass right away, so a large import is analysed before the next list query plans against it.
//
// Maintenance needs the table's owner; the service's queries run as the non-owner dcx_app, so the
// keeper works through Database.maintain() (the connecting user that migrated the database). Only
// one node works at a time: an advisory lock, held for the pass, and the counters are read again
// under it, so two nodes never analyse the same change twice.
import type { SQL } from 'drizzle-orm'
import type { FastifyBaseLogger } from 'fastify'
import { rows, sql, type Database } from './client.js'

// Any constant works; it only has to be the same on every node of one database.
const MAINTENANCE_LOCK_ID = 0x64637811
/** A bulk load of at least this many rows asks for a pass now rather than at the next tick. */
export const BULK_ANALYSE_ROWS = 500
/** How soon after a bulk load the pass runs: the load's transaction has committed by then. */
const BULK_DELAY_MS = 250
// autovacuum's defaults (autovacuum_analyze_threshold / _scale_factor, autovacuum_vacuum_*).
const ANALYZE_BASE = 50
const ANALYZE_SCALE = 0.1
const VACUUM_BASE = 50
const VACUUM_SCALE = 0.2
const VACUUM_INSERT_BASE = 1000

export interface MaintenanceRun {
  /** Tables analysed (schema-qualified, quoted). */
  analysed: string[]
  /** Tables vacuumed (VACUUM (ANALYZE): each is in analysed too). */
  vacuumed: string[]
  /** Another node held the lock: nothing was done here. */
  locked: boolean
}

interface TableState {
  name: string
  reltuples: number
  modified: number
  dead: number
  inserted: number
  lastAnalysed: Date | null
  maintainable: boolean
}

type Run = (query: SQL) => Promise<Record<string, unknown>[]>

/** Keepers running in this process; afterBulkLoad tells each of them. */
const running = new Set<StatisticsKeeper>()

/**
 * A service just wrote `count` rows into `table` in one go (bulk ingest, STIX import): count them
 * towards its next ANALYZE and, for a large load, ask for a pass now. Call it after the load's
 * transaction committed. Cheap; does nothing where no keeper runs.
 */
export function afterBulkLoad(table: string, count: number): void {
  if (count <= 0) return
  for (const keeper of running) keeper.loaded(table, count)
}

const qualified = (table: string) => (table.includes('.') ? table : `public.${table}`)

export class StatisticsKeeper {
  private timer: NodeJS.Timeout | undefined
  private soon: NodeJS.Timeout | undefined
  private current: Promise<MaintenanceRun> | undefined
  /** Rows this process loaded per table since it last saw the table analysed (for servers without track_counts, and before the counters are flushed). */
  private readonly counted = new Map<string, { rows: number; since: Date }>()
  /** Tables the connecting user may not maintain: warned about once, then left alone. */
  private readonly foreign = new Set<string>()
  private failing = false

  constructor(
    private readonly database: Database,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(intervalMs: number) {
    running.add(this)
    this.timer = setInterval(() => this.tick(), intervalMs)
    this.timer.unref()
  }

  async stop() {
    running.delete(this)
    clearInterval(this.timer)
    clearTimeout(this.soon)
    await this.current?.catch(() => {})
  }

  /** See afterBulkLoad. */
  loaded(table: string, count: number) {
    const name = qualified(table)
    const was = this.counted.get(name)
    this.counted.set(name, { rows: (was?.rows ?? 0) + count, since: was?.since ?? new Date() })
    if (count >= BULK_ANALYSE_ROWS && !this.soon) {
      this.soon = setTimeout(() => {
        this.soon = undefined
        this.tick()
      }, BULK_DELAY_MS)
      this.soon.unref()
    }
  }

  private tick() {
    // A pass still running (a long VACUUM) is not queued behind: the next tick looks again.
    if (this.current) return
    this.runOnce().then(
      () => {
        this.failing = false
      },
      (err) => {
        // Once per outage (the database down, the owner's login refused), not once per tick.
        if (!this.failing) this.log.warn({ err }, 'statistics keeper: a pass failed; it retries every tick and says so again after a pass succeeds')
        this.failing = true
      },
    )
  }

  /**
   * One pass: analyse (and on PGlite vacuum) every table past its threshold. One pass at a time
   * in this process; another node's pass is kept out by the advisory lock (locked: true).
   */
  async runOnce(): Promise<MaintenanceRun> {
    if (this.current) await this.current.catch(() => {})
    const run = this.pass().finally(() => {
      if (this.current === run) this.current = undefined
    })
    this.current = run
    return run
  }

  private async pass(): Promise<MaintenanceRun> {
    const result: MaintenanceRun = { analysed: [], vacuumed: [], locked: false }
    const pglite = this.database.kind === 'pglite'
    // On PostgreSQL a look as the service first (the counters are readable by anyone): the
    // owner's connection is only opened when there is work.
    if (!pglite && !(await this.tables((q) => rows(this.database.db, q))).some((t) => this.due(t) !== undefined)) return result
    return this.database.maintain(async (q) => {
      const [lock] = await q(sql`select pg_try_advisory_lock(${MAINTENANCE_LOCK_ID}) as ok`)
      if (!lock?.ok) return { ...result, locked: true }
      try {
        // PGlite's one session reports its counters when it goes idle, at most once a second:
        // make the next report (after this statement) happen, and read a fresh copy.
        if (pglite) await q(sql`select pg_stat_force_next_flush()`)
        await q(sql`select pg_stat_clear_snapshot()`)
        const notOwned: string[] = []
        for (const t of await this.tables(q)) {
          const what = this.due(t)
          if (!what) continue
          if (!t.maintainable) {
            this.foreign.add(t.name)
            notOwned.push(t.name)
            continue
          }
          if (what === 'vacuum') {
            await q(sql.raw(`VACUUM (ANALYZE) ${t.name}`))
            result.vacuumed.push(t.name)
            result.analysed.push(t.name)
          } else {
            await q(sql.raw(`ANALYZE ${t.name}`))
            result.analysed.push(t.name)
          }
          this.counted.delete(t.name)
        }
        if (notOwned.length)
          this.log.warn(
            { tables: notOwned },
            "statistics keeper: the connecting user owns neither these tables nor the database, so it cannot ANALYZE them; they are left to the server's autovacuum",
          )
      } finally {
        await q(sql`select pg_advisory_unlock(${MAINTENANCE_LOCK_ID})`)
      }
      if (result.analysed.length || result.vacuumed.length) this.log.debug(result, 'statistics keeper: tables maintained')
      return result
    })
  }

  /** 'vacuum' (which analyses too), 'analyze', or nothing. */
  private due(t: TableState): 'vacuum' | 'analyze' | undefined {
    if (this.foreign.has(t.name)) return undefined
    const size = Math.max(t.reltuples, 0)
    const counted = this.counted.get(t.name)
    // Another node (or autovacuum) analysed the table after this process loaded its rows.
    if (counted && t.lastAnalysed && t.lastAnalysed > counted.since) this.counted.delete(t.name)
    const modified = Math.max(t.modified, this.counted.get(t.name)?.rows ?? 0)
    // Dead rows, or rows inserted since the last vacuum (autovacuum's insert threshold): until a
    // VACUUM marks their pages all-visible, an index-only scan (the match digest index) still
    // visits the heap for every row. On both engines: PGlite has no autovacuum, and this
    // service is meant to stay fast on a PostgreSQL whose autovacuum is off.
    if (t.dead > VACUUM_BASE + VACUUM_SCALE * size || t.inserted > VACUUM_INSERT_BASE + VACUUM_SCALE * size) return 'vacuum'
    // Never analysed (or vacuumed): whatever the counters say, the planner knows nothing of it.
    if (t.reltuples < 0 || modified > ANALYZE_BASE + ANALYZE_SCALE * size) return 'analyze'
    return undefined
  }

  private async tables(q: Run): Promise<TableState[]> {
    const rs = await q(sql`
      select quote_ident(s.schemaname) || '.' || quote_ident(s.relname) as name, c.reltuples::float8 as reltuples,
             s.n_mod_since_analyze::float8 as modified, s.n_dead_tup::float8 as dead, s.n_ins_since_vacuum::float8 as inserted,
             greatest(s.last_analyze, s.last_autoanalyze) as last_analysed,
             (pg_has_role(current_user, c.relowner, 'USAGE')
              or pg_has_role(current_user, (select d.datdba from pg_database d where d.datname = current_database()), 'USAGE')) as maintainable
      from pg_stat_user_tables s join pg_class c on c.oid = s.relid
      where s.schemaname = 'public'
      order by s.relname`)
    return rs.map((r) => ({
      name: String(r.name),
      reltuples: Number(r.reltuples),
      modified: Number(r.modified),
      dead: Number(r.dead),
      inserted: Number(r.inserted),
      lastAnalysed: r.last_analysed ? new Date(r.last_analysed as string) : null,
      maintainable: r.maintainable === true,
    }))
  }
}

/**
 * What the log should say at boot about who keeps the planner's statistics: on PostgreSQL, a
 * warning when autovacuum or track_counts is off, and when dcx_horizon() cannot see other roles'
 * sessions (the change feed then waits for them as it did with the cluster-wide horizon).
 */
export async function bootWarnings(database: Database, keeperOn: boolean): Promise<string[]> {
  if (database.kind !== 'pg') return []
  const [s] = await rows<{ autovacuum: string; track_counts: string; sees_all: boolean }>(
    database.db,
    sql`select current_setting('autovacuum') as autovacuum, current_setting('track_counts') as track_counts,
               (select sees_all from dcx_horizon()) as sees_all`,
  )
  const out: string[] = []
  if (s?.autovacuum !== 'on')
    out.push(
      keeperOn
        ? "autovacuum is off on this PostgreSQL server: the service keeps its tables' planner statistics itself (DCX_STATS_KEEPER)"
        : 'autovacuum is off on this PostgreSQL server and DCX_STATS_KEEPER is off here: unless another node runs the keeper, nothing analyses these tables',
    )
  if (s?.track_counts !== 'on')
    out.push(`track_counts is off on this PostgreSQL server: row-change counters stay at zero, so only bulk loads made by this process are analysed`)
  if (s && !s.sees_all)
    out.push(
      "dcx_horizon()'s owner cannot see other roles' sessions (neither superuser nor pg_read_all_stats): their open transactions in other databases still hold back the change feed and the audit chain",
    )
  return out
}
