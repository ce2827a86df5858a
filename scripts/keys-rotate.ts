// Rotate the token signing key now, for operators:
//   npm run keys:rotate [-- --reason "suspected compromise"]
// Same environment as the service (DATABASE_URL, DCX_MASTER_KEY, DCX_DATA_DIR). The new key signs
// on every node within seconds (notification, or each node's poll); the retired one keeps
// verifying for one token lifetime. The rotation and its audit event (auth.signing_key.rotate,
// user agent "npm run keys:rotate") commit together. Platform admins can do the same through
// POST /v1/auth/signing-key. On the embedded database (no DATABASE_URL) stop the server first:
// one PGlite data folder cannot be opened by two processes.
// Prints the rotation as JSON; exit 0 on success, 1 on failure, 2 on bad usage.
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from '../src/config.js'
import { openDatabase } from '../src/db/client.js'
import { KeyStore, resolveMasterKey } from '../src/access/keys.js'
import { writeEvent } from '../src/access/scope.js'
import { AUDIT_EVENTS } from '../src/audit/events.js'

async function main(): Promise<number> {
  let reason: string | undefined
  try {
    reason = parseArgs({ options: { reason: { type: 'string' } } }).values.reason?.trim()
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\nusage: npm run keys:rotate [-- --reason TEXT]\n`)
    return 2
  }
  if (reason !== undefined && (reason.length < 1 || reason.length > 200)) {
    process.stderr.write('--reason: 1–200 characters\n')
    return 2
  }
  let config
  try {
    config = loadConfig()
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`)
      return 2
    }
    throw e
  }
  const log = (m: string) => process.stderr.write(`${m}\n`)
  const masterKey = resolveMasterKey(config.masterKey, config.dataDir, log)
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1, masterKey, log })
  try {
    const keys = new KeyStore(database.db, masterKey, { rotationDays: config.keyRotationDays, tokenTtlSeconds: config.tokenTtlSeconds })
    const spec = AUDIT_EVENTS.rotateSigningKey
    const rotation = await database.db.transaction(async (tx) => {
      const r = await keys.rotateIn(tx, true)
      if (!r) throw new Error('a forced rotation always rotates')
      await writeEvent(
        { db: database.db, recording: true },
        tx,
        { requestId: `cli-${randomUUID()}`, clientAddress: 'local', userAgent: 'npm run keys:rotate' },
        null,
        {
          action: spec.type,
          resourceType: spec.resource,
          resourceId: r.kid,
          details: { kid: r.kid, retiredKid: r.retired?.kid ?? null, ...(reason ? { reason } : {}) },
          recorded: false,
        },
        'ok',
        null,
      )
      return r
    })
    process.stdout.write(
      `${JSON.stringify({
        kid: rotation.kid,
        createdAt: rotation.createdAt.toISOString(),
        retired: rotation.retired ? { kid: rotation.retired.kid, verifiesUntil: rotation.retired.verifiesUntil.toISOString() } : null,
      })}\n`,
    )
    return 0
  } finally {
    await database.close()
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`keys:rotate failed: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  },
)
