// The DCX API for benchmarks, as production runs it: the built server (dist/, what `npm start`
// and the Docker image run — plain node, no tsx loader, whose thread and transform cache would
// add some 70 MB to the RSS the bench reports), build(config) + listen, configured from the
// environment like src/server.ts, minus the bootstrap. `--no-audit` builds it with
// auditRecording: false (the benchmark-only switch) to measure what audit recording costs.
// Prints "BENCH_READY <port>". bench/run.ts runs `npm run build` before starting it.
import process from 'node:process'
import { build } from '../dist/app.js'
import { loadConfig } from '../dist/config.js'

const noAudit = process.argv.includes('--no-audit')
const config = loadConfig(process.env)
const app = await build(config, { auditRecording: !noAudit })
await app.listen({ host: config.host, port: config.port })

let closing = false
async function shutdown() {
  if (closing) return
  closing = true
  // A graceful close lets in-flight requests finish and, with --cpu-prof, lets node write the profile.
  await app.close().catch(() => {})
  process.exit(0)
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)

// The harness asks for live memory (after a full GC, with --expose-gc) to tell a leak from GC slack.
process.on('SIGUSR2', () => {
  globalThis.gc?.()
  process.stdout.write(`BENCH_MEM ${JSON.stringify(process.memoryUsage())}\n`)
})

process.stdout.write(`BENCH_READY ${app.server.address().port}\n`)
