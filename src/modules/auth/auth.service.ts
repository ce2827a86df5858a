// OAuth 2.0 client-credentials (RFC 6749 §4.4). Unknown client ids cost one scrypt like wrong
// secrets, so timing does not reveal which client ids exist. Failed attempts are counted per
// client id and per address; past the limit, every attempt is refused until the window resets.
import { eq } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { organisations } from '../../db/schema/index.js'
import { AppError } from '../../core/errors.js'
import { DUMMY_HASH, verifySecret } from '../../core/secrets.js'
import { accountsRepository } from '../accounts/accounts.repository.js'

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
  const { tokenFailuresPerMinute } = app.config.rateLimit
  const failures = app.tokenFailures

  async function throttle(keys: string[]) {
    for (const key of keys) {
      const count = await failures.get(key)
      if (count >= tokenFailuresPerMinute) {
        const ms = await failures.ttl(key)
        const seconds = Math.max(1, Math.ceil(ms / 1000))
        throw new AppError('rate_limited', `Too many failed token requests; retry in ${seconds} s.`, undefined, {
          'retry-after': String(seconds),
        })
      }
    }
  }

  return {
    async issue(clientId: string, clientSecret: string, address: string) {
      const keys = [`cid:${clientId}`, `addr:${address}`]
      await throttle(keys)
      const account = clientId.length <= 128 ? await accountsRepository.byClientId(app.db, clientId) : undefined
      const ok = await verifySecret(clientSecret, account?.secretHash ?? DUMMY_HASH)
      if (!account || !ok) {
        await Promise.all(keys.map((k) => failures.hit(k)))
        throw new OAuthError(401, 'invalid_client', 'Unknown client or wrong secret.')
      }
      const [org] = await app.db.select({ status: organisations.status }).from(organisations).where(eq(organisations.id, account.organisationId))
      if (account.disabled || org?.status !== 'active') {
        throw new OAuthError(401, 'invalid_client', 'This account is disabled or its organisation is suspended.', {
          accountId: account.id,
          organisationId: account.organisationId,
        })
      }
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
