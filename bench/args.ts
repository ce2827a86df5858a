// Command-line options shared by run.ts and explain.ts.
import { parseArgs } from 'node:util'

export interface BenchOptions {
  smoke: boolean
  indicators: number
  orgs: number
  duration: number
  warmup: number
  connections: number
  repeat: number
  auditEvents: number
  json: string | undefined
  keep: boolean
  database: string | undefined
  pgUrl: string
  only: string[] | undefined
  cpuProf: boolean
  pool: number
  waitChainS: number
  /** Indicator counts to grow the seed to after the first run; list, q and get are measured again at each. */
  scales: number[]
  /** Also run the embedded default (PGlite, in-process) at this many indicators; 0 = not. */
  embedded: number
}

const HELP = `Usage: npm run bench -- [options]

  --smoke              tiny seed, 1 s per scenario, 10k audit events (CI: proves the harness works)
  --indicators N       indicators to seed (default 10000; 1000000 for the scale run)
  --orgs N             organisations (default 50; smoke 8)
  --duration S         seconds per measured run (default 10; smoke 1)
  --warmup S           seconds of discarded warm-up before each run (default 2; smoke 0)
  --connections N      concurrent connections (default 50)
  --repeat N           run each baseline/DCX pair N times, report the median ratio (default 1)
  --audit-events N     synthetic audit events for the export scenario (default 1000000; smoke 10000)
  --json FILE          also write the results as JSON
  --keep               keep the bench database (its name is printed) instead of dropping it
  --database NAME      use this existing, already-seeded database (from --keep) instead of a new one
  --pg URL             PostgreSQL server (default postgres://postgres@127.0.0.1:5432)
  --only a,b           run only the scenarios whose key contains one of these words (see README)
  --cpu-prof           start the DCX server with --cpu-prof; profiles land in bench/profiles/
  --pool N             DCX_DB_POOL_SIZE for the DCX server and the baseline's pool (default 10)
  --wait-chain S       at most this long to wait for the audit chainer to catch up (default 600)
  --scales a,b         grow the seed to each count in turn and measure list, q, get and match again
                       (default 100000,1000000; smoke 1200; "none" = only --indicators)
  --embedded N         then the embedded default (PGlite) at N indicators (default 100000; smoke 2000; 0 = skip)
`

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      smoke: { type: 'boolean', default: false },
      indicators: { type: 'string' },
      orgs: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      repeat: { type: 'string' },
      'audit-events': { type: 'string' },
      json: { type: 'string' },
      keep: { type: 'boolean', default: false },
      database: { type: 'string' },
      pg: { type: 'string' },
      only: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      pool: { type: 'string' },
      'wait-chain': { type: 'string' },
      scales: { type: 'string' },
      embedded: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(HELP)
    process.exit(0)
  }
  const smoke = values.smoke === true
  const num = (v: string | undefined, dflt: number, name: string, min = 0) => {
    if (v === undefined) return dflt
    const n = Number(v.replaceAll('_', ''))
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, got ${v}`)
    return n
  }
  return {
    smoke,
    indicators: Math.round(num(values.indicators, smoke ? 600 : 10_000, 'indicators', 1)),
    orgs: Math.round(num(values.orgs, smoke ? 8 : 50, 'orgs', 3)),
    duration: num(values.duration, smoke ? 1 : 10, 'duration', 0.2),
    warmup: num(values.warmup, smoke ? 0 : 2, 'warmup', 0),
    connections: Math.round(num(values.connections, 50, 'connections', 1)),
    repeat: Math.round(num(values.repeat, 1, 'repeat', 1)),
    auditEvents: Math.round(num(values['audit-events'], smoke ? 10_000 : 1_000_000, 'audit-events', 0)),
    json: values.json,
    keep: values.keep === true,
    database: values.database,
    pgUrl: (values.pg ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, ''),
    only: values.only
      ? values.only
          .split(',')
          .map((s) => s.trim().toLowerCase())
          .filter(Boolean)
      : undefined,
    cpuProf: values['cpu-prof'] === true,
    pool: Math.round(num(values.pool, 10, 'pool', 1)),
    waitChainS: num(values['wait-chain'], smoke ? 60 : 600, 'wait-chain', 0),
    scales:
      (values.scales ?? (smoke ? '1200' : '100000,1000000')) === 'none'
        ? []
        : (values.scales ?? (smoke ? '1200' : '100000,1000000')).split(',').map((x) => Math.round(num(x.trim(), 0, 'scales', 1))),
    embedded: Math.round(num(values.embedded, smoke ? 2000 : 100_000, 'embedded', 0)),
  }
}
