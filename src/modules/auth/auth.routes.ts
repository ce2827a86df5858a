import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { problems } from '../../core/schemas.js'
import { parseBasic } from '../../access/credentials.js'
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
