// STIX 2.1 in and out of DCX: GET /v1/export/stix (a bundle of what the caller may see, streamed;
// signed on request) and POST /v1/import/stix (a bundle's indicators become the caller's).
import { Readable } from 'node:stream'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { problems } from '../../core/schemas.js'
import { idempotent } from '../../access/idempotency.js'
import { afterBulkLoad } from '../../db/maintenance.js'
import { withActor } from '../../access/visibility.js'
import { invalidFields, placementProblems } from '../indicators/indicators.rules.js'
import { assertUsableGroup } from '../sharing-groups/sharing-groups.service.js'
import { STIX_MEDIA_TYPE } from './stix.constants.js'
import { bundleChunks, planExport } from './stix.export.js'
import { countByStatus, importObjects } from './stix.import.js'
import { exportQuery, importQuery, importResponse, stixBundle } from './stix.schemas.js'
import { signDetached } from './stix.sign.js'
import { requireWhen } from '../../access/justification.js'
import { isPersonalType } from '../indicators/personal-data.js'

// A bundle may hold 10,000 objects (stixBundle); a DCX export's indicator is about 1 kB (more
// with a long description), so 10,000 of them need more than the 8 MiB bulk and match allow.
export const IMPORT_BODY_LIMIT = 32 * 1024 * 1024

// Filed under indicators: the OpenAPI tag list (src/plugins/openapi.ts) has no interoperability tag yet.
const tags = ['indicators']

const routes: FastifyPluginAsyncZod = async (app) => {
  // Bundles arrive as application/stix+json as often as application/json; same safe JSON parser.
  app.addContentTypeParser('application/stix+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'))

  app.get(
    '/export/stix',
    {
      schema: {
        tags,
        operationId: 'exportStix',
        summary:
          'A STIX 2.1 bundle of the indicators, notes and sightings the caller may see (reader; list filters apply); ?signed=true adds a detached JWS in X-DCX-Signature and is evidential: H1 items of other organisations without their consent are left out, X-DCX-Withheld says how many',
        produces: [STIX_MEDIA_TYPE],
        querystring: exportQuery,
        response: { 200: z.string().describe('A STIX 2.1 bundle'), ...problems(400, 401, 403, 429, 500) },
      },
    },
    async (req, reply) => {
      const actor = req.actor
      const plan = planExport(req.query) // a bad filter is a 400 before any byte is sent
      // A stream cannot be taken back: an export that may hold personal data (no type filter, or a
      // personal-data type) needs its justification before the first byte.
      requireWhen(req, !req.query.type || isPersonalType(req.query.type), 'an export that may hold personal-data indicators')
      const { signed: _s, ...filters } = req.query
      const stamp = new Date().toISOString().replaceAll(':', '-')
      reply.type(STIX_MEDIA_TYPE).header('content-disposition', `attachment; filename="dcx-export-${stamp}.json"`).header('cache-control', 'no-store')
      const stats: { objects: number; withheld?: number } = { objects: 0 }
      if (req.query.signed === 'true') {
        // The signature covers the exact bytes, so a signed export is assembled (in one
        // transaction) before it is sent; its digest goes into the audit event. The signing key
        // is confirmed current first, outside the transaction.
        await app.keys.fresh()
        // Evidential: other organisations' H1 items without the provider's consent stay out.
        stats.withheld = 0
        const out = await req.ctx.tx(async (tx, audit) => {
          let text = ''
          for await (const chunk of bundleChunks((fn) => fn(tx), actor, plan, stats)) text += chunk
          const bytes = Buffer.from(text, 'utf8')
          const sig = signDetached(app.keys, bytes)
          audit.set({ details: { filters, signed: true, objects: stats.objects, withheld: stats.withheld, sha256: sig.sha256, kid: sig.kid } })
          return { bytes, jws: sig.jws }
        })
        reply.header('x-dcx-signature', out.jws).header('x-dcx-withheld', String(stats.withheld))
        return reply.send(out.bytes as unknown as string)
      }
      // Unsigned: the audit event is written first (fail closed), then pages stream, each read in
      // its own transaction carrying the caller.
      await req.ctx.tx(async (_tx, audit) => audit.set({ details: { filters, signed: false } }))
      const chunks = bundleChunks((fn) => withActor(app.db, actor, fn), actor, plan, stats)
      return reply.send(Readable.from(chunks) as unknown as string)
    },
  )

  app.post(
    '/import/stix',
    {
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        tags,
        operationId: 'importStix',
        summary:
          "Import a STIX 2.1 bundle: indicators whose patterns map to a DCX type become your organisation's (contributor); one result per object; Idempotency-Key supported",
        consumes: ['application/json', 'application/stix+json'],
        headers: z.object({ 'idempotency-key': z.string().optional() }),
        querystring: importQuery,
        body: stixBundle,
        response: { 200: importResponse, ...problems(400, 401, 403, 413, 415, 422, 429, 500) },
      },
    },
    async (req, reply) => {
      const q = req.query
      const placement = { distribution: q.distribution, sharingGroupId: q.sharingGroupId ?? null, tlp: q.tlp }
      const problemsFound = placementProblems({ tlp: q.tlp ?? 'amber', distribution: q.distribution, sharingGroupId: q.sharingGroupId }, 'query')
      if (problemsFound.length) throw invalidFields(problemsFound)
      const out = await idempotent(req, async (tx, audit) => {
        if (q.distribution === 'sharing_group') await assertUsableGroup(tx, req.actor.organisationId, q.sharingGroupId, 'query.sharingGroupId')
        const results = await importObjects(tx, req.ctx, req.body.objects, placement)
        const counts = countByStatus(results)
        audit.set({ details: { bundle: req.body.id, submitted: results.length, ...counts, distribution: q.distribution, tlp: q.tlp ?? null } })
        return { status: 200, body: { results, counts } }
      })
      if (out.replayed) reply.header('idempotent-replayed', 'true')
      // Committed: a large import is analysed now (db/maintenance.ts).
      else afterBulkLoad('indicators', out.body.counts.created)
      return out.body
    },
  )
}

export default routes
