// A TAXII 2.1 server (OASIS TAXII 2.1, §4–§5) under /taxii2/: discovery, one API root (dcx),
// collections per audience, manifest, objects (GET, POST), object (GET, DELETE = revoke),
// versions, status. Registered as its own encapsulated plugin: its own authentication (Bearer or
// Basic), media types and error shape; the visibility rule and the audit trail are DCX's own —
// every pull and push runs in ctx.tx, which writes its audit event.
import type { FastifyReply } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { indicatorsService } from '../indicators/indicators.service.js'
import { notesService } from '../notes/notes.service.js'
import { taxiiAuthenticator } from './taxii.auth.js'
import { toTaxiiCollection } from './taxii.collections.js'
import { checkMediaTypes, sendTaxii, sendTaxiiError, TAXII_MEDIA_TYPE, taxiiErrorHandler } from './taxii.media.js'
import type { Entry } from './taxii.objects.js'
import { collectionParams, pushBody, listQuery, noQuery, objectParams, objectQuery, statusParams, versionsQuery } from './taxii.schemas.js'
import { taxiiService } from './taxii.service.js'
import {
  taxiiApiRoot,
  taxiiCollection,
  taxiiCollections,
  taxiiDiscovery,
  taxiiEnvelope,
  taxiiManifest,
  taxiiResponses,
  taxiiStatus,
  taxiiVersions,
} from './taxii.resources.js'
import { z } from 'zod'
import { guardConsultation } from '../../access/justification.js'
import { stixPersonal } from '../indicators/personal-data.js'

export const API_ROOT = 'dcx'
const MAX_CONTENT_LENGTH = 8 * 1024 * 1024

function send(reply: FastifyReply, body: unknown, entries?: Entry[]) {
  // The date_added span of what is returned, for clients that page by added_after (§3.4).
  if (entries?.length) {
    reply.header('x-taxii-date-added-first', entries[0]!.dateAdded).header('x-taxii-date-added-last', entries.at(-1)!.dateAdded)
  }
  return sendTaxii(reply, body)
}

