// npm run bench:explain [-- --indicators N | --database NAME | --keep | --what-if]
// EXPLAIN (ANALYZE, BUFFERS) of the hot queries, captured from the service itself: the real
// build(config) runs in this process on a database whose drizzle logger records every statement,
// each hot request is injected, and the statement it ran is explained with its own parameters —
// as role dcx_app with the caller set (dcx_act_as, as withActor does), so row-level security is in
// the plan exactly as in service. Output: bench/explain/<name>.txt, and a summary on stdout.
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import { drizzle } from 'drizzle-orm/node-postgres'
import type { FastifyInstance } from 'fastify'
import * as schema from '../src/db/schema/index.js'
import { build } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { openDatabase, type Db } from '../src/db/client.js'
import { auditService } from '../src/modules/audit/audit.service.js'
import type { Actor } from '../src/core/actor.js'
import { effectiveRoles } from '../src/access/policy.js'
import { s10CheckDigit } from '../src/modules/indicators/validators/s10.js'
import { parseOptions } from './args.js'
import { createDatabase, dbUrl, dropDatabase, insertAuditEvents, waitForChain, withClient } from './db.js'
import { BENCH_DIR, buildDist, killAll, startServer } from './procs.js'
import { loadWorld, seedContent, seedDirectory, Tokens } from './seed.js'

const opts = parseOptions(process.argv.filter((a) => a !== '--what-if').slice(2))
const whatIf = process.argv.includes('--what-if')
const log = (s: string) => process.stderr.write(`${s}\n`)
const OUT = path.join(BENCH_DIR, 'explain')
const dbName = opts.database ?? `dcx_bench_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_x`
const url = dbUrl(opts.pgUrl, dbName)
const masterKey = `bench-master-key-${dbName}-0123456789abcdef`

interface Captured {
  sql: string
  params: unknown[]
}

/** A fresh database seeded exactly as `npm run bench` seeds it (through a DCX server child). */
async function seed() {
  await createDatabase(opts.pgUrl, dbName)
  buildDist()
  const server = await startServer('dcx', 'server.mjs', [], {
    DATABASE_URL: url,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
    DCX_MASTER_KEY: masterKey,
    DCX_DOCS: 'false',
    DCX_RATE_LIMIT_PER_MINUTE: '1000000',
    DCX_RATE_LIMIT_ADDRESS_PER_MINUTE: '1000000',
    DCX_TOKEN_ATTEMPTS_PER_MINUTE: '100000',
    DCX_TOKEN_FAILURES_PER_MINUTE: '10000',
  })
  try {
    await withClient(url, async (c) => {
      log(`seeding ${opts.indicators.toLocaleString('en')} indicators into ${dbName}…`)
      const world = await seedDirectory(c, dbName, opts.orgs)
      const st = await seedContent(server.url, c, world, new Tokens(() => server.url, world.secret), opts.indicators, log)
      log(`  ${st.indicators.toLocaleString('en')} indicators at ${Math.round(st.perSecond).toLocaleString('en')}/s`)
      log(`inserting ${opts.auditEvents.toLocaleString('en')} synthetic audit events, then letting the server's chainer link them…`)
      await insertAuditEvents(c, opts.auditEvents)
      const chain = await waitForChain(c, opts.waitChainS)
      log(`  chained ${chain.chained.toLocaleString('en')} in ${chain.seconds.toFixed(0)} s${chain.left ? ` (${chain.left.toLocaleString('en')} left)` : ''}`)
      await c.query('VACUUM ANALYZE')
    })
  } finally {
    await server.stop()
  }
}

/** The service, in process, on a pool whose drizzle logger records every statement. */
async function capturingApp(captured: Captured[]) {
  const base = await openDatabase({ databaseUrl: url, dataDir: '', poolSize: 1 }) // runs migrations
  const pool = new pg.Pool({ connectionString: url, max: 4, options: '-c role=dcx_app' })
  const db = drizzle(pool, { schema, logger: { logQuery: (sql, params) => void captured.push({ sql, params }) } }) as unknown as Db
  const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'warn', DCX_MASTER_KEY: masterKey, DCX_DOCS: 'false' })
  const app = await build(config, {
    database: {
      ...base,
      db,
      close: async () => {
        await pool.end()
        await base.close()
      },
    },
  })
  await app.ready()
  // The chainer would start linking the synthetic events in this process; its query is explained below instead.
  await app.chainer.stop()
  return { app, db }
}

