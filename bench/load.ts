// The load generator: autocannon in its own process, so it never shares the server's event loop.
// Forked by run.ts with an IPC channel it takes LoadSpecs as messages and answers each with a
// LoadResult (one process for the whole bench: no start-up per run); standalone,
// `node --import tsx bench/load.ts SPEC.json OUT.json` runs one spec. Requests rotate through
// the spec's paths, bodies and tokens; bulk bodies are made fresh for every request (unique
// values, each writer's own sharing groups).
import { readFileSync, writeFileSync } from 'node:fs'
import autocannon, { type Request } from 'autocannon'
import { indicatorBatch, type OrgRef } from './data.js'

export interface LoadSpec {
  url: string
  method: 'GET' | 'POST'
  connections: number
  duration: number
  /** When set, exactly this many requests (duration is ignored): for requests that take seconds each. */
  amount?: number
  warmup: number
  /** Seconds before autocannon counts a request as timed out (the server's own limit is 30 s). */
  timeout: number
  paths: string[]
  tokens?: string[]
  headers?: Record<string, string>
  bodies?: string[]
  bulk?: { writers: { token: string; org: OrgRef }[]; items: number; salt: string; start: number }
}

export interface LoadResult {
  rps: number
  p50Ms: number
  p90Ms: number
  p99Ms: number
  avgMs: number
  maxMs: number
  requests: number
  errors: number
  socketErrors: number
  timeouts: number
  non2xx: number
  statusCodes: Record<string, number>
  durationS: number
  mbPerSec: number
}

// Shared by the warm-up and the measured run, so no bulk value is posted twice.
let bulkSeq = -1

function requestsFor(spec: LoadSpec): Request[] {
  let k = 0
  if (bulkSeq < 0) bulkSeq = spec.bulk?.start ?? 0
  // Encoded once: a 10,000-value match body is ~0.5 MB.
  const bodies = (spec.bodies ?? []).map((b) => Buffer.from(b))
  return [
    {
      method: spec.method,
      setupRequest(req) {
        const i = k++
        const headers: Record<string, string> = { ...(spec.headers ?? {}) }
        if (spec.tokens?.length) headers.authorization = `Bearer ${spec.tokens[i % spec.tokens.length]}`
        req.path = spec.paths[i % spec.paths.length] as string
        if (bodies.length) req.body = bodies[i % bodies.length] as Buffer
        if (spec.bulk) {
          const w = spec.bulk.writers[i % spec.bulk.writers.length] as { token: string; org: OrgRef }
          headers.authorization = `Bearer ${w.token}`
          headers['x-bench-org'] = w.org.id
          req.body = JSON.stringify({ items: indicatorBatch(w.org, bulkSeq, spec.bulk.items, spec.bulk.salt, [], false) })
          bulkSeq += spec.bulk.items
        }
        req.headers = headers
        return req
      },
    },
  ]
}

export async function runSpec(spec: LoadSpec): Promise<LoadResult> {
  if (spec.warmup > 0) {
    await autocannon({ url: spec.url, connections: spec.connections, duration: spec.warmup, timeout: spec.timeout, requests: requestsFor(spec) })
  }
  const r = await autocannon({
    url: spec.url,
    connections: spec.connections,
    ...(spec.amount ? { amount: spec.amount } : { duration: spec.duration }),
    timeout: spec.timeout,
    requests: requestsFor(spec),
  })
  const statusCodes = Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([code, v]) => [code, v.count]))
  const out: LoadResult = {
    rps: r.duration > 0 ? r.requests.total / r.duration : 0,
    p50Ms: r.latency.p50,
    p90Ms: r.latency.p90,
    p99Ms: r.latency.p99,
    avgMs: r.latency.average,
    maxMs: r.latency.max,
    requests: r.requests.total,
    // autocannon's `errors` already includes timeouts.
    errors: r.errors + r.non2xx,
    socketErrors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    statusCodes,
    durationS: r.duration,
    mbPerSec: r.throughput.average / 1024 / 1024,
  }
  return out
}

if (process.send && process.argv.length <= 2) {
  process.on('message', (msg: { id: number; spec: LoadSpec }) => {
    runSpec(msg.spec).then(
      (result) => process.send?.({ id: msg.id, result }),
      (err: unknown) => process.send?.({ id: msg.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    )
  })
  process.on('disconnect', () => process.exit(0))
  process.send({ ready: true })
} else {
  const [specFile, outFile] = process.argv.slice(2)
  if (!specFile || !outFile) throw new Error('usage: load.ts SPEC.json OUT.json')
  writeFileSync(outFile, JSON.stringify(await runSpec(JSON.parse(readFileSync(specFile, 'utf8')) as LoadSpec)))
}
