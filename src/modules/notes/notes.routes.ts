import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { idParams, problems } from '../../core/schemas.js'
import { etag, ifMatchVersion } from '../../core/etag.js'
import { idempotent } from '../../access/idempotency.js'
import { notesService as service } from './notes.service.js'
import { note, noteCreate, noteListQuery, notePage, notePatch, noteRevisionList } from './notes.schemas.js'

const tags = ['notes']
const ifMatch = z.object({ 'if-match': z.string().optional() })

const routes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/notes',
    {
      schema: {
        tags,
        operationId: 'listNotes',
        summary: 'Best-practice notes the caller may see, newest first, with filters and full-text search',
        querystring: noteListQuery,
        response: { 200: notePage, ...problems(400, 401, 403, 429, 500) },
      },
    },
    async (req) => service.list(req.ctx, req.query),
  )

  app.post(
    '/notes',
    {
      schema: {
        tags,
        operationId: 'createNote',
        summary: "Publish a note for the caller's organisation (contributor); Idempotency-Key supported",
        headers: z.object({ 'idempotency-key': z.string().optional() }),
        body: noteCreate,
        response: { 201: note, ...problems(400, 401, 403, 422, 429, 500) },
      },
    },
    async (req, reply) => {
      const out = await idempotent(req, async () => ({ status: 201, body: await service.create(req.ctx, req.body) }))
      if (out.replayed) reply.header('idempotent-replayed', 'true')
      reply.header('etag', etag(out.body.version)).header('location', `/v1/notes/${out.body.id}`)
      return reply.code(201).send(out.body)
    },
  )

  app.get(
    '/notes/:id',
    {
      schema: { tags, operationId: 'getNote', params: idParams, response: { 200: note, ...problems(400, 401, 403, 404, 429, 500) } },
    },
    async (req, reply) => {
      const n = await service.get(req.ctx, req.params.id)
      reply.header('etag', etag(n.version))
      return n
    },
  )

  app.patch(
    '/notes/:id',
    {
      schema: {
        tags,
        operationId: 'updateNote',
        summary: 'Edit a note of your organisation (a new revision); If-Match for optimistic concurrency',
        params: idParams,
        headers: ifMatch,
        body: notePatch,
        response: { 200: note, ...problems(400, 401, 403, 404, 409, 412, 429, 500) },
      },
    },
    async (req, reply) => {
      const n = await service.update(req.ctx, req.params.id, req.body, ifMatchVersion(req.headers['if-match']))
      reply.header('etag', etag(n.version))
      return n
    },
  )

  app.delete(
    '/notes/:id',
    {
      schema: {
        tags,
        operationId: 'revokeNote',
        summary: 'Revoke a note: kept, marked revoked',
        params: idParams,
        headers: ifMatch,
        response: { 200: note, ...problems(400, 401, 403, 404, 412, 429, 500) },
      },
    },
    async (req, reply) => {
      const n = await service.revoke(req.ctx, req.params.id, ifMatchVersion(req.headers['if-match']))
      reply.header('etag', etag(n.version))
      return n
    },
  )

  app.get(
    '/notes/:id/revisions',
    {
      schema: {
        tags,
        operationId: 'listNoteRevisions',
        summary: 'Every version of a note, oldest first',
        params: idParams,
        response: { 200: noteRevisionList, ...problems(400, 401, 403, 404, 429, 500) },
      },
    },
    async (req) => service.revisions(req.ctx, req.params.id),
  )
}

export default routes
