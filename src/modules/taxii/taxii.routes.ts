// A TAXII 2.1 server (OASIS TAXII 2.1, §4–§5) under /taxii2/: discovery, one API root (dcx),
// collections per audience, manifest, objects (GET, POST), object (GET, DELETE = revoke),
// versions, status. Registered as its own encapsulated plugin: its own authentication (Bearer or
// Basic), media types and error shape; the visibility rule and the audit trail are DCX's own —
// every pull and push runs in ctx.tx, which writes its audit event.
import { randomUUID } from 'node:crypto'
import type { FastifyReply } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { forbidden, AppError } from '../../core/errors.js'
import { indicatorsService } from '../indicators/indicators.service.js'
import { notesService } from '../notes/notes.service.js'
import { identityRef } from '../stix/stix.mapping.js'
import { countByStatus, importObjects } from '../stix/stix.import.js'
import { taxiiAuthenticator } from './taxii.auth.js'
import { findCollection, listCollections, toTaxiiCollection, type Collection } from './taxii.collections.js'
import { checkMediaTypes, sendTaxii, sendTaxiiError, TAXII_MEDIA_TYPE, taxiiErrorHandler } from './taxii.media.js'
import { findObject, page, parseFilter, type Entry } from './taxii.objects.js'
import { collectionParams, envelope, listQuery, noQuery, objectParams, objectQuery, statusParams, versionsQuery } from './taxii.schemas.js'
import { loadStatus, saveStatus, statusOf } from './taxii.status.js'

export const API_ROOT = 'dcx'
const MAX_CONTENT_LENGTH = 8 * 1024 * 1024

function send(reply: FastifyReply, body: unknown, entries?: Entry[]) {
  // The date_added span of what is returned, for clients that page by added_after (§3.4).
  if (entries?.length) {
    reply.header('x-taxii-date-added-first', entries[0]!.dateAdded).header('x-taxii-date-added-last', entries.at(-1)!.dateAdded)
  }
  return sendTaxii(reply, body)
}

const readable = (c: Collection) => {
  if (!c.canRead) throw forbidden('Your roles do not allow reading this collection.')
  return c
}

