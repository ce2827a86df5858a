import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { problems, timestamp } from '../../core/schemas.js'
import { parseBasic } from '../../access/credentials.js'
import { idempotent } from '../../access/idempotency.js'
import { OAuthError, tokenService } from './auth.service.js'

const tokenRequest = z
  .object({
    grant_type: z.string().max(100).describe('Must be client_credentials'),
    client_id: z.string().max(200).optional(),
    client_secret: z.string().max(500).optional(),
    scope: z.string().max(500).optional(),
  })
  .strict()
  .meta({ id: 'TokenRequest' })

const tokenResponse = z.object({ access_token: z.string(), token_type: z.literal('Bearer'), expires_in: z.number().int() }).meta({ id: 'TokenResponse' })

const oauthError = z
  .object({
    error: z.enum(['invalid_request', 'invalid_client', 'unsupported_grant_type', 'invalid_scope']),
    error_description: z.string(),
  })
  .meta({ id: 'OAuthError' })

const jwk = z.object({ kty: z.string(), crv: z.string(), x: z.string(), kid: z.string(), alg: z.string(), use: z.string() })
const jwks = z.object({ keys: z.array(jwk) }).meta({ id: 'JWKS' })

const routes: FastifyPluginAsyncZod = async (app) => {
  const tokens = tokenService(app)
  // OAuth 2.0 (RFC 6749 §4.4.2) sends the token request as a form. This plugin's scope holds the
  // token endpoint only, so every other route stays JSON-only (a form body there is a 415).
  await app.register(formbody, { bodyLimit: 16 * 1024 })

  app.post(
    '/auth/token',
    {
      config: {
        public: true,
        // All attempts, per address: loose, so a partner system behind one address is never
        // locked out by its own volume. Failed attempts have their own tight counter (service).
        rateLimit: { max: app.config.rateLimit.tokenAttemptsPerMinute, timeWindow: 60_000, keyGenerator: (req) => `tok:${req.ip}` },
      },
      attachValidation: true,
      schema: {
        tags: ['auth'],
        operationId: 'issueToken',
        summary: 'OAuth 2.0 client-credentials grant: credentials in the body (form or JSON) or HTTP Basic',
        security: [{}, { clientBasic: [] }],
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        body: tokenRequest,
        response: { 200: tokenResponse, 400: oauthError, 401: oauthError, ...problems(429, 500) },
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
      const fail = (e: OAuthError) => {
        if (e.status === 401 && req.headers.authorization) reply.header('www-authenticate', 'Basic realm="dcx"')
        return reply.code(e.status as 400 | 401).send({ error: e.error, error_description: e.description })
      }
      if (req.validationError) {
        const issue = req.validationError.validation?.[0]
        return fail(new OAuthError(400, 'invalid_request', `The token request is malformed${issue?.message ? `: ${issue.message}` : ''}.`))
      }
      const body = req.body
      if (body.grant_type !== 'client_credentials') {
        return fail(new OAuthError(400, 'unsupported_grant_type', 'Only grant_type=client_credentials is supported.'))
      }
      const basic = parseBasic(req.headers.authorization, { formEncoded: true })
      if (req.headers.authorization && !basic) return fail(new OAuthError(400, 'invalid_request', 'The Authorization header is not valid HTTP Basic.'))
      if (basic && (body.client_id !== undefined || body.client_secret !== undefined) && body.client_id !== basic.id) {
        return fail(new OAuthError(400, 'invalid_request', 'Send client credentials either in the body or in HTTP Basic, not both.'))
      }
      const id = basic?.id ?? body.client_id
      const secret = basic?.secret ?? body.client_secret
      if (id) app.noteAuditIdentity(req, { clientId: id.slice(0, 128) })
      if (!id || !secret) return fail(new OAuthError(400, 'invalid_request', 'client_id and client_secret are required.'))
      try {
        const issued = await tokens.issue(id, secret, req.ip)
        app.noteAuditIdentity(req, { accountId: issued.accountId, organisationId: issued.organisationId })
        return issued.token
      } catch (e) {
        if (e instanceof OAuthError) {
          if (e.who) app.noteAuditIdentity(req, e.who)
          return fail(e)
        }
        throw e
      }
    },
  )
}

const rotationRequest = z
  .object({ reason: z.string().trim().min(1).max(200).optional().describe('Why the key is rotated (recorded in the audit event)') })
  .strict()
  .meta({ id: 'SigningKeyRotationRequest' })

const rotation = z
  .object({
    kid: z.string().describe('The key that signs from now on, on every node'),
    createdAt: timestamp,
    retired: z
      .object({ kid: z.string(), verifiesUntil: timestamp.describe('Tokens it signed keep verifying until then') })
      .nullable()
      .describe('The key this rotation retired'),
  })
  .meta({ id: 'SigningKeyRotation' })

/**
 * POST /v1/auth/signing-key: rotate the service's signing key now (platform admins; operators
 * also have `npm run keys:rotate`). In its own scope, so the route stays JSON-only.
 */
export const signingKeyRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/auth/signing-key',
    {
      schema: {
        tags: ['auth'],
        operationId: 'rotateSigningKey',
        summary:
          'Rotate the token signing key now (body {} or { reason }): every node signs with the new key within seconds; the retired key keeps verifying for one token lifetime. Idempotency-Key: a retry answers the first rotation',
        headers: z.object({ 'idempotency-key': z.string().optional() }),
        body: rotationRequest,
        response: { 200: rotation, ...problems(400, 401, 403, 422, 429, 500) },
      },
    },
    async (req, reply) => {
      const reason = req.body.reason
      const out = await idempotent(req, async (tx, audit) => {
        const r = await app.keys.rotateIn(tx, true)
        if (!r) throw new Error('a forced rotation always rotates')
        audit.set({ resourceId: r.kid, details: { kid: r.kid, retiredKid: r.retired?.kid ?? null, ...(reason ? { reason } : {}) } })
        return {
          status: 200,
          body: {
            kid: r.kid,
            createdAt: r.createdAt.toISOString(),
            retired: r.retired ? { kid: r.retired.kid, verifiesUntil: r.retired.verifiesUntil.toISOString() } : null,
          },
        }
      })
      // Committed: this node signs with the new key from here on; the others on notification.
      if (!out.replayed) await app.keys.load()
      reply.header('cache-control', 'no-store')
      return out.body
    },
  )
}

export const jwksRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/.well-known/jwks.json',
    {
      config: { public: true },
      schema: { tags: ['auth'], operationId: 'getJwks', summary: 'Public keys that verify DCX access tokens', security: [], response: { 200: jwks } },
    },
    async (_req, reply) => {
      reply.header('cache-control', 'public, max-age=300')
      return app.keys.jwks()
    },
  )
}

export default routes
