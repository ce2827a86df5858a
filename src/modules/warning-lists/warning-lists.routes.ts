import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { idParams, problems } from '../../core/schemas.js'
import { etag, ifMatchVersion } from '../../core/etag.js'
import { warningListsService as service } from './warning-lists.service.js'
import {
  warningList,
  warningListCreate,
  warningListEntries,
  warningListEntriesResult,
  warningListPage,
  warningListPatch,
  warningListSummary,
} from './warning-lists.schemas.js'

const tags = ['warning-lists']
const ifMatch = z.object({ 'if-match': z.string().optional() })

const routes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/warning-lists',
    {
      schema: {
        tags,
        operationId: 'listWarningLists',
        summary: "Warning lists the caller may see: its organisation's own, then the platform's (entries counted, not listed)",
        response: { 200: warningListPage, ...problems(401, 403, 429, 500) },
      },
    },
    async (req) => service.list(req.ctx),
  )

  app.post(
    '/warning-lists',
    {
      schema: {
        tags,
        operationId: 'createWarningList',
        summary: "Create a warning list: scope platform (platform_admin) or the caller's organisation's (org_admin), with up to 1,000 entries",
        body: warningListCreate,
        response: { 201: warningList, ...problems(400, 401, 403, 422, 429, 500) },
      },
    },
    async (req, reply) => {
      const list = await service.create(req.ctx, req.body)
      reply.header('etag', etag(list.version)).header('location', `/v1/warning-lists/${list.id}`)
      return reply.code(201).send(list)
    },
  )

  app.get(
    '/warning-lists/:id',
    {
      schema: {
        tags,
        operationId: 'getWarningList',
        summary: 'A warning list with every entry',
        params: idParams,
        response: { 200: warningList, ...problems(400, 401, 403, 404, 429, 500) },
      },
    },
    async (req, reply) => {
      const list = await service.get(req.ctx, req.params.id)
      reply.header('etag', etag(list.version))
      return list
    },
  )

  app.patch(
    '/warning-lists/:id',
    {
      schema: {
        tags,
        operationId: 'updateWarningList',
        summary: 'Rename a warning list or change its reason; If-Match for optimistic concurrency',
        params: idParams,
        headers: ifMatch,
        body: warningListPatch,
        response: { 200: warningListSummary, ...problems(400, 401, 403, 404, 412, 429, 500) },
      },
    },
    async (req, reply) => {
      const list = await service.update(req.ctx, req.params.id, req.body, ifMatchVersion(req.headers['if-match']))
      reply.header('etag', etag(list.version))
      return list
    },
  )

  app.delete(
    '/warning-lists/:id',
    {
      schema: {
        tags,
        operationId: 'deleteWarningList',
        summary: 'Delete a warning list and its entries',
        params: idParams,
        response: { 204: z.null(), ...problems(400, 401, 403, 404, 429, 500) },
      },
    },
    async (req, reply) => {
      await service.remove(req.ctx, req.params.id)
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/warning-lists/:id/entries',
    {
      bodyLimit: 8 * 1024 * 1024,
      schema: {
        tags,
        operationId: 'addWarningListEntries',
        summary: 'Add up to 1,000 entries (normalised; an invalid one is a 400 naming it, and nothing is added); a list holds at most 10,000',
        params: idParams,
        body: warningListEntries,
        response: { 200: warningListEntriesResult, ...problems(400, 401, 403, 404, 413, 422, 429, 500) },
      },
    },
    async (req) => service.addEntries(req.ctx, req.params.id, req.body.entries),
  )

  app.delete(
    '/warning-lists/:id/entries',
    {
      bodyLimit: 8 * 1024 * 1024,
      schema: {
        tags,
        operationId: 'removeWarningListEntries',
        summary: 'Remove up to 1,000 entries, given as they were added',
        params: idParams,
        body: warningListEntries,
        response: { 200: warningListEntriesResult, ...problems(400, 401, 403, 404, 413, 429, 500) },
      },
    },
    async (req) => service.removeEntries(req.ctx, req.params.id, req.body.entries),
  )
}

export default routes
