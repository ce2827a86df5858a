import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { idParams, problems } from '../../core/schemas.js'
import { etag, ifMatchVersion } from '../../core/etag.js'
import { idempotent } from '../../access/idempotency.js'
import { sharingGroupsService as service } from './sharing-groups.service.js'
import { sharingGroup, sharingGroupCreate, sharingGroupPage, sharingGroupPatch } from './sharing-groups.schemas.js'

const tags = ['sharing-groups']

const routes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/sharing-groups',
    {
      schema: {
        tags,
        operationId: 'listSharingGroups',
        summary: "Sharing groups the caller's organisation owns or belongs to",
        response: { 200: sharingGroupPage, ...problems(401, 403, 429, 500) },
      },
    },
    async (req) => service.list(req.ctx),
  )

  app.get(
    '/sharing-groups/:id',
    {
      schema: { tags, operationId: 'getSharingGroup', params: idParams, response: { 200: sharingGroup, ...problems(400, 401, 403, 404, 429, 500) } },
    },
    async (req, reply) => {
      const g = await service.get(req.ctx, req.params.id)
      reply.header('etag', etag(g.version))
      return g
    },
  )

  app.post(
    '/sharing-groups',
    {
      schema: {
        tags,
        operationId: 'createSharingGroup',
        summary: "Create a group owned by the caller's organisation (org_admin); Idempotency-Key supported",
        headers: z.object({ 'idempotency-key': z.string().optional() }),
        body: sharingGroupCreate,
        response: { 201: sharingGroup, ...problems(400, 401, 403, 422, 429, 500) },
      },
    },
    async (req, reply) => {
      const out = await idempotent(req, async () => ({ status: 201, body: await service.create(req.ctx, req.body) }))
      if (out.replayed) reply.header('idempotent-replayed', 'true')
      reply.header('etag', etag(out.body.version)).header('location', `/v1/sharing-groups/${out.body.id}`)
      return reply.code(201).send(out.body)
    },
  )

  app.patch(
    '/sharing-groups/:id',
    {
      schema: {
        tags,
        operationId: 'updateSharingGroup',
        params: idParams,
        headers: z.object({ 'if-match': z.string().optional() }),
        body: sharingGroupPatch,
        response: { 200: sharingGroup, ...problems(400, 401, 403, 404, 412, 429, 500) },
      },
    },
    async (req, reply) => {
      const g = await service.update(req.ctx, req.params.id, req.body, ifMatchVersion(req.headers['if-match']))
      reply.header('etag', etag(g.version))
      return g
    },
  )

  app.delete(
    '/sharing-groups/:id',
    {
      schema: {
        tags,
        operationId: 'deleteSharingGroup',
        summary: 'Delete a group no item is distributed to',
        params: idParams,
        response: { 204: z.null(), ...problems(400, 401, 403, 404, 409, 429, 500) },
      },
    },
    async (req, reply) => {
      await service.remove(req.ctx, req.params.id)
      return reply.code(204).send(null)
    },
  )
}

export default routes
