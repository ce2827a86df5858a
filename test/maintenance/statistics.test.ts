// The statistics keeper (src/db/maintenance.ts) on a database nothing else analyses: rows
// loaded as the owner without ANALYZE, one pass, and the planner's statistics and the list
// query's plan change in the database. On PostgreSQL a private database, so the counters are
// this file's alone; two apps on it show the advisory lock keeps a second keeper out.
import { Writable } from 'node:stream'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { and, desc, eq, sql } from 'drizzle-orm'
import { as, buildTestApp, json, orgWith, testConfig, testDatabase } from '../helper.js'
import { build } from '../../src/app.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { onPg, owner, privateApp } from '../audit/private-db.js'
import { rows } from '../../src/db/client.js'
import { indicators } from '../../src/db/schema/index.js'
import { withActor } from '../../src/access/visibility.js'
import { indicatorColumns, indicatorFilters } from '../../src/modules/indicators/indicators.repository.js'
import type { Actor } from '../../src/core/actor.js'

const app = await privateApp(t)

interface TableStats {
  analyses: number
  last: string | null
  reltuples: number
  pgStats: number
}

/** What the database itself says about a table's statistics (as the owner: pg_stats shows only what it may read). */
async function stats(a: FastifyInstance, table: string): Promise<TableStats> {
  // PGlite reports its counters when idle: make the next report happen before reading them.
  if (a.database.kind === 'pglite') await owner(a, 'select pg_stat_force_next_flush()')
  const [r] = await owner(
    a,
    `select s.analyze_count + s.autoanalyze_count as analyses, greatest(s.last_analyze, s.last_autoanalyze)::text as last,
            c.reltuples::float8 as reltuples, (select count(*)::int from pg_stats p where p.schemaname = 'public' and p.tablename = '${table}') as pg_stats
     from pg_stat_user_tables s join pg_class c on c.oid = s.relid where s.schemaname = 'public' and s.relname = '${table}'`,
  )
  return { analyses: Number(r?.analyses), last: (r?.last as string | null) ?? null, reltuples: Number(r?.reltuples), pgStats: Number(r?.pg_stats) }
}

/** Rows straight into the table as the owner, as a migration or a restore would: no ANALYZE. */
async function load(a: FastifyInstance, orgs: string[], n: number, tag: string) {
  const list = orgs.map((o) => `'${o}'::uuid`).join(', ')
  await owner(
    a,
    `insert into indicators (organisation_id, type, value, normalized_value, tlp, distribution, value_visibility, created_at)
     select (array[${list}])[1 + g % ${orgs.length}], 'domain', '${tag}-' || g || '.example', '${tag}-' || g || '.example', 'green',
            (array['community', 'authorities', 'organisation', 'community'])[1 + g % 4], case when g % 10 = 0 then 'match_only' else 'full' end,
            now() - g * interval '1 second'
     from generate_series(1, ${n}) g`,
  )
  // The session's counters reach the shared statistics before it answers the next statement.
  await owner(a, 'select pg_stat_force_next_flush()')
}

interface PlanNode {
  'Node Type': string
  'Index Name'?: string
  'Relation Name'?: string
  'Plan Rows': number
  Plans?: PlanNode[]
}
const nodes = (p: PlanNode): PlanNode[] => [p, ...(p.Plans ?? []).flatMap(nodes)]

/** EXPLAIN (FORMAT JSON) of the service's queries as dcx_app, inside the actor's transaction (row-level security applies). */
async function plans(a: FastifyInstance, actor: Actor, id: string) {
  return withActor(a.db, actor, async (tx) => {
    const list = tx
      .select(indicatorColumns)
      .from(indicators)
      .where(and(...indicatorFilters({})))
      .orderBy(desc(indicators.createdAt), desc(indicators.id))
      .limit(51)
    const byId = tx
      .select(indicatorColumns)
      .from(indicators)
      .where(and(eq(indicators.id, id), ...indicatorFilters({})))
    const explain = async (q: typeof list | typeof byId) => {
      const [r] = await rows<{ 'QUERY PLAN': unknown }>(tx, sql`explain (format json) ${q}`)
      const doc = typeof r?.['QUERY PLAN'] === 'string' ? JSON.parse(r['QUERY PLAN']) : r?.['QUERY PLAN']
      return nodes((doc as { Plan: PlanNode }[])[0]?.Plan as PlanNode).filter((n) => n['Relation Name'] === 'indicators')
    }
    return { list: await explain(list), byId: await explain(byId) }
  })
}

