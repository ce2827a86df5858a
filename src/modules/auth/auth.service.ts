// OAuth 2.0 client-credentials (RFC 6749 §4.4). The credentials are checked, and failed
// attempts throttled, by the one checker every door uses (access/credentials.ts).
import { eq } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { organisations } from '../../db/schema/index.js'
import { credentialChecker } from '../../access/credentials.js'

export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: 'invalid_request' | 'invalid_client' | 'unsupported_grant_type' | 'invalid_scope',
    readonly description: string,
    /** The account behind valid credentials that are refused anyway (disabled, suspended): the audit event names it. */
    readonly who?: { accountId: string; organisationId: string },
  ) {
    super(description)
  }
}

export function tokenService(app: FastifyInstance) {
  const check = credentialChecker({ db: app.db, failures: app.tokenFailures, limit: app.config.rateLimit.tokenFailuresPerMinute })

  return {
    async issue(clientId: string, clientSecret: string, address: string) {
      const account = await check(clientId, clientSecret, address)
      if (!account) {
        throw new OAuthError(401, 'invalid_client', 'Unknown client or wrong secret.')
      }
      const [org] = await app.db.select({ status: organisations.status }).from(organisations).where(eq(organisations.id, account.organisationId))
      if (account.disabled || org?.status !== 'active') {
        throw new OAuthError(401, 'invalid_client', 'This account is disabled or its organisation is suspended.', {
          accountId: account.id,
          organisationId: account.organisationId,
        })
      }
      // Never sign with a key another node has retired (access/keys.ts).
      await app.keys.fresh()
      const accessToken = app.signAccessToken({
        accountId: account.id,
        organisationId: account.organisationId,
        clientId: account.clientId,
        roles: account.roles,
      })
      return {
        accountId: account.id,
        organisationId: account.organisationId,
        token: { access_token: accessToken, token_type: 'Bearer' as const, expires_in: app.config.tokenTtlSeconds },
      }
    },
  }
}
