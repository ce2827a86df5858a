// Who is calling the TAXII server. Bearer tokens exactly as on /v1, and HTTP Basic with the
// account's client id and secret, because many TAXII clients speak nothing else. Basic checks
// cost one scrypt like the token endpoint (unknown ids included) and share its failure counters,
// so guessing is throttled across both. A verified id:secret pair is remembered for a minute
// (keyed by its SHA-256, never the secret) so a polling client does not pay a scrypt per request;
// the account's state (disabled, suspended) is still checked on every request.
import { createHash } from 'node:crypto'
import { eq } from 'drizzle-orm'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { accounts } from '../../db/schema/index.js'
import type { Actor } from '../../core/actor.js'
import { AppError } from '../../core/errors.js'
import { credentialChecker, parseBasic } from '../../access/credentials.js'

const VERIFIED_TTL_MS = 60_000
const VERIFIED_MAX = 10_000
const CHALLENGE = 'Basic realm="dcx-taxii", Bearer realm="dcx"'

function unauthorized(detail: string) {
  return new AppError('unauthorized', detail, undefined, { 'www-authenticate': CHALLENGE })
}

export function taxiiAuthenticator(app: FastifyInstance) {
  const verified = new Map<string, { accountId: string; at: number }>()
  const check = credentialChecker({ db: app.db, failures: app.tokenFailures, limit: app.config.rateLimit.tokenFailuresPerMinute })

  async function basic(request: FastifyRequest, id: string, secret: string): Promise<Actor> {
    const key = createHash('sha256').update(`${id}:${secret}`).digest('hex')
    const hit = verified.get(key)
    let accountId = hit && Date.now() - hit.at < VERIFIED_TTL_MS ? hit.accountId : undefined
    // A secret rotated since it was verified is checked again (and fails): rotation cuts off at once.
    if (accountId && hit) {
      const [row] = await app.db.select({ rotatedAt: accounts.secretRotatedAt }).from(accounts).where(eq(accounts.id, accountId))
      if (!row || row.rotatedAt.getTime() >= hit.at) accountId = undefined
    }
    if (!accountId) {
      const account = await check(id, secret, request.ip)
      if (!account) {
        throw unauthorized('Unknown client or wrong secret.')
      }
      accountId = account.id
      if (verified.size >= VERIFIED_MAX) verified.clear()
      verified.set(key, { accountId, at: Date.now() })
    }
    const actor = await app.loadActor(accountId)
    if (!actor) {
      const who = await app.accountIdentity(accountId)
      if (who) app.noteAuditIdentity(request, who)
    }
    if (!actor) throw unauthorized('This account is disabled or its organisation is suspended.')
    return actor
  }

  return async function authenticate(request: FastifyRequest): Promise<Actor> {
    const header = request.headers.authorization ?? ''
    if (/^Bearer\s/i.test(header)) return app.authenticateBearer(request)
    const creds = parseBasic(header)
    if (!creds) {
      throw unauthorized('Authenticate with HTTP Basic (client id and secret) or Authorization: Bearer <token> (from POST /v1/auth/token).')
    }
    try {
      return await basic(request, creds.id, creds.secret)
    } catch (e) {
      // The refused event names the client id tried, as the token endpoint's does.
      app.noteAuditIdentity(request, { clientId: creds.id.slice(0, 128) })
      throw e
    }
  }
}
