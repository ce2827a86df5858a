import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { idParams, problems } from '../../core/schemas.js'
import { etag, ifMatchVersion } from '../../core/etag.js'
import { idempotent } from '../../access/idempotency.js'
import { organisationsService } from './organisations.service.js'
import { organisation, organisationCreate, organisationListQuery, organisationPage, organisationPatch } from './organisations.schemas.js'

const tags = ['organisations']
const ifMatch = z.object({ 'if-match': z.string().optional() })

const routes: FastifyPluginAsyncZod = async (app) => {
  const service = organisationsService(() => app.forgetActor())

  app.get(
    '/organisations',
    {
      schema: {
        tags,
        operationId: 'listOrganisations',
        summary: 'The directory of partner organisations and their contact points',
        querystring: organisationListQuery,
        response: { 200: organisationPage, ...problems(400, 401, 429, 500) },
      },
    },
    async (req) => service.list(req.ctx, req.query),
  )

  app.get(
    '/organisations/:id',
    {
      schema: {
        tags,
        operationId: 'getOrganisation',
        params: idParams,
        response: { 200: organisation, ...problems(400, 401, 404, 429, 500) },
      },
    },
    async (req, reply) => {
      const { organisation, version } = await service.get(req.ctx, req.params.id)
      reply.header('etag', etag(version))
      return organisation
    },
  )

  app.post(
    '/organisations',
    {
      schema: {
        tags,
        operationId: 'createOrganisation',
        summary: 'Onboard an organisation (platform_admin); Idempotency-Key supported',
        headers: z.object({ 'idempotency-key': z.string().optional() }),
        body: organisationCreate,
        response: { 201: organisation, ...problems(400, 401, 403, 409, 422, 429, 500) },
      },
    },
    async (req, reply) => {
      const out = await idempotent(req, async () => ({ status: 201, body: (await service.create(req.ctx, req.body)).organisation }))
      if (out.replayed) reply.header('idempotent-replayed', 'true')
      reply.header('etag', etag(1)).header('location', `/v1/organisations/${out.body.id}`)
      return reply.code(201).send(out.body)
    },
  )

  app.patch(
    '/organisations/:id',
    {
      schema: {
        tags,
        operationId: 'updateOrganisation',
        summary: 'Edit or suspend an organisation (platform_admin); If-Match for optimistic concurrency',
        params: idParams,
        headers: ifMatch,
        body: organisationPatch,
        response: { 200: organisation, ...problems(400, 401, 403, 404, 409, 412, 429, 500) },
      },
    },
    async (req, reply) => {
      const { organisation, version } = await service.update(req.ctx, req.params.id, req.body, ifMatchVersion(req.headers['if-match']))
      reply.header('etag', etag(version))
      return organisation
    },
  )
}

export default routes
