// build(config): the whole API, plugins in an explicit order, then the feature modules.
// No listen here — server.ts listens, tests inject.
import { clientErrorHandler } from './plugins/client-error.js'
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import { serializerCompiler } from './plugins/serializer.js'
import type { Config } from './config.js'
import { Deadline, receiveTimeoutMs, serverTimeoutMs } from './core/deadline.js'
import { openDatabase, type Database } from './db/client.js'
import { resolveMasterKey } from './access/keys.js'
import { setSecretHashCost } from './core/secrets.js'
import dbPlugin from './plugins/db.js'
import errorHandler, { frameworkErrorHandler } from './plugins/error-handler.js'
import securityHeaders from './plugins/security-headers.js'
import rateLimitPlugin from './plugins/rate-limit.js'
import openapi from './plugins/openapi.js'
import auth from './plugins/auth.js'
import ops from './plugins/ops.js'
import audit from './plugins/audit.js'
import policy from './plugins/policy.js'
import batchLimit from './plugins/batch-limit.js'
import maintenance from './plugins/maintenance.js'
import screening from './plugins/screening.js'
import authRoutes, { jwksRoutes, signingKeyRoutes } from './modules/auth/auth.routes.js'
import meRoutes from './modules/me/me.routes.js'
import organisationRoutes from './modules/organisations/organisations.routes.js'
import accountRoutes from './modules/accounts/accounts.routes.js'
import settingsRoutes from './modules/settings/settings.routes.js'
import { consentRoutes } from './modules/handling/consents.js'
import { shareRequestRoutes } from './modules/handling/share-requests.js'
import { fourEyesRoutes } from './modules/handling/four-eyes.js'
import sharingGroupRoutes from './modules/sharing-groups/sharing-groups.routes.js'
import indicatorRoutes from './modules/indicators/indicators.routes.js'
import noteRoutes from './modules/notes/notes.routes.js'
import yieldRoutes from './modules/indicators/yield.routes.js'
import warningListRoutes from './modules/warning-lists/warning-lists.routes.js'
import changeRoutes from './modules/changes/changes.routes.js'
import statsRoutes from './modules/stats/stats.routes.js'
import auditRoutes from './modules/audit/audit.routes.js'
import stixRoutes from './modules/stix/stix.routes.js'
import taxiiRoutes from './modules/taxii/taxii.routes.js'
import taxiiPending from './plugins/taxii-pending.js'
import screeningRoutes from './modules/screening/screening.routes.js'
import retentionRoutes from './modules/retention/retention.routes.js'
import retractionRoutes from './modules/retention/retractions.routes.js'
import retention from './plugins/retention.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
  interface FastifyRequest {
    /** When the request's work must have committed (core/deadline.ts); set in the first hook. */
    deadline: Deadline
  }
}

export interface BuildOptions {
  /** An already-open database (tests share one per file); opened from config otherwise. */
  database?: Database
  logger?: FastifyServerOptions['logger']
  /** Benchmarks only: false turns audit recording off to measure its cost. Never set in service. */
  auditRecording?: boolean
}

// Never log a credential: headers, OAuth form fields, our own field names.
export const LOG_REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  '*.client_secret',
  '*.clientSecret',
  '*.access_token',
  '*.password',
  '*.secretHash',
  '*.privatePem',
]

