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

  const hide = { hide: true } as const
  const base = (req: { protocol: string; host: string }) => `${req.protocol}://${req.host}/taxii2`

  app.get('/', { prefixTrailingSlash: 'slash', schema: { ...hide, operationId: 'taxiiDiscovery', querystring: noQuery } }, async (req, reply) => {
    const root = `${base(req)}/${API_ROOT}/`
    return send(reply, {
      title: 'DCX — Drug-related Cybercrime Exchange',
      description: 'TAXII 2.1 access to the risk indicators and best-practice notes shared on DCX. Collections follow your audiences.',
      default: root,
      api_roots: [root],
    })
  })

  app.get(`/${API_ROOT}/`, { schema: { ...hide, operationId: 'taxiiApiRoot', querystring: noQuery } }, async (_req, reply) =>
    send(reply, {
      title: 'DCX',
      description: 'Indicators (STIX indicator) and best-practice notes (STIX report), per audience.',
      versions: [TAXII_MEDIA_TYPE],
      max_content_length: MAX_CONTENT_LENGTH,
    }),
  )

  app.get(`/${API_ROOT}/status/:id/`, { schema: { ...hide, operationId: 'taxiiGetStatus', params: statusParams, querystring: noQuery } }, async (req, reply) =>
    send(reply, await service.status(req.ctx, req.params.id)),
  )

  app.get(`/${API_ROOT}/collections/`, { schema: { ...hide, operationId: 'taxiiListCollections', querystring: noQuery } }, async (req, reply) => {
    const cs = await service.collections(req.ctx)
    return send(reply, { collections: cs.map(toTaxiiCollection) })
  })

  app.get(
    `/${API_ROOT}/collections/:id/`,
    { schema: { ...hide, operationId: 'taxiiGetCollection', params: collectionParams, querystring: noQuery } },
    async (req, reply) => send(reply, toTaxiiCollection(await service.collection(req.ctx, req.params.id))),
  )

  app.get(
    `/${API_ROOT}/collections/:id/manifest/`,
    { schema: { ...hide, operationId: 'taxiiGetManifest', params: collectionParams, querystring: listQuery } },
    async (req, reply) => {
      const out = await service.manifest(req.ctx, req.params.id, req.query)
      const objects = out.entries.map((e) => ({ id: e.id, date_added: e.dateAdded, version: e.version, media_type: 'application/stix+json;version=2.1' }))
      return send(reply, { more: out.more, ...(out.next ? { next: out.next } : {}), ...(objects.length ? { objects } : {}) }, out.entries)
    },
  )

  app.get(
    `/${API_ROOT}/collections/:id/objects/`,
    { schema: { ...hide, operationId: 'taxiiGetObjects', params: collectionParams, querystring: listQuery } },
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
      schema: { ...hide, operationId: 'taxiiAddObjects', params: collectionParams, querystring: noQuery, body: pushBody },
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
    { schema: { ...hide, operationId: 'taxiiGetObject', params: objectParams, querystring: objectQuery } },
    async (req, reply) => {
      guardConsultation<{ object: unknown } | undefined>(req, 'a personal-data indicator', (o) => !!o && stixPersonal([o.object]))
      const found = await service.object(req.ctx, req.params.id, req.params.objectId, req.query)
      return send(reply, { more: false, objects: [found.object] }, [found])
    },
  )

  app.delete(
    `/${API_ROOT}/collections/:id/objects/:objectId/`,
    { schema: { ...hide, operationId: 'taxiiDeleteObject', params: objectParams, querystring: objectQuery } },
    async (req, reply) => {
      await service.revoke(req.ctx, req.params.id, req.params.objectId, req.query)
      return sendTaxii(reply.code(200), undefined)
    },
  )

  app.get(
    `/${API_ROOT}/collections/:id/objects/:objectId/versions/`,
    { schema: { ...hide, operationId: 'taxiiGetVersions', params: objectParams, querystring: versionsQuery } },
    async (req, reply) => {
      const found = await service.versions(req.ctx, req.params.id, req.params.objectId, req.query)
      return send(reply, { more: false, versions: [found.version] }, [found])
    },
  )
}

export default routes
