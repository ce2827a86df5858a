// Oblivious screening over HTTP (DESIGN.md §8): keys, the caller's tag digest, batch evaluate,
// resolve of local hits, and the owner's disclosure notices.
import type { FastifyReply } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { problems } from '../../core/schemas.js'
import { justificationOf, requireWhen } from '../../access/justification.js'
import { isPersonalType } from '../indicators/personal-data.js'
import {
  digestQuery,
  digestResponse,
  disclosurePage,
  disclosureQuery,
  evaluateRequest,
  evaluateResponse,
  keysResponse,
  resolveRequest,
  resolveResponse,
} from './screening.schemas.js'
import { digestMessage, listDisclosures, screeningDigest, screeningEvaluate, screeningKeys, screeningResolve } from './screening.service.js'

const tags = ['screening']
const OCTETS = 'application/octet-stream'

const routes: FastifyPluginAsyncZod = async (app) => {
  const deps = () => ({ keys: app.screening.keys, dailyQuota: app.config.screening.dailyQuota })

  app.get(
    '/screening/keys',
    {
      schema: {
        tags,
        operationId: 'getScreeningKeys',
        summary: 'The VOPRF public key of the current epoch (ristretto255-SHA512, RFC 9497 mode 0x01) and earlier epochs still accepted',
        response: { 200: keysResponse, ...problems(401, 403, 429, 500) },
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-cache')
      return screeningKeys(deps())
    },
  )

  app.get(
    '/screening/digest',
    {
      schema: {
        tags,
        operationId: 'getScreeningDigest',
        summary:
          'The caller’s tag digest of one type: the truncated OPRF tags of the holdings it may match, sorted, no ids. ' +
          'Accept: application/octet-stream gives the raw tags (8 bytes each, epoch in DCX-Screening-Epoch); ETag / If-None-Match → 304',
        produces: ['application/json', OCTETS],
        querystring: digestQuery,
        response: { 200: digestResponse, ...problems(400, 401, 403, 429, 500) },
      },
    },
    async (req, reply) => {
      const octets = (req.headers.accept ?? '').split(',').some((a) => a.trim().split(';')[0] === OCTETS)
      const d = await screeningDigest(req.ctx, deps(), req.query.type, octets ? 'octets' : 'json', req.headers['if-none-match'])
      reply.header('etag', d.etag).header('cache-control', 'private, no-cache').header('vary', 'accept').header('dcx-screening-epoch', String(d.epoch))
      if (d.notModified) return (reply as unknown as FastifyReply).code(304).send()
      if (octets) return reply.type(OCTETS).send(d.packed as unknown as never)
      return digestMessage(d) as never
    },
  )

  app.post(
    '/screening/evaluate',
    {
      // 10,000 elements are about 470 kB of JSON; over the default limit, so a batch slot is taken (plugins/batch-limit.ts).
      bodyLimit: 2 * 1024 * 1024,
      schema: {
        tags,
        operationId: 'evaluateScreening',
        summary:
          'Evaluate up to 10,000 blinded elements with the epoch’s key: the evaluated elements and one batch DLEQ proof. ' +
          'Counted against the organisation’s daily quota (429 beyond); audited with counts and DCX-Justification, never values',
        body: evaluateRequest,
        response: { 200: evaluateResponse, ...problems(400, 401, 403, 413, 429, 500) },
      },
    },
    async (req) =>
      screeningEvaluate(req.ctx, deps(), req.body, requireWhen(req, isPersonalType(req.body.type), 'screening personal data') ?? justificationOf(req)),
  )

  app.post(
    '/screening/resolve',
    {
      schema: {
        tags,
        operationId: 'resolveScreening',
        summary:
          'Resolve local hits (up to 1,000 tags): the matching holdings the caller may match, with contact cards. ' +
          'Each holding disclosed to the caller is recorded and its owner notified',
        body: resolveRequest,
        response: { 200: resolveResponse, ...problems(400, 401, 403, 429, 500) },
      },
    },
    async (req) =>
      screeningResolve(req.ctx, deps(), req.body, {
        justification: requireWhen(req, isPersonalType(req.body.type), 'resolving screening hits on personal data') ?? justificationOf(req),
        requestId: req.id,
      }),
  )

  app.get(
    '/screening/disclosures',
    {
      schema: {
        tags,
        operationId: 'listScreeningDisclosures',
        summary: 'The caller’s organisation’s holdings that screening resolves disclosed to other organisations, newest first',
        querystring: disclosureQuery,
        response: { 200: disclosurePage, ...problems(400, 401, 403, 429, 500) },
      },
    },
    async (req) => listDisclosures(req.ctx, req.query),
  )
}

export default routes