export async function build(config: Config, opts: BuildOptions = {}): Promise<FastifyInstance> {
  // New client-secret hashes (account creation, rotation, bootstrap) use the configured cost.
  setSecretHashCost(config.secretHashCost)
  const serverTimeout = serverTimeoutMs(config.requestTimeoutMs)
  const receiveTimeout = receiveTimeoutMs(config.requestTimeoutMs)
  const app = Fastify({
    logger: opts.logger ?? { level: config.logLevel, redact: { paths: LOG_REDACT, censor: '[redacted]' } },
    // A client's request id is kept when it is a sane token, so partners can correlate.
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && /^[A-Za-z0-9._:-]{8,128}$/.test(given) ? given : randomUUID()
    },
    trustProxy: config.trustProxy,
    bodyLimit: config.bodyLimit,
    // Fastify sets no timeout by default: a slow client could hold a socket forever. The request's
    // own deadline (DCX_REQUEST_TIMEOUT_MS, core/deadline.ts) ends its work first: these are longer
    // than the deadline plus what may still run after it, so the server always answers (a 503 past
    // the deadline) before it would cut the socket of a request whose COMMIT may still land:
    // connectionTimeout is the socket's inactivity limit, which also runs while the handler works.
    // Node's requestTimeout and headersTimeout bound receiving the request only (no handler runs
    // before it is complete, so nothing can commit meanwhile): the deadline plus a margin.
    requestTimeout: receiveTimeout,
    connectionTimeout: serverTimeout,
    // Node checks the header and request timeouts only every connectionsCheckingInterval (30 s by
    // default), so a slowloris client that drips a header line now and then held its socket up to
    // twice the timeout. Check every second (or sooner for short timeouts).
    http: { headersTimeout: receiveTimeout, connectionsCheckingInterval: Math.min(1_000, Math.ceil(config.requestTimeoutMs / 4)) },
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    // A malformed URL or an over-long path parameter is refused by the router itself: as problem+json.
    frameworkErrors: frameworkErrorHandler,
    // What Node's HTTP parser refuses (a header with control characters, …): problem+json too.
    clientErrorHandler,
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<ZodTypeProvider>()

  app.decorate('config', config)
  // The first hook: the request's deadline counts from here (core/deadline.ts).
  app.decorateRequest('deadline', null as unknown as Deadline)
  app.addHook('onRequest', async (request) => {
    request.deadline = Deadline.after(config.requestTimeoutMs)
  })
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  // While closing, answer with Connection: close, so a keep-alive socket whose response ends
  // during shutdown does not hold close() open for the keep-alive timeout.
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
    if (closing) reply.header('connection', 'close')
  })
  // JSON only (the token endpoint adds the OAuth form in its own scope, auth.routes.ts): a
  // text/plain or form body elsewhere is a 415, not a parse attempt.
  app.removeContentTypeParser('text/plain')

  // Cross-cutting plugins, in dependency order.
  await app.register(errorHandler)
  // helmet's headers, computed once (plugins/security-headers.ts).
  await app.register(securityHeaders, {
    helmet: {
      // An API: no inline content, except the docs page, which loads its own assets.
      contentSecurityPolicy: {
        directives: { defaultSrc: ["'self'"], imgSrc: ["'self'", 'data:'], scriptSrc: ["'self'"], styleSrc: ["'self'", "'unsafe-inline'"] },
      },
      hsts: { maxAge: 31_536_000, includeSubDomains: true },
    },
  })
  // Resolved once: it seals the signing keys and derives the database login's password.
  const masterKey = resolveMasterKey(config.masterKey, config.dataDir, (m) => app.log.warn(m))
  const database =
    opts.database ??
    (await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      poolSize: config.dbPoolSize,
      pgliteSharedBuffersMb: config.pgliteSharedBuffersMb,
      masterKey,
      log: (m) => app.log.warn(m),
    }))
  await app.register(dbPlugin, { database })
  await app.register(maintenance)
  await app.register(screening, { masterKey })
  await app.register(openapi)
  // Rate limits before auth in registration order: the per-address hook runs before token checks.
  await app.register(rateLimitPlugin)
  await app.register(auth, { masterKey })
  await app.register(audit, { recording: opts.auditRecording !== false })
  await app.register(policy)
  await app.register(batchLimit)
  await app.register(ops)
  await app.register(retention)

  // Feature modules under /v1.
  await app.register(
    async (v1) => {
      await v1.register(authRoutes)
      await v1.register(signingKeyRoutes)
      await v1.register(meRoutes)
      await v1.register(organisationRoutes)
      await v1.register(accountRoutes)
      await v1.register(settingsRoutes)
      await v1.register(sharingGroupRoutes)
      await v1.register(indicatorRoutes)
      await v1.register(yieldRoutes)
      await v1.register(warningListRoutes)
      await v1.register(noteRoutes)
      await v1.register(consentRoutes)
      await v1.register(shareRequestRoutes)
      await v1.register(fourEyesRoutes)
      await v1.register(changeRoutes, { masterKey })
      await v1.register(statsRoutes)
      await v1.register(auditRoutes)
      await v1.register(stixRoutes)
      await v1.register(screeningRoutes)
      await v1.register(retentionRoutes)
      await v1.register(retractionRoutes)
    },
    { prefix: '/v1' },
  )
  // The JWKS sits at the well-known path, outside /v1.
  await app.register(jwksRoutes)
  // TAXII 2.1 has its own specification: its own prefix, authentication hook and error shape.
  await app.register(taxiiPending, { recording: opts.auditRecording !== false })
  await app.register(taxiiRoutes, { prefix: '/taxii2' })
  return app
}
