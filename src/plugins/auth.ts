// Bearer-token authentication. Verification pins EdDSA, the issuer and the audience, requires
// exp/iss/aud/sub, and takes the key only by the token's kid. The account's current state (roles,
// disabled, organisation suspended) is read from the database through a 2-second cache, so a
// disabled account or suspended organisation stops working within seconds, even with a live token.
import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'
import { eq } from 'drizzle-orm'
import type { FastifyRequest } from 'fastify'
import { accounts, organisations } from '../db/schema/index.js'
import { AppError } from '../core/errors.js'
import type { Sector } from '../core/roles.js'
import { effectiveRoles } from '../access/policy.js'
import { JWT_ALG, KeyStore } from '../access/keys.js'
import type { Actor } from '../core/actor.js'

declare module 'fastify' {
  interface FastifyInstance {
    keys: KeyStore
    /** Forget cached account state now (after a change made on this node). */
    forgetActor(accountId?: string): void
    /** Signs with the key as last loaded: a request that issues a token awaits app.keys.fresh() first (access/keys.ts). */
    signAccessToken(actor: { accountId: string; organisationId: string; clientId: string; roles: string[] }): string
    /** Verify the request's bearer token and load its account's current state; throws a 401 otherwise. */
    authenticateBearer(request: FastifyRequest): Promise<Actor>
    /** An account's current state (2-second cache): null when disabled or its organisation is suspended. */
    loadActor(accountId: string): Promise<Actor | null>
    /** Who an account is, even when disabled: for the audit event of a refusal. */
    accountIdentity(accountId: string): Promise<{ accountId: string; organisationId: string; clientId: string } | null>
  }
  interface FastifyRequest {
    /** The authenticated caller; set on every route not marked public. */
    actor: Actor
  }
  interface FastifyContextConfig {
    /** Route needs no bearer token (token endpoint, JWKS, health). */
    public?: boolean
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string; org: string; roles: string[]; client_id: string; jti: string }
    user: { sub: string; org: string; roles: string[]; client_id: string }
  }
}

const STATUS_TTL_MS = 2_000
const STATUS_CACHE_MAX = 50_000

interface AccountState {
  at: number
  actor: Actor | null
  /** Tokens issued (iat, seconds) before the last secret rotation are refused. */
  notBefore: number
  /** Whoever is behind the token even when it is refused (disabled account, suspended organisation). */
  who: { accountId: string; organisationId: string; clientId: string } | null
}