const routes: FastifyPluginAsyncZod = async (app) => {
  const authenticate = taxiiAuthenticator(app)
  app.setErrorHandler(taxiiErrorHandler)
  app.setNotFoundHandler((req, reply) => sendTaxiiError(reply, 404, 'not_found', `No TAXII resource at ${(req.url.split('?')[0] ?? '').slice(0, 200)}.`))
  app.addContentTypeParser('application/taxii+json', { parseAs: 'string', bodyLimit: MAX_CONTENT_LENGTH }, app.getDefaultJsonParser('error', 'error'))
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

  app.get(`/${API_ROOT}/status/:id/`, { schema: { ...hide, operationId: 'taxiiGetStatus', params: statusParams, querystring: noQuery } }, async (req, reply) => {
    const status = await req.ctx.tx((tx) => loadStatus(tx, req.actor, req.params.id))
    if (!status) throw new AppError('not_found', 'No status with that id exists for your organisation.')
    return send(reply, status)
  })

  app.get(`/${API_ROOT}/collections/`, { schema: { ...hide, operationId: 'taxiiListCollections', querystring: noQuery } }, async (req, reply) => {
    const cs = await req.ctx.tx(async (tx, audit) => {
      const all = await listCollections(tx, req.actor)
      audit.set({ details: { returned: all.length } })
      return all
    })
    return send(reply, { collections: cs.map(toTaxiiCollection) })
  })

  app.get(`/${API_ROOT}/collections/:id/`, { schema: { ...hide, operationId: 'taxiiGetCollection', params: collectionParams, querystring: noQuery } }, async (req, reply) => {
    const c = await req.ctx.tx((tx) => findCollection(tx, req.actor, req.params.id))
    return send(reply, toTaxiiCollection(c))
  })

  app.get(`/${API_ROOT}/collections/:id/manifest/`, { schema: { ...hide, operationId: 'taxiiGetManifest', params: collectionParams, querystring: listQuery } }, async (req, reply) => {
    const f = parseFilter(req.query)
    const out = await req.ctx.tx(async (tx, audit) => {
      const c = readable(await findCollection(tx, req.actor, req.params.id))
      const p = await page(tx, req.actor, c, f)
      audit.set({ details: { collection: c.distribution, query: req.query, returned: p.entries.length } })
      return p
    })
    const objects = out.entries.map((e) => ({ id: e.id, date_added: e.dateAdded, version: e.version, media_type: 'application/stix+json;version=2.1' }))
    return send(reply, { more: out.more, ...(out.next ? { next: out.next } : {}), ...(objects.length ? { objects } : {}) }, out.entries)
  })

  app.get(`/${API_ROOT}/collections/:id/objects/`, { schema: { ...hide, operationId: 'taxiiGetObjects', params: collectionParams, querystring: listQuery } }, async (req, reply) => {
    const f = parseFilter(req.query)
    const out = await req.ctx.tx(async (tx, audit) => {
      const c = readable(await findCollection(tx, req.actor, req.params.id))
      const p = await page(tx, req.actor, c, f)
      audit.set({ details: { collection: c.distribution, query: req.query, returned: p.entries.length, ids: p.entries.slice(0, 100).map((e) => e.id) } })
      return p
    })
    const objects = out.entries.map((e) => e.object)
    return send(reply, { more: out.more, ...(out.next ? { next: out.next } : {}), ...(objects.length ? { objects } : {}) }, out.entries)
  })

  app.post(`/${API_ROOT}/collections/:id/objects/`, {
    bodyLimit: MAX_CONTENT_LENGTH,
    schema: { ...hide, operationId: 'taxiiAddObjects', params: collectionParams, querystring: noQuery, body: envelope },
  }, async (req, reply) => {
    const requested = new Date()
    const objects = req.body.objects
    const status = await req.ctx.tx(async (tx, audit) => {
      const c = await findCollection(tx, req.actor, req.params.id)
      if (!c.canWrite) throw forbidden('Your roles do not allow writing to this collection (contributor needed).')
      const results = await importObjects(tx, req.ctx, objects, { distribution: c.distribution, sharingGroupId: c.groupId })
      const s = statusOf(randomUUID(), requested, objects, results)
      await saveStatus(tx, req.actor, c.id, s)
      audit.set({ details: { collection: c.distribution, submitted: objects.length, ...countByStatus(results), statusId: s.id } })
      return s
    })
    return send(reply.code(202), status)
  })

  app.get(`/${API_ROOT}/collections/:id/objects/:objectId/`, { schema: { ...hide, operationId: 'taxiiGetObject', params: objectParams, querystring: objectQuery } }, async (req, reply) => {
    const f = parseFilter(req.query)
    const found = await req.ctx.tx(async (tx, audit) => {
      const c = readable(await findCollection(tx, req.actor, req.params.id))
      const o = await findObject(tx, req.actor, c, req.params.objectId, f)
      audit.set({ details: { collection: c.distribution, objectId: req.params.objectId.slice(0, 100), returned: o ? 1 : 0 } })
      return o
    })
    if (!found) throw new AppError('not_found', 'No object with that id in this collection, or you may not see it.')
    return send(reply, { more: false, objects: [found.object] }, [found])
  })

  app.delete(`/${API_ROOT}/collections/:id/objects/:objectId/`, { schema: { ...hide, operationId: 'taxiiDeleteObject', params: objectParams, querystring: objectQuery } }, async (req, reply) => {
    const f = parseFilter(req.query)
    await req.ctx.tx(async (tx, audit) => {
      const c = await findCollection(tx, req.actor, req.params.id)
      if (!c.canWrite) throw forbidden('Your roles do not allow writing to this collection (contributor needed).')
      const o = await findObject(tx, req.actor, c, req.params.objectId, f)
      // Writes are owner-only: another organisation's object answers 404, like a missing one.
      if (!o || o.object.created_by_ref !== identityRef(req.actor.organisationId)) {
        throw new AppError('not_found', 'No object of your organisation with that id in this collection.')
      }
      audit.set({ details: { collection: c.distribution, objectId: o.id, revoked: true } })
      // DELETE revokes: the item is kept, marked revoked, and exported with a new version.
      if (o.kind === 'indicator') await indicatorsService.revoke(req.ctx, o.dcxId, undefined)
      else await notesService.revoke(req.ctx, o.dcxId, undefined)
    })
    return sendTaxii(reply.code(200), undefined)
  })

  app.get(`/${API_ROOT}/collections/:id/objects/:objectId/versions/`, { schema: { ...hide, operationId: 'taxiiGetVersions', params: objectParams, querystring: versionsQuery } }, async (req, reply) => {
    const f = parseFilter(req.query)
    const found = await req.ctx.tx(async (tx, audit) => {
      const c = readable(await findCollection(tx, req.actor, req.params.id))
      const o = await findObject(tx, req.actor, c, req.params.objectId, f)
      audit.set({ details: { collection: c.distribution, objectId: req.params.objectId.slice(0, 100), returned: o ? 1 : 0 } })
      return o
    })
    if (!found) throw new AppError('not_found', 'No object with that id in this collection, or you may not see it.')
    // DCX keeps the current version of each item only.
    return send(reply, { more: false, versions: [found.version] }, [found])
  })
}

export default routes
