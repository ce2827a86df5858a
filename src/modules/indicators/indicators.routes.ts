import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { idParams, problems } from '../../core/schemas.js'
import { etag, ifMatchVersion } from '../../core/etag.js'
import { idempotent } from '../../access/idempotency.js'
import { afterBulkLoad } from '../../db/maintenance.js'
import { indicatorsService as service } from './indicators.service.js'
import { bulkCreate, matchValues, prepareMatch } from './indicators.batch.js'
import { sightingsService } from './sightings.service.js'
import { guardConsultation, requireWhen } from '../../access/justification.js'
import { anyPersonal } from './personal-data.js'
import {
  bulkRequest,
  bulkResponse,
  indicator,
  indicatorCreate,
  indicatorListQuery,
  indicatorPage,
  indicatorPatch,
  matchRequest,
  matchResponse,
  sighting,
  sightingCreate,
  sightingSummary,
} from './indicators.schemas.js'

const tags = ['indicators']
const idem = z.object({ 'idempotency-key': z.string().optional() })
const ifMatch = z.object({ 'if-match': z.string().optional() })

const routes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/indicators',
    {
      schema: {
        tags,
        operationId: 'listIndicators',
        summary: 'Indicators the caller may see, newest first, with filters and full-text search',
        querystring: indicatorListQuery,
        response: { 200: indicatorPage, ...problems(400, 401, 403, 429, 500) },
      },
    },
    async (req) => {
      guardConsultation<{ items: { type: string }[] }>(req, 'a page holding personal-data indicators', (out) => anyPersonal(out?.items ?? []))
      return service.list(req.ctx, req.query)
    },
  )

  app.post(
    '/indicators',
    {
      schema: {
        tags,
        operationId: 'createIndicator',
        summary: "Post an indicator for the caller's organisation (contributor); Idempotency-Key supported",
        headers: idem,
        body: indicatorCreate,
        response: { 201: indicator, ...problems(400, 401, 403, 422, 429, 500) },
      },
    },
    async (req, reply) => {
      const out = await idempotent(req, async () => ({ status: 201, body: await service.create(req.ctx, req.body) }))
      if (out.replayed) reply.header('idempotent-replayed', 'true')
      reply.header('etag', etag(out.body.version)).header('location', `/v1/indicators/${out.body.id}`)
      return reply.code(201).send(out.body)
    },
  )

  app.post(
    '/indicators/bulk',
    {
      bodyLimit: 8 * 1024 * 1024,
      schema: {
        tags,
        operationId: 'bulkCreateIndicators',
        summary: 'Post up to 1,000 indicators; one result per item; valid items are committed even when others are invalid',
        headers: idem,
        body: bulkRequest,
        response: { 200: bulkResponse, ...problems(400, 401, 403, 413, 422, 429, 500) },
      },
    },
    async (req, reply) => {
      const out = await idempotent(req, async () => ({ status: 200, body: await bulkCreate(req.ctx, req.body.items) }))
      if (out.replayed) reply.header('idempotent-replayed', 'true')
      // Committed: a large load is analysed now, not at the next tick (db/maintenance.ts).
      else afterBulkLoad('indicators', out.body.results.filter((r) => r.status === 'created').length)
      return out.body
    },
  )

  app.post(
    '/indicators/match',
    {
      bodyLimit: 8 * 1024 * 1024,
      schema: {
        tags,
        operationId: 'matchIndicators',
        summary: 'Screen up to 10,000 values against the indicators the caller may see (match_only ones included)',
        body: matchRequest,
        response: { 200: matchResponse, ...problems(400, 401, 403, 413, 429, 500) },
      },
    },
    async (req) => {
      // Normalised once: what the justification check reads is what the match then looks up.
      const prepared = prepareMatch(req.body.values)
      requireWhen(req, prepared.personal, 'screening personal-data values')
      return matchValues(req.ctx, prepared)
    },
  )

  app.get(
    '/indicators/:id',
    {
      schema: { tags, operationId: 'getIndicator', params: idParams, response: { 200: indicator, ...problems(400, 401, 403, 404, 429, 500) } },
    },
    async (req, reply) => {
      guardConsultation<{ type: string } | undefined>(req, 'a personal-data indicator', (out) => anyPersonal([out]))
      const ind = await service.get(req.ctx, req.params.id)
      reply.header('etag', etag(ind.version))
      return ind
    },
  )

  app.patch(
    '/indicators/:id',
    {
      schema: {
        tags,
        operationId: 'updateIndicator',
        summary: 'Update an indicator of your organisation; If-Match for optimistic concurrency',
        params: idParams,
        headers: ifMatch,
        body: indicatorPatch,
        response: { 200: indicator, ...problems(400, 401, 403, 404, 409, 412, 429, 500) },
      },
    },
    async (req, reply) => {
      const ind = await service.update(req.ctx, req.params.id, req.body, ifMatchVersion(req.headers['if-match']))
      reply.header('etag', etag(ind.version))
      return ind
    },
  )

  app.delete(
    '/indicators/:id',
    {
      schema: {
        tags,
        operationId: 'revokeIndicator',
        summary: 'Revoke an indicator: kept, marked revoked, still visible to those who could see it',
        params: idParams,
        headers: ifMatch,
        response: { 200: indicator, ...problems(400, 401, 403, 404, 412, 429, 500) },
      },
    },
    async (req, reply) => {
      const ind = await service.revoke(req.ctx, req.params.id, ifMatchVersion(req.headers['if-match']))
      reply.header('etag', etag(ind.version))
      return ind
    },
  )

  app.get(
    '/indicators/:id/related',
    {
      schema: {
        tags,
        operationId: 'listRelatedIndicators',
        summary: "Correlation: other organisations' visible indicators with the same type and normalised value",
        params: idParams,
        response: { 200: indicatorPage, ...problems(400, 401, 403, 404, 429, 500) },
      },
    },
    async (req) => {
      guardConsultation<{ items: { type: string }[] }>(req, 'a page holding personal-data indicators', (out) => anyPersonal(out?.items ?? []))
      return service.related(req.ctx, req.params.id)
    },
  )

  app.get(
    '/indicators/:id/sightings',
    {
      schema: {
        tags,
        operationId: 'listSightings',
        summary: 'Sighting counts per organisation and outcome, and your own reports',
        params: idParams,
        response: { 200: sightingSummary, ...problems(400, 401, 403, 404, 429, 500) },
      },
    },
    async (req) => sightingsService.summary(req.ctx, req.params.id),
  )

  app.post(
    '/indicators/:id/sightings',
    {
      schema: {
        tags,
        operationId: 'reportSighting',
        summary: 'Report that your organisation met this indicator (contributor); Idempotency-Key supported',
        params: idParams,
        headers: idem,
        body: sightingCreate,
        response: { 201: sighting, ...problems(400, 401, 403, 404, 422, 429, 500) },
      },
    },
    async (req, reply) => {
      const out = await idempotent(req, async () => ({ status: 201, body: await sightingsService.report(req.ctx, req.params.id, req.body) }))
      if (out.replayed) reply.header('idempotent-replayed', 'true')
      return reply.code(201).send(out.body)
    },
  )
}

export default routes