export default fp<{ masterKey: string }>(
  async (app, opts) => {
    const { config } = app
    const { masterKey } = opts
    const keys = new KeyStore(app.db, masterKey, {
      rotationDays: config.keyRotationDays,
      tokenTtlSeconds: config.tokenTtlSeconds,
    })
    await keys.init()
    app.decorate('keys', keys)
    // Other nodes' rotations arrive by notification (PostgreSQL server) and a short poll.
    keys.start(app.database, app.log)
    // Check hourly whether the signing key is due for rotation.
    const timer = setInterval(() => {
      keys.rotateIfDue(false).catch((err: unknown) => app.log.error({ err }, 'key rotation check failed'))
    }, 3_600_000)
    timer.unref()
    app.addHook('onClose', async () => {
      clearInterval(timer)
      await keys.stop()
    })

    await app.register(fastifyJwt, {
      secret: {
        // Signing always passes the current private key explicitly (see signAccessToken).
        private: 'unused: tokens are signed with an explicit key',
        // The key is chosen only by the token's kid; an unknown kid fails, never falls back.
        public: (async (_req: FastifyRequest, token: { header?: { kid?: unknown } }) => {
          const pem = await keys.publicPem(token.header?.kid)
          if (!pem) throw new AppError('unauthorized', 'The token was signed by a key this service does not know.')
          return pem
        }) as never,
      },
      decode: { complete: true },
      verify: {
        algorithms: [JWT_ALG],
        allowedIss: config.issuer,
        allowedAud: config.audience,
        requiredClaims: ['exp', 'iss', 'aud', 'sub', 'iat'],
        // A partner system sends the same token for minutes: remember a verified signature
        // (never past its exp) instead of re-running EdDSA on every request. Account state is
        // still checked on every request below.
        cache: 10_000,
        cacheTTL: 60_000,
        // fast-jwt takes milliseconds: 30 s of clock skew between nodes for exp/nbf.
        clockTolerance: 30_000,
      },
    })

    app.decorate('signAccessToken', (a: { accountId: string; organisationId: string; clientId: string; roles: string[] }) => {
      const key = keys.signingKey()
      return app.jwt.sign(
        { sub: a.accountId, org: a.organisationId, roles: a.roles, client_id: a.clientId, jti: crypto.randomUUID() },
        {
          key: key.privatePem,
          algorithm: JWT_ALG,
          kid: key.kid,
          iss: config.issuer,
          aud: config.audience,
          expiresIn: config.tokenTtlSeconds,
        },
      )
    })

    const cache = new Map<string, AccountState>()
    app.decorate('forgetActor', (accountId?: string) => {
      if (accountId) cache.delete(accountId)
      else cache.clear()
    })

    async function loadActor(accountId: string): Promise<AccountState> {
      const hit = cache.get(accountId)
      if (hit && Date.now() - hit.at < STATUS_TTL_MS) return hit
      const [row] = await app.db
        .select({
          id: accounts.id,
          organisationId: accounts.organisationId,
          clientId: accounts.clientId,
          roles: accounts.roles,
          disabled: accounts.disabled,
          secretRotatedAt: accounts.secretRotatedAt,
          defaultJustification: accounts.defaultJustification,
          orgStatus: organisations.status,
          sector: organisations.sector,
        })
        .from(accounts)
        .innerJoin(organisations, eq(organisations.id, accounts.organisationId))
        .where(eq(accounts.id, accountId))
      const actor =
        row && !row.disabled && row.orgStatus === 'active'
          ? {
              accountId: row.id,
              organisationId: row.organisationId,
              clientId: row.clientId,
              roles: effectiveRoles(row.roles),
              sector: row.sector as Sector,
              defaultJustification: row.defaultJustification,
            }
          : null
      if (cache.size >= STATUS_CACHE_MAX) cache.clear()
      const state = {
        at: Date.now(),
        actor,
        notBefore: row ? Math.floor(row.secretRotatedAt.getTime() / 1000) : 0,
        who: row ? { accountId: row.id, organisationId: row.organisationId, clientId: row.clientId } : null,
      }
      cache.set(accountId, state)
      return state
    }

    app.decorate('loadActor', async (accountId: string) => (await loadActor(accountId)).actor)
    app.decorate('accountIdentity', async (accountId: string) => (await loadActor(accountId)).who)
    // Shared with the TAXII server (/taxii2/), which authenticates its own routes.
    app.decorate('authenticateBearer', async (request: FastifyRequest): Promise<Actor> => {
      const header = request.headers.authorization
      if (!header || !/^Bearer\s+\S+$/i.test(header)) {
        throw new AppError('unauthorized', 'Send an access token: Authorization: Bearer <token> (from POST /v1/auth/token).', undefined, {
          'www-authenticate': 'Bearer realm="dcx"',
        })
      }
      type Claims = { sub?: unknown; iat?: unknown }
      let claims: Claims & { payload?: Claims }
      try {
        claims = (await request.jwtVerify()) as typeof claims
      } catch {
        throw new AppError('unauthorized', 'The access token is invalid or has expired; request a new one.', undefined, {
          'www-authenticate': 'Bearer realm="dcx", error="invalid_token"',
        })
      }
      const { sub, iat } = claims.payload ?? claims
      const state = typeof sub === 'string' && /^[0-9a-f-]{36}$/i.test(sub) ? await loadActor(sub) : null
      // A refusal names who was behind the credential, so a disabled account's attempts show in its trail.
      if (state?.who && (!state.actor || typeof iat !== 'number' || iat < state.notBefore)) app.noteAuditIdentity(request, state.who)
      if (!state?.actor) {
        throw new AppError('unauthorized', 'The account behind this token is disabled or its organisation is suspended.', undefined, {
          'www-authenticate': 'Bearer realm="dcx", error="invalid_token"',
        })
      }
      // A secret rotated (often: suspected compromise) also retires the tokens issued before it.
      if (typeof iat !== 'number' || iat < state.notBefore) {
        throw new AppError('unauthorized', 'The client secret was rotated after this token was issued; request a new one.', undefined, {
          'www-authenticate': 'Bearer realm="dcx", error="invalid_token"',
        })
      }
      return state.actor
    })

    app.decorateRequest('actor', null as unknown as Actor)
    app.addHook('onRequest', async (request) => {
      // Everything under /v1 needs a token unless the route says otherwise; health, metrics,
      // docs and the JWKS live outside /v1 and are public.
      const url = request.routeOptions.url
      if (!url || !url.startsWith('/v1/') || request.routeOptions.config.public) return
      request.actor = await app.authenticateBearer(request)
    })
  },
  { name: 'dcx-auth', dependencies: ['dcx-db'] },
)