const routes: FastifyPluginAsyncZod = async (app) => {
  const authenticate = taxiiAuthenticator(app)
  const service = taxiiService({ indicators: indicatorsService, notes: notesService })
  app.setErrorHandler(taxiiErrorHandler)
  // A large push accepted by this request: processed once its response has left.
  const pendingOf = new WeakMap<object, string>()
  app.addHook('onResponse', async (req) => {
    const id = pendingOf.get(req)
    if (id && req.actor) app.taxiiPending.kick(id, req.actor)
  })
  app.setNotFoundHandler((req, reply) => sendTaxiiError(reply, 404, 'not_found', `No TAXII resource at ${(req.url.split('?')[0] ?? '').slice(0, 200)}.`))
  app.addContentTypeParser(
    ['application/taxii+json', 'application/stix+json'],
    { parseAs: 'string', bodyLimit: MAX_CONTENT_LENGTH },
    app.getDefaultJsonParser('error', 'error'),
  )
  // Media types first (a 406/415 reveals nothing), then who is calling.
  app.addHook('onRequest', async (request) => {
    checkMediaTypes(request)
    request.actor = await authenticate(request)
  })

  // In openapi.yaml under the taxii tag: Bearer or HTTP Basic (client_id:client_secret), bodies
  // in the TAXII media type, errors as TAXII error messages (taxii.resources.ts).
  const doc = { tags: ['taxii'], security: [{ bearer: [] }, { clientBasic: [] }] as Record<string, string[]>[] }
  const READ_ERRORS = [400, 401, 403, 404, 406, 429, 500] as const
  const base = (req: { protocol: string; host: string }) => `${req.protocol}://${req.host}/taxii2`

  app.get(
    '/',
    {
      prefixTrailingSlash: 'slash',
      schema: {
        ...doc,
        operationId: 'taxiiDiscovery',
        summary: 'TAXII discovery: the API roots',
        querystring: noQuery,
        response: taxiiResponses({ 200: taxiiDiscovery }, 400, 401, 406, 429, 500),
      },
    },
    async (req, reply) => {
      const root = `${base(req)}/${API_ROOT}/`
      return send(reply, {
        title: 'DCX — Drug-related Cybercrime Exchange',
        description: 'TAXII 2.1 access to the risk indicators and best-practice notes shared on DCX. Collections follow your audiences.',
        default: root,
        api_roots: [root],
      })
    },
  )

  app.get(
    `/${API_ROOT}/`,
    {
      schema: {
        ...doc,
        operationId: 'taxiiApiRoot',
        summary: 'TAXII API root: versions and the largest body accepted',
        querystring: noQuery,
        response: taxiiResponses({ 200: taxiiApiRoot }, 400, 401, 406, 429, 500),
      },
    },
    async (_req, reply) =>
      send(reply, {
        title: 'DCX',
        description: 'Indicators (STIX indicator) and best-practice notes (STIX report), per audience.',
        versions: [TAXII_MEDIA_TYPE],
        max_content_length: MAX_CONTENT_LENGTH,
      }),
  )

  app.get(
    `/${API_ROOT}/status/:id/`,
    {
      schema: {
        ...doc,
        operationId: 'taxiiGetStatus',
        summary: "A push's status (the caller's organisation only): pending, then complete",
        params: statusParams,
        querystring: noQuery,
        response: taxiiResponses({ 200: taxiiStatus }, ...READ_ERRORS),
      },
    },
    async (req, reply) => send(reply, await service.status(req.ctx, req.params.id)),
  )

  app.get(
    `/${API_ROOT}/collections/`,
    {
      schema: {
        ...doc,
        operationId: 'taxiiListCollections',
        summary: 'TAXII collections: the audiences that reach the caller',
        querystring: noQuery,
        response: taxiiResponses({ 200: taxiiCollections }, 400, 401, 406, 429, 500),
      },
    },
    async (req, reply) => {
      const cs = await service.collections(req.ctx)
      return send(reply, { collections: cs.map(toTaxiiCollection) })
    },
  )

  app.get(
    `/${API_ROOT}/collections/:id/`,
    {
      schema: {
        ...doc,
        operationId: 'taxiiGetCollection',
        summary: 'One TAXII collection',
        params: collectionParams,
        querystring: noQuery,
        response: taxiiResponses({ 200: taxiiCollection }, ...READ_ERRORS),
      },
    },
    async (req, reply) => send(reply, toTaxiiCollection(await service.collection(req.ctx, req.params.id))),
  )

  app.get(
    `/${API_ROOT}/collections/:id/manifest/`,
    {
      schema: {
        ...doc,
        operationId: 'taxiiGetManifest',
        summary: "A collection's manifest: id, version and date added of each object, paged with next",
        params: collectionParams,
        querystring: listQuery,
        response: taxiiResponses({ 200: taxiiManifest }, ...READ_ERRORS),
      },
    },
    async (req, reply) => {
      const out = await service.manifest(req.ctx, req.params.id, req.query)
      const objects = out.entries.map((e) => ({ id: e.id, date_added: e.dateAdded, version: e.version, media_type: 'application/stix+json;version=2.1' }))
      return send(reply, { more: out.more, ...(out.next ? { next: out.next } : {}), ...(objects.length ? { objects } : {}) }, out.entries)
    },
  )

  app.get(
    `/${API_ROOT}/collections/:id/objects/`,
    {
      schema: {
        ...doc,
        operationId: 'taxiiGetObjects',
        summary: "A collection's objects the caller may see, paged with next",
        params: collectionParams,
        querystring: listQuery,
        response: taxiiResponses({ 200: taxiiEnvelope }, ...READ_ERRORS, 428),
      },
    },
    async (req, reply) => {
      guardConsultation<{ entries: { object: unknown }[] }>(
        req,
        'a page holding personal-data indicators',
        (o) => !!o && stixPersonal(o.entries.map((e) => e.object)),
      )
      const out = await service.objects(req.ctx, req.params.id, req.query)
      const objects = out.entries.map((e) => e.object)
      return send(reply, { more: out.more, ...(out.next ? { next: out.next } : {}), ...(objects.length ? { objects } : {}) }, out.entries)
    },
  )

  app.post(
    `/${API_ROOT}/collections/:id/objects/`,
    {
      bodyLimit: MAX_CONTENT_LENGTH,
      schema: {
        ...doc,
        operationId: 'taxiiAddObjects',
        summary: 'Push a TAXII envelope or a STIX bundle: 202 with a status, pending for a large push',
        params: collectionParams,
        querystring: noQuery,
        body: pushBody,
        response: taxiiResponses({ 202: taxiiStatus }, ...READ_ERRORS, 413, 415, 422),
      },
    },
    // An envelope and a bundle both carry `objects`. Above the threshold (config.taxii) the push
    // answers pending and is processed once the response has left (taxii.pending.ts).
    async (req, reply) => {
      const objects = req.body.objects
      const bytes = Number(req.headers['content-length'] ?? 0)
      if (objects.length > app.config.taxii.asyncObjects || bytes > app.config.taxii.asyncBytes) {
        const ua = req.headers['user-agent']
        const s = await service.accept(req.ctx, req.params.id, objects, {
          requestId: String(req.id),
          clientAddress: req.ip,
          userAgent: typeof ua === 'string' ? ua : undefined,
        })
        pendingOf.set(req, s.id)
        return send(reply.code(202), s)
      }
      return send(reply.code(202), await service.add(req.ctx, req.params.id, objects))
    },
  )

  app.get(
    `/${API_ROOT}/collections/:id/objects/:objectId/`,
    {
      schema: {
        ...doc,
        operationId: 'taxiiGetObject',
        summary: 'One object of a collection, by STIX id',
        params: objectParams,
        querystring: objectQuery,
        response: taxiiResponses({ 200: taxiiEnvelope }, ...READ_ERRORS, 428),
      },
    },
    async (req, reply) => {
      guardConsultation<{ object: unknown } | undefined>(req, 'a personal-data indicator', (o) => !!o && stixPersonal([o.object]))
      const found = await service.object(req.ctx, req.params.id, req.params.objectId, req.query)
      return send(reply, { more: false, objects: [found.object] }, [found])
    },
  )

  app.delete(
    `/${API_ROOT}/collections/:id/objects/:objectId/`,
    {
      schema: {
        ...doc,
        operationId: 'taxiiDeleteObject',
        summary: "Revoke one of the caller's organisation's objects (it stays, revoked)",
        params: objectParams,
        querystring: objectQuery,
        response: taxiiResponses({ 200: z.null().describe('Revoked') }, ...READ_ERRORS),
      },
    },
    async (req, reply) => {
      await service.revoke(req.ctx, req.params.id, req.params.objectId, req.query)
      return sendTaxii(reply.code(200), undefined)
    },
  )

  app.get(
    `/${API_ROOT}/collections/:id/objects/:objectId/versions/`,
    {
      schema: {
        ...doc,
        operationId: 'taxiiGetVersions',
        summary: "An object's versions (DCX keeps the current one)",
        params: objectParams,
        querystring: versionsQuery,
        response: taxiiResponses({ 200: taxiiVersions }, ...READ_ERRORS),
      },
    },
    async (req, reply) => {
      const found = await service.versions(req.ctx, req.params.id, req.params.objectId, req.query)
      return send(reply, { more: false, versions: [found.version] }, [found])
    },
  )
}

export default routes