const actorOf = (org: { id: string }, account: { id: string; clientId: string }): Actor => ({
  accountId: account.id,
  organisationId: org.id,
  clientId: account.clientId,
  roles: new Set(['reader']),
  sector: 'police',
})

t.test('a bulk load is analysed right after it commits', async (t) => {
  const { contributor } = await orgWith(app, ['contributor'], { sector: 'customs' })
  const before = await stats(app, 'indicators')
  // The timer itself would wait an hour: only the bulk load can bring this pass.
  app.statsKeeper.start(3_600_000)
  t.teardown(() => app.statsKeeper.stop())
  const items = Array.from({ length: 600 }, (_, i) => ({ type: 'domain', value: `bulk-${i}.example`, distribution: 'community', tlp: 'green' }))
  const res = await as(app, contributor.token).post('/v1/indicators/bulk', { items })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  t.equal(json<{ results: { status: string }[] }>(res).results.filter((r) => r.status === 'created').length, 600)
  let after = await stats(app, 'indicators')
  for (let i = 0; i < 200 && after.analyses === before.analyses; i++) {
    await new Promise((r) => setTimeout(r, 50))
    after = await stats(app, 'indicators')
  }
  t.equal(after.analyses, before.analyses + 1, 'indicators analysed once after the load')
  t.ok(after.reltuples >= 600, `reltuples counts the load (${after.reltuples})`)
  await app.statsKeeper.stop()
})

t.test('one pass analyses what changed past the threshold; the list and by-id reads then use index scans', async (t) => {
  const police = await orgWith(app, ['reader'], { sector: 'police' })
  const others = [await orgWith(app, ['reader'], { sector: 'customs' }), await orgWith(app, ['reader'], { sector: 'postal' })]
  await load(app, [police.org.id, ...others.map((o) => o.org.id)], 20_000, 'seed')
  const before = await stats(app, 'indicators')
  const actor = actorOf(police.org, police.reader)
  const [one] = await owner(app, `select id from indicators where organisation_id = '${police.org.id}' limit 1`)
  const id = String(one?.id)
  const unanalysed = await plans(app, actor, id)
  t.comment(`before: list ${unanalysed.list.map((n) => `${n['Node Type']} ${n['Index Name'] ?? ''} rows=${n['Plan Rows']}`).join('; ')}`)

  const run = await app.statsKeeper.runOnce()
  t.ok(run.analysed.includes('public.indicators'), `indicators analysed: ${JSON.stringify(run)}`)
  t.notOk(run.analysed.includes('public.audit_chain'), 'an unchanged table is left alone')
  const after = await stats(app, 'indicators')
  t.equal(after.analyses, before.analyses + 1, 'pg_stat_user_tables counts one more ANALYZE')
  t.not(after.last, before.last, 'last_analyze moved')
  t.ok(after.reltuples > 20_000, `pg_class.reltuples knows the rows (${after.reltuples})`)
  t.ok(after.pgStats > 0, 'pg_stats has column statistics')

  const analysed = await plans(app, actor, id)
  t.comment(`after: list ${analysed.list.map((n) => `${n['Node Type']} ${n['Index Name'] ?? ''} rows=${n['Plan Rows']}`).join('; ')}`)
  const scan = analysed.list[0]
  t.match(scan?.['Node Type'], /^Index( Only)? Scan$/, 'the list reads indicators by an index')
  t.equal(scan?.['Index Name'], 'indicators_created_idx', '…the (created_at, id) one, in its order: no sort')
  t.ok((scan?.['Plan Rows'] ?? 0) > 1_000, `the visibility filter's estimate is usable, not 1 row (${scan?.['Plan Rows']})`)
  t.match(analysed.byId[0], { 'Node Type': /^Index( Only)? Scan$/, 'Index Name': 'indicators_pkey' }, 'the by-id read uses the primary key')

  const again = await app.statsKeeper.runOnce()
  t.notOk(again.analysed.includes('public.indicators'), 'a second pass has nothing new to analyse')
})

