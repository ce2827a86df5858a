// Entry point only: config → build → bootstrap → listen; graceful close on SIGTERM/SIGINT.
import closeWithGrace from 'close-with-grace'
import { ConfigError, loadConfig, type Config } from './config.js'
import { build } from './app.js'
import { serverTimeoutMs } from './core/deadline.js'
import { bootstrapAdmin } from './modules/accounts/bootstrap.js'

let config: Config
try {
  config = loadConfig()
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`DCX cannot start: ${err.message}\n`)
    process.exit(1)
  }
  throw err
}

const started = Date.now()
const app = await build(config)

const boot = await bootstrapAdmin(app.db, config.bootstrap)
if (boot) {
  // Printed once, to the terminal, never to the log stream.
  const lines = [
    '',
    '  DCX: empty database — created the first platform administrator.',
    `  client_id:     ${boot.clientId}`,
    boot.generatedSecret ? `  client_secret: ${boot.generatedSecret}` : '  client_secret: (the DCX_BOOTSTRAP_CLIENT_SECRET you set)',
    boot.generatedSecret ? '  This secret is shown only now. Store it, then rotate it with POST /v1/accounts/{id}/secret.' : '',
    '',
  ]
  process.stdout.write(lines.join('\n') + '\n')
}

// In-flight requests finish (Fastify stops accepting, then waits), then the pool closes. The grace
// covers a request that arrived just before the signal, up to its deadline and its answer after it.
closeWithGrace({ delay: Math.max(10_000, serverTimeoutMs(config.requestTimeoutMs) + 1_000) }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'shutting down after an error')
  else app.log.info({ signal }, 'shutting down')
  await app.close()
})

await app.listen({ host: config.host, port: config.port })
app.log.info({ ms: Date.now() - started, database: app.database.kind }, 'DCX ready')