async function explain(c: pg.Client, q: Captured, actor: { org: string; authority: boolean } | null, analyze = true) {
  await c.query('begin')
  try {
    await c.query('set local role dcx_app')
    if (actor) await c.query(`select dcx_act_as($1::uuid)`, [actor.org])
    const run = () => c.query<{ 'QUERY PLAN': string }>(`explain (${analyze ? 'analyze, buffers' : 'costs'}) ${q.sql}`, q.params as unknown[])
    await run() // warm the cache: the second run is the steady state
    const r = await run()
    return r.rows.map((x) => x['QUERY PLAN']).join('\n')
  } finally {
    await c.query('rollback')
  }
}

function paramsText(params: unknown[]) {
  return JSON.stringify(params, (_k, v: unknown) => (typeof v === 'string' && v.length > 300 ? `${v.slice(0, 300)}… (${v.length} chars)` : v), 2)
}

interface Result {
  name: string
  planningMs: number
  executionMs: number
  top: string
}

async function main() {
  mkdirSync(OUT, { recursive: true })
  const own = opts.database === undefined
  if (own) await seed()
  const captured: Captured[] = []
  const { app, db } = await capturingApp(captured)
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  const results: Result[] = []
  try {
    const world = await loadWorld(c, dbName)
    const counts = (
      await c.query<{ i: string; a: string; n: string }>(
        `select (select count(*) from indicators) i, (select count(*) from audit_events) a, (select count(*) from notes) n`,
      )
    ).rows[0]
    const police = world.orgs.find((o) => o.sector === 'police') ?? world.orgs[0]
    const postal = world.orgs.find((o) => o.sector === 'postal') ?? world.orgs[0]
    if (!police || !postal) throw new Error('no organisations')
    const tokenFor = async (clientId: string) => {
      const a = (
        await c.query<{ id: string; organisation_id: string; roles: string[] }>(`select id, organisation_id, roles from accounts where client_id = $1`, [
          clientId,
        ])
      ).rows[0]
      if (!a) throw new Error(`no account ${clientId}`)
      return app.signAccessToken({ accountId: a.id, organisationId: a.organisation_id, clientId, roles: a.roles })
    }
    const policeToken = await tokenFor(police.readerClientId)
    const postalToken = await tokenFor(postal.readerClientId)
    const ctxPolice = { org: police.id, authority: true }
    const ctxPostal = { org: postal.id, authority: false }
    const header = (lines: string[]) => lines.map((l) => `# ${l}`).join('\n')
    const common = [
      `database ${dbName}: ${Number(counts?.i).toLocaleString('en')} indicators, ${Number(counts?.n).toLocaleString('en')} notes, ${Number(counts?.a).toLocaleString('en')} audit events`,
      'captured from the service (drizzle logger on the real build()); explained as role dcx_app with the',
      'caller set by dcx_act_as() as withActor does, so row-level security is part of the plan; second run shown (warm cache)',
    ]

    async function request(
      name: string,
      title: string,
      inject: () => Promise<{ statusCode: number; body: string }>,
      pickQuery: (q: Captured) => boolean,
      ctx: { org: string; authority: boolean } | null,
      extraQueries: ((q: Captured) => boolean)[] = [],
    ) {
      captured.length = 0
      const res = await inject()
      if (res.statusCode !== 200) throw new Error(`${title}: ${res.statusCode} ${res.body.slice(0, 300)}`)
      const statements = [...captured]
      const targets = [statements.find(pickQuery), ...extraQueries.map((p) => statements.find(p))].filter((q): q is Captured => !!q)
      if (!targets.length) throw new Error(`${title}: no statement matched; ran:\n${statements.map((s) => s.sql.slice(0, 200)).join('\n')}`)
      const parts: string[] = [
        header([
          `${name} — ${title}`,
          ...common,
          `caller: ${ctx ? `dcx_act_as(${ctx.org}) (${ctx.authority ? 'an authority' : 'not an authority'})` : '(no actor: the export reads as dcx_app outside withActor)'}`,
        ]),
        '',
        `## every statement this request ran (${statements.length}), in order`,
        ...statements.map((s, i) => `${String(i + 1).padStart(2)}. ${s.sql.replace(/\s+/g, ' ').slice(0, 240)}`),
      ]
      for (const q of targets) {
        const plan = await explain(c, q, ctx)
        parts.push('', '## SQL', q.sql, '', '## parameters', paramsText(q.params), '', '## EXPLAIN (ANALYZE, BUFFERS)', plan)
        const planning = Number(/Planning Time: ([\d.]+)/.exec(plan)?.[1] ?? NaN)
        const execution = Number(/Execution Time: ([\d.]+)/.exec(plan)?.[1] ?? NaN)
        results.push({
          name: targets.length > 1 ? `${name} (${targets.indexOf(q) + 1})` : name,
          planningMs: planning,
          executionMs: execution,
          top: (plan.split('\n')[0] ?? '').replace(/\s+\(cost.*$/, '').trim(),
        })
      }
      writeFileSync(path.join(OUT, `${name}.txt`), parts.join('\n') + '\n')
      log(`  wrote bench/explain/${name}.txt`)
    }

    const get = (u: string, token: string) => () => app.inject({ method: 'GET', url: u, headers: { authorization: `Bearer ${token}` } })
    const isIndicatorSelect = (q: Captured) => /^select /.test(q.sql) && q.sql.includes('from "indicators"')

    await request('list', 'GET /v1/indicators?limit=50 (police reader: authority)', get('/v1/indicators?limit=50', policeToken), isIndicatorSelect, ctxPolice)
    await request(
      'list-postal',
      'GET /v1/indicators?limit=50 (postal reader: not an authority)',
      get('/v1/indicators?limit=50', postalToken),
      isIndicatorSelect,
      ctxPostal,
    )
    await request(
      'list-q',
      'GET /v1/indicators?limit=50&q=fentanyl (police reader)',
      get('/v1/indicators?limit=50&q=fentanyl', policeToken),
      isIndicatorSelect,
      ctxPolice,
    )
    await request(
      'list-q-rare',
      'GET /v1/indicators?limit=50&q=wickr (police reader)',
      get('/v1/indicators?limit=50&q=wickr', policeToken),
      isIndicatorSelect,
      ctxPolice,
    )
    const id = (
      await c.query<{ id: string }>(`select id from indicators where distribution = 'community' and value_visibility = 'full' order by random() limit 1`)
    ).rows[0]?.id
    await request('get', 'GET /v1/indicators/{id} (police reader)', get(`/v1/indicators/${id}`, policeToken), isIndicatorSelect, ctxPolice, [
      (q) => q.sql.includes('item_receipts'),
    ])

    // Match: 1,000 values, ~10 % of them known, typed as a postal operator sends them.
    const hits = (
      await c.query<{ type: string; nv: string }>(
        `select type, normalized_value nv from indicators where distribution in ('community','authorities') order by random() limit 100`,
      )
    ).rows
    const values = [
      ...hits.map((h) => ({ type: h.type, value: h.nv })),
      ...Array.from({ length: 900 }, (_, i) => ({
        type: 'postal_item',
        value: `RR${String(10_000_000 + i).padStart(8, '0')}${s10CheckDigit(String(10_000_000 + i))}DE`,
      })),
    ]
    await request(
      'match',
      'POST /v1/indicators/match with 1,000 values (postal reader)',
      () => app.inject({ method: 'POST', url: '/v1/indicators/match', headers: { authorization: `Bearer ${postalToken}` }, payload: { values } }),
      (q) => q.sql.includes('cross join lateral') && q.sql.includes('unnest('),
      ctxPostal,
      [(q) => q.sql.includes('dcx_count_matches'), (q) => q.sql.includes('item_receipts')],
    )

    // Changes: a page from the middle of the feed, as a syncing partner asks for it.
    let cursor: string | null = null
    for (let i = 0; i < 10; i++) {
      const r = await app.inject({ method: 'GET', url: `/v1/changes${cursor ? `?cursor=${cursor}` : ''}`, headers: { authorization: `Bearer ${policeToken}` } })
      const body = r.json() as { nextCursor: string | null; hasMore: boolean }
      if (!body.hasMore) break
      cursor = body.nextCursor
    }
    await request(
      'changes',
      'GET /v1/changes?cursor=<page 10 or the last> (police reader)',
      get(`/v1/changes${cursor ? `?cursor=${cursor}` : ''}`, policeToken),
      (q) => q.sql.includes('from "indicators"') && q.sql.includes('change_xid'),
      ctxPolice,
      [(q) => q.sql.includes('from "notes"') && q.sql.includes('change_xid')],
    )

    // Audit export: the first page and one from the middle, pulled from the service's own generator.
    const auditor: Actor = {
      accountId: '00000000-0000-4000-8000-000000000000',
      organisationId: police.id,
      clientId: 'bench_auditor',
      roles: effectiveRoles(['auditor']),
      sector: 'international',
    }
    captured.length = 0
    const gen = auditService.export(db, auditor, {})
    let n = 0
    for await (const _e of gen) if (++n >= 2001) break
    const firstPage = captured.find((q) => q.sql.includes('audit_events'))
    if (firstPage) {
      const middle: Captured = { sql: firstPage.sql, params: firstPage.params.map((p, i) => (i === 0 ? Math.floor(Number(counts?.a ?? 0) / 2) : p)) }
      const planA = await explain(c, firstPage, null)
      const planB = await explain(c, middle, null)
      writeFileSync(
        path.join(OUT, 'audit-export.txt'),
        [
          header(['audit-export — GET /v1/audit/export: one page of 2,000 (auditService.export, oldest first)', ...common]),
          '',
          '## SQL',
          firstPage.sql,
          '',
          '## parameters (first page)',
          paramsText(firstPage.params),
          '',
          '## EXPLAIN (ANALYZE, BUFFERS) — first page',
          planA,
          '',
          '## parameters (a page from the middle)',
          paramsText(middle.params),
          '',
          '## EXPLAIN (ANALYZE, BUFFERS) — middle page',
          planB,
        ].join('\n') + '\n',
      )
      for (const [nm, plan] of [
        ['audit-export (first page)', planA],
        ['audit-export (middle page)', planB],
      ] as const) {
        results.push({
          name: nm,
          planningMs: Number(/Planning Time: ([\d.]+)/.exec(plan)?.[1]),
          executionMs: Number(/Execution Time: ([\d.]+)/.exec(plan)?.[1]),
          top: (plan.split('\n')[0] ?? '').replace(/\s+\(cost.*$/, '').trim(),
        })
      }
      log('  wrote bench/explain/audit-export.txt')
      if (whatIf) {
        // The chain side of the merge join gets the page's lower bound too, so it starts at the page
        // instead of at the first event (same rows: event ids ≤ the bound are filtered out on the left).
        const joined = 'left join audit_chain c on c.event_id = audit_events.id'
        if (middle.sql.includes(joined)) {
          const bounded: Captured = { sql: middle.sql.replace(joined, `${joined} and c.event_id > $1`), params: middle.params }
          const plan = await explain(c, bounded, null)
          writeFileSync(
            path.join(OUT, 'what-if-audit-export.txt'),
            [
              header(['what-if — the audit export middle page with the page bound repeated on audit_chain', ...common]),
              '',
              '## SQL',
              bounded.sql,
              '',
              '## parameters',
              paramsText(bounded.params),
              '',
              '## EXPLAIN (ANALYZE, BUFFERS)',
              plan,
            ].join('\n') + '\n',
          )
          results.push({
            name: 'what-if: audit-export middle page, bounded join',
            planningMs: Number(/Planning Time: ([\d.]+)/.exec(plan)?.[1]),
            executionMs: Number(/Execution Time: ([\d.]+)/.exec(plan)?.[1]),
            top: (plan.split('\n')[0] ?? '').replace(/\s+\(cost.*$/, '').trim(),
          })
          log('  wrote bench/explain/what-if-audit-export.txt')
        }
      }
    }

    // The chainer's batch read (src/modules/audit/chain.ts, copied: it runs inside the chainer's own
    // transaction every second on every node) — from the start of the log, the worst case.
    const chainQuery: Captured = {
      sql: `select e.id, e.time, e.account_id, e.organisation_id, e.client_id, e.action, e.resource_type,
                   e.resource_id, e.outcome, e.status, e.request_id, e.client_address, e.user_agent, e.details,
                   e.xid::text as xid
            from audit_events e
            where e.xid < pg_snapshot_xmin(pg_current_snapshot()) and (e.xid, e.id) > ($1::xid8, $2::bigint)
            order by e.xid, e.id
            limit 2000`,
      params: ['0', 0],
    }
    const chainPlan = await explain(c, chainQuery, null)
    writeFileSync(
      path.join(OUT, 'audit-chainer.txt'),
      [
        header(['audit-chainer — the chainer batch read (copied from src/modules/audit/chain.ts)', ...common]),
        '',
        '## SQL',
        chainQuery.sql,
        '',
        '## parameters',
        paramsText(chainQuery.params),
        '',
        '## EXPLAIN (ANALYZE, BUFFERS)',
        chainPlan,
      ].join('\n') + '\n',
    )
    results.push({
      name: 'audit-chainer',
      planningMs: Number(/Planning Time: ([\d.]+)/.exec(chainPlan)?.[1]),
      executionMs: Number(/Execution Time: ([\d.]+)/.exec(chainPlan)?.[1]),
      top: (chainPlan.split('\n')[0] ?? '').replace(/\s+\(cost.*$/, '').trim(),
    })

    if (whatIf) await whatIfs(c, app, policeToken, ctxPolice, captured, results)

    process.stdout.write(
      `\nEXPLAIN (ANALYZE, BUFFERS) on ${dbName} (${Number(counts?.i).toLocaleString('en')} indicators, ${Number(counts?.a).toLocaleString('en')} audit events)\n\n`,
    )
    process.stdout.write(`| query | planning ms | execution ms | top plan node |\n|---|---:|---:|---|\n`)
    for (const r of results) process.stdout.write(`| ${r.name} | ${r.planningMs.toFixed(2)} | ${r.executionMs.toFixed(2)} | ${r.top} |\n`)
    process.stdout.write(`\nfull plans in bench/explain/*.txt\n`)
  } finally {
    await c.end().catch(() => {})
    await app.close().catch(() => {})
    if (own && !opts.keep) await dropDatabase(opts.pgUrl, dbName).catch((e) => log(`could not drop ${dbName}: ${e}`))
    else log(`kept database ${dbName}`)
  }
}

/**
 * --what-if: the list query again with candidate changes applied inside a transaction that is
 * rolled back (the bench database is left as it was): an index for the list order, and the
 * @@ operator marked leakproof.
 */
async function whatIfs(c: pg.Client, app: FastifyInstance, token: string, ctx: { org: string; authority: boolean }, captured: Captured[], results: Result[]) {
  const capture = async (url: string) => {
    captured.length = 0
    await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })
    return captured.find((q) => /^select /.test(q.sql) && q.sql.includes('from "indicators"'))
  }
  const INDEX = 'create index bench_whatif_created on indicators (created_at desc, id desc)'
  // Under row-level security only leakproof operators may be evaluated before the policy, so the
  // GIN index on search cannot serve "search @@ query" for dcx_app; marking it leakproof (superuser) lets it.
  const LEAKPROOF = 'alter function ts_match_vq(tsvector, tsquery) leakproof'
  const cases: [string, string, [string, string[]][]][] = [
    ['list', '/v1/indicators?limit=50', [['index on (created_at desc, id desc)', [INDEX]]]],
    ['list-q', '/v1/indicators?limit=50&q=wickr', [['ts_match_vq (the @@ operator) leakproof', [LEAKPROOF]]]],
  ]
  for (const [name, url, variants] of cases) {
    const q = await capture(url)
    if (!q) continue
    const parts: string[] = [`# what-if — ${name} (GET ${url}, police reader) with candidate fixes applied in a transaction that is rolled back`, '']
    for (const [title, ddl] of variants) {
      await c.query('begin')
      try {
        for (const stmt of ddl) await c.query(stmt)
        await c.query('analyze indicators')
        await c.query('set local role dcx_app')
        await c.query(`select dcx_act_as($1::uuid)`, [ctx.org])
        await c.query(`explain (analyze, buffers) ${q.sql}`, q.params as unknown[])
        const r = await c.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${q.sql}`, q.params as unknown[])
        const plan = r.rows.map((x) => x['QUERY PLAN']).join('\n')
        parts.push(`## ${title}`, ...ddl.map((stmt) => `-- ${stmt.replace(/\s+/g, ' ')}`), plan, '')
        results.push({
          name: `what-if: ${name}, ${title}`,
          planningMs: Number(/Planning Time: ([\d.]+)/.exec(plan)?.[1]),
          executionMs: Number(/Execution Time: ([\d.]+)/.exec(plan)?.[1]),
          top: (plan.split('\n')[0] ?? '').replace(/\s+\(cost.*$/, '').trim(),
        })
      } finally {
        await c.query('rollback')
      }
    }
    writeFileSync(path.join(OUT, `what-if-${name}.txt`), parts.join('\n'))
    log(`  wrote bench/explain/what-if-${name}.txt`)
  }
}

process.on('SIGINT', () => {
  killAll()
  process.exit(130)
})
try {
  await main()
  process.exit(0)
} catch (err) {
  log(`bench:explain failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  killAll()
  process.exit(1)
}