t.test('dead rows past the threshold are vacuumed', async (t) => {
  await owner(app, `delete from indicators where value like 'seed-%' and (regexp_replace(value, '\\D', '', 'g'))::int % 3 = 0`)
  const run = await app.statsKeeper.runOnce()
  t.ok(run.vacuumed.includes('public.indicators'), `indicators vacuumed: ${JSON.stringify(run)}`)
  const [dead] = await owner(app, `select n_dead_tup::int as dead from pg_stat_user_tables where relname = 'indicators'`)
  t.equal(dead?.dead, 0, 'no dead rows left')
})

t.test('two keepers on one database: only one analyses', { skip: !onPg && 'needs DATABASE_URL (two apps on one PostgreSQL database)' }, async (t) => {
  const [db] = await owner(app, 'select current_database() as name')
  const url = new URL(process.env.DATABASE_URL as string)
  url.pathname = `/${String(db?.name)}`
  const second = await buildTestApp(t, { DATABASE_URL: url.toString() })
  const { org } = await orgWith(app, ['reader'])
  await load(app, [org.id], 5_000, 'again')
  const before = await stats(app, 'indicators')
  const runs = await Promise.all([app.statsKeeper.runOnce(), second.statsKeeper.runOnce()])
  const after = await stats(app, 'indicators')
  t.equal(runs.filter((r) => r.analysed.includes('public.indicators')).length, 1, `one keeper analysed: ${JSON.stringify(runs)}`)
  t.equal(after.analyses, before.analyses + 1, 'indicators analysed once')
})

t.test('at boot, the log says when the server leaves statistics to the service', async (t) => {
  let captured = ''
  const stream = new Writable({
    write(chunk, _enc, cb) {
      captured += chunk.toString()
      cb()
    },
  })
  const config = testConfig({ LOG_LEVEL: 'warn' })
  const logged = await build(config, { ...(await testDatabase(config)), logger: { level: 'warn', stream } })
  await logged.ready()
  t.teardown(() => logged.close())
  if (!onPg) {
    t.notMatch(captured, /autovacuum/, 'PGlite: nothing to say (it never autovacuums; the keeper is the only one)')
    return
  }
  const [s] = await owner(logged, "select current_setting('autovacuum') as autovacuum")
  if (s?.autovacuum === 'on') t.notMatch(captured, /autovacuum is off/, 'autovacuum on: no warning')
  else
    t.match(captured, /autovacuum is off on this PostgreSQL server and DCX_STATS_KEEPER is off here/, 'autovacuum off: a warning, naming who keeps statistics')
})

t.test('configuration: on every 5 s unless told otherwise', async (t) => {
  t.match(loadConfig({}), { statsKeeper: true, statsIntervalMs: 5_000 }, 'defaults')
  t.match(loadConfig({ DCX_STATS_KEEPER: 'false', DCX_STATS_INTERVAL_MS: '60000' }), { statsKeeper: false, statsIntervalMs: 60_000 })
  t.throws(() => loadConfig({ DCX_STATS_INTERVAL_MS: '10' }), ConfigError, 'a busy loop is refused')
})

t.test('the service’s connections run without JIT', { skip: !onPg && 'PGlite has no JIT' }, async (t) => {
  const [r] = await rows<{ jit: string }>(app.db, sql`select current_setting('jit') as jit`)
  t.equal(r?.jit, 'off')
})
