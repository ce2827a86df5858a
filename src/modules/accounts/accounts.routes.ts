import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { idParams, problems } from '../../core/schemas.js'
import { etag, ifMatchVersion } from '../../core/etag.js'
import { idempotent } from '../../access/idempotency.js'
import { AppError } from '../../core/errors.js'
import { accountsService } from './accounts.service.js'
import { account, accountCreate, accountListQuery, accountPage, accountPatch, accountWithSecret, rotatedSecret } from './accounts.schemas.js'

const tags = ['accounts']
const noStore = 'no-store'

const routes: FastifyPluginAsyncZod = async (app) => {
  const service = accountsService((id) => app.forgetActor(id))

  app.get(
    '/organisations/:id/accounts',
    {
      schema: {
        tags,
        operationId: 'listAccounts',
        summary: "An organisation's accounts (its org_admins, platform_admin)",
        params: idParams,
        querystring: accountListQuery,
        response: { 200: accountPage, ...problems(400, 401, 403, 404, 429, 500) },
      },
    },
    async (req) => service.list(req.ctx, req.params.id, req.query.limit, req.query.cursor),
  )

  app.post(
    '/organisations/:id/accounts',
    {
      schema: {
        tags,
        operationId: 'createAccount',
        summary:
          'Create an account; the client secret is returned once, in this response. Idempotency-Key: a retry answers 409 with the account id (the secret is never stored to replay)',
        params: idParams,
        headers: z.object({ 'idempotency-key': z.string().optional() }),
        body: accountCreate,
        response: { 201: accountWithSecret, ...problems(400, 401, 403, 404, 409, 422, 429, 500) },
      },
    },
    async (req, reply) => {
      const out = await idempotent(
        req,
        async () => ({ status: 201, body: (await service.create(req.ctx, req.params.id, req.body)).account }),
        ({ clientSecret: _secret, ...rest }) => rest,
      )
      if (out.replayed) {
        throw new AppError(
          'conflict',
          `This request already created account ${out.body.id}; its secret was shown once. Rotate it with POST /v1/accounts/${out.body.id}/secret if it was lost.`,
        )
      }
      reply.header('cache-control', noStore).header('etag', etag(1)).header('location', `/v1/accounts/${out.body.id}`)
      return reply.code(201).send(out.body)
    },
  )

  app.get(
    '/accounts/:id',
    {
      schema: {
        tags,
        operationId: 'getAccount',
        params: idParams,
        response: { 200: account, ...problems(400, 401, 403, 404, 429, 500) },
      },
    },
    async (req, reply) => {
      const { account, version } = await service.get(req.ctx, req.params.id)
      reply.header('etag', etag(version))
      return account
    },
  )

  app.patch(
    '/accounts/:id',
    {
      schema: {
        tags,
        operationId: 'updateAccount',
        summary: 'Change name, roles or disable an account; If-Match for optimistic concurrency',
        params: idParams,
        headers: z.object({ 'if-match': z.string().optional() }),
        body: accountPatch,
        response: { 200: account, ...problems(400, 401, 403, 404, 409, 412, 429, 500) },
      },
    },
    async (req, reply) => {
      const { account, version } = await service.update(req.ctx, req.params.id, req.body, ifMatchVersion(req.headers['if-match']))
      reply.header('etag', etag(version))
      return account
    },
  )

  app.post(
    '/accounts/:id/secret',
    {
      schema: {
        tags,
        operationId: 'rotateAccountSecret',
        summary: 'Rotate the client secret: the old one stops working at once; the new one is shown once',
        params: idParams,
        response: { 200: rotatedSecret, ...problems(400, 401, 403, 404, 409, 429, 500) },
      },
    },
    async (req, reply) => {
      const { secret, version } = await service.rotateSecret(req.ctx, req.params.id)
      reply.header('cache-control', noStore).header('etag', etag(version))
      return secret
    },
  )
}

export default routes
