// The table, the targets and the --json file.
import os from 'node:os'

export interface Row {
  key: string
  name: string
  rps: number
  p50Ms: number | null
  p99Ms: number | null
  errors: number
  rssMb: number | null
  baselineRps: number | null
  ratio: number | null
  /** Anything else worth printing after the table (indicators/s, events, RSS growth…). */
  note?: string
  extra?: Record<string, unknown>
}

export interface Target {
  what: string
  goal: string
  measured: string
  met: boolean | null
  margin: string
}

const fmt = (n: number | null | undefined, digits = 0) =>
  n === null || n === undefined || !Number.isFinite(n) ? '—' : n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits })

export function table(rows: Row[]): string {
  const head = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'RSS MB', 'baseline req/s', 'ratio']
  const body = rows.map((r) => [
    r.name,
    fmt(r.rps, r.rps < 100 ? 1 : 0),
    fmt(r.p50Ms, r.p50Ms !== null && r.p50Ms < 10 ? 1 : 0),
    fmt(r.p99Ms, r.p99Ms !== null && r.p99Ms < 10 ? 1 : 0),
    fmt(r.errors),
    fmt(r.rssMb),
    fmt(r.baselineRps, r.baselineRps !== null && r.baselineRps < 100 ? 1 : 0),
    r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`,
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' | ')} |`
  const sep = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`
  const notes = rows.filter((r) => r.note).map((r) => `  · ${r.name}: ${r.note}`)
  return [line(head), sep, ...body.map(line), ...(notes.length ? ['', ...notes] : [])].join('\n')
}

export function targetTable(targets: Target[]): string {
  const head = ['target', 'goal', 'measured', 'status', 'margin']
  const body = targets.map((t) => [t.what, t.goal, t.measured, t.met === null ? 'not run' : t.met ? 'met' : 'MISSED', t.margin])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n')
}

export function machine(pgVersion: string) {
  const cpus = os.cpus()
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memGb: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    postgres: pgVersion,
    platform: `${os.type()} ${os.release()}`,
    loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  }
}

export const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)} %`
export { fmt }
