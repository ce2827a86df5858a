// H2 share requests (DESIGN §7, "Handling codes"): a recipient who can see an item asks its owner
// to let a further organisation see it; the owner approves (that organisation joins the item's
// granted_to, the explicit-grant path of the one visibility definition, dcx_can_see) or refuses,
// with a reason. Both sides see the request and its outcome.
//
// Decided here: any code may be asked about (for H2 it is the only way onward; for the others it
// is a courtesy path), contributors and above of the requesting organisation ask, contributors and
// above of the owner organisation decide (like every other write on the item); the owner itself
// cannot ask (409: it changes the distribution instead); one pending request per item and
// organisation (409); a request for an organisation already granted is 409; an item the caller
// cannot see is 404, and so is a decision on a request the caller's organisation does not own.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { and, desc, eq, or, sql, type SQL } from 'drizzle-orm'
import { z } from 'zod'
import { organisations, shareRequests, type ShareRequestRow } from '../../db/schema/index.js'
import type { Ctx } from '../../access/scope.js'
import { conflict, notFound } from '../../core/errors.js'
import { afterCreated, pageOf } from '../../core/paging.js'
import { idParams, page, problems, timestamp, uuid } from '../../core/schemas.js'
import { invalidFields } from '../indicators/indicators.rules.js'
import { touched } from '../indicators/indicators.service.js'
import { ownedItem, tableOf, visibleItem, type ItemKind } from './items.js'

const STATUSES = ['pending', 'approved', 'refused'] as const

export const shareRequest = z
  .object({
    id: uuid,
    itemKind: z.enum(['indicator', 'note']),
    itemId: uuid,
    ownerOrganisationId: uuid,
    requesterOrganisationId: uuid,
    organisationId: uuid.describe('The further organisation the item would be shared with'),
    reason: z.string(),
    status: z.enum(STATUSES),
    requestedBy: uuid,
    decidedBy: uuid.nullable(),
    decidedAt: timestamp.nullable(),
    decisionReason: z.string().nullable(),
    createdAt: timestamp,
  })
  .meta({ id: 'ShareRequest' })
export const shareRequestCreate = z
  .object({
    organisationId: z.uuid().describe('The further organisation that should see the item'),
    reason: z.string().trim().min(3).max(1000).describe('Why it needs the item, e.g. a joint case'),
  })
  .strict()
  .meta({ id: 'ShareRequestCreate' })
const decision = z
  .object({ reason: z.string().trim().min(3).max(1000).optional() })
  .strict()
  .meta({ id: 'ShareRequestApproval' })
const refusal = z
  .object({ reason: z.string().trim().min(3).max(1000) })
  .strict()
  .meta({ id: 'ShareRequestRefusal' })
const listQuery = z
  .object({
    direction: z
      .enum(['incoming', 'outgoing'])
      .optional()
      .describe("incoming: requests about your organisation's items; outgoing: your organisation's requests"),
    status: z.enum(STATUSES).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().min(1).max(512).optional(),
  })
  .strict()
const shareRequestPage = page(shareRequest).meta({ id: 'ShareRequestPage' })
type ShareRequest = z.infer<typeof shareRequest>

const toShareRequest = (r: ShareRequestRow): ShareRequest => ({
  id: r.id,
  itemKind: r.itemKind as ItemKind,
  itemId: r.itemId,
  ownerOrganisationId: r.ownerOrganisationId,
  requesterOrganisationId: r.requesterOrganisationId,
  organisationId: r.organisationId,
  reason: r.reason,
  status: r.status as ShareRequest['status'],
  requestedBy: r.requestedBy,
  decidedBy: r.decidedBy,
  decidedAt: r.decidedAt?.toISOString() ?? null,
  decisionReason: r.decisionReason,
  createdAt: r.createdAt.toISOString(),
})

export const shareRequestsService = {
  async create(ctx: Ctx, kind: ItemKind, itemId: string, input: z.infer<typeof shareRequestCreate>) {
    return ctx.tx(async (tx, audit) => {
      const item = await visibleItem(tx, kind, itemId)
      const me = ctx.actor.organisationId
      if (item.organisationId === me) throw conflict(`Your organisation owns this ${kind}: change its distribution instead of asking.`)
      if (input.organisationId === me || input.organisationId === item.organisationId) {
        throw invalidFields([{ name: 'body.organisationId', reason: 'name a further organisation: neither yours nor the owner' }])
      }
      const [org] = await tx.select({ id: organisations.id }).from(organisations).where(eq(organisations.id, input.organisationId))
      if (!org) throw invalidFields([{ name: 'body.organisationId', reason: 'no organisation with that id' }])
      if (item.grantedTo.includes(input.organisationId)) throw conflict('That organisation has already been granted this item.')
      const [row] = await tx
        .insert(shareRequests)
        .values({
          itemKind: kind,
          itemId,
          ownerOrganisationId: item.organisationId,
          requesterOrganisationId: me,
          organisationId: input.organisationId,
          reason: input.reason,
          requestedBy: ctx.actor.accountId,
        })
        .onConflictDoNothing()
        .returning()
      if (!row) throw conflict('A request to share this item with that organisation is already pending.')
      audit.set({ resourceId: row.id, details: { itemKind: kind, itemId, organisationId: input.organisationId } })
      return toShareRequest(row)
    })
  },

  async list(ctx: Ctx, q: z.infer<typeof listQuery>) {
    const me = ctx.actor.organisationId
    const s = shareRequests
    const where: (SQL | undefined)[] = [
      q.direction === 'incoming'
        ? eq(s.ownerOrganisationId, me)
        : q.direction === 'outgoing'
          ? eq(s.requesterOrganisationId, me)
          : or(eq(s.ownerOrganisationId, me), eq(s.requesterOrganisationId, me)),
      q.status ? eq(s.status, q.status) : undefined,
      q.cursor ? afterCreated(q.cursor, s.createdAt, s.id, 'desc') : undefined,
    ]
    return ctx.tx(async (tx, audit) => {
      const rs = await tx
        .select()
        .from(s)
        .where(and(...where))
        .orderBy(desc(s.createdAt), desc(s.id))
        .limit(q.limit + 1)
      const out = pageOf(rs, q.limit, toShareRequest)
      const { cursor: _c, ...filters } = q
      audit.set({ details: { filters, returned: out.items.length } })
      return out
    })
  },

  async decide(ctx: Ctx, id: string, verdict: 'approved' | 'refused', reason: string | undefined) {
    return ctx.tx(async (tx, audit) => {
      const [req] = await tx
        .select()
        .from(shareRequests)
        .where(and(eq(shareRequests.id, id), eq(shareRequests.ownerOrganisationId, ctx.actor.organisationId)))
        .for('update')
      if (!req) throw notFound('share request')
      if (req.status !== 'pending') throw conflict(`This share request was already ${req.status}.`)
      const kind = req.itemKind as ItemKind
      if (verdict === 'approved') {
        const item = await ownedItem(tx, ctx, kind, req.itemId)
        if (!item.grantedTo.includes(req.organisationId)) {
          const t = tableOf(kind)
          // The grant is a change of the item's audience: a new version, in the change feed.
          await tx
            .update(t)
            .set({ grantedTo: sql`array_append(${t.grantedTo}, ${req.organisationId}::uuid)`, version: item.version + 1, ...touched() })
            .where(eq(t.id, item.id))
        }
      }
      const [row] = await tx
        .update(shareRequests)
        .set({ status: verdict, decidedBy: ctx.actor.accountId, decidedAt: new Date(), decisionReason: reason ?? null })
        .where(eq(shareRequests.id, id))
        .returning()
      audit.set({ details: { itemKind: kind, itemId: req.itemId, organisationId: req.organisationId, ...(reason ? { reason } : {}) } })
      return toShareRequest(row as ShareRequestRow)
    })
  },
}

export const shareRequestRoutes: FastifyPluginAsyncZod = async (app) => {
  for (const [kind, path, Name] of [
    ['indicator', '/indicators/:id/share-requests', 'Indicator'],
    ['note', '/notes/:id/share-requests', 'Note'],
  ] as const) {
    app.post(
      path,
      {
        schema: {
          tags: ['handling'],
          operationId: `create${Name}ShareRequest`,
          summary: `Ask the owner to share this ${kind} with a further organisation (a recipient's contributor or above)`,
          params: idParams,
          body: shareRequestCreate,
          response: { 201: shareRequest, ...problems(400, 401, 403, 404, 409, 429, 500) },
        },
      },
      async (req, reply) => reply.code(201).send(await shareRequestsService.create(req.ctx, kind, req.params.id, req.body)),
    )
  }
  app.get(
    '/share-requests',
    {
      schema: {
        tags: ['handling'],
        operationId: 'listShareRequests',
        summary: "Share requests about your organisation's items (incoming) and by your organisation (outgoing), newest first",
        querystring: listQuery,
        response: { 200: shareRequestPage, ...problems(400, 401, 403, 429, 500) },
      },
    },
    async (req) => shareRequestsService.list(req.ctx, req.query),
  )
  app.post(
    '/share-requests/:id/approve',
    {
      schema: {
        tags: ['handling'],
        operationId: 'approveShareRequest',
        summary: 'Approve: the organisation named is granted the item (the owner organisation’s contributor or above)',
        params: idParams,
        body: decision,
        response: { 200: shareRequest, ...problems(400, 401, 403, 404, 409, 429, 500) },
      },
    },
    async (req) => shareRequestsService.decide(req.ctx, req.params.id, 'approved', req.body.reason),
  )
  app.post(
    '/share-requests/:id/refuse',
    {
      schema: {
        tags: ['handling'],
        operationId: 'refuseShareRequest',
        summary: 'Refuse, with a reason the requester sees (the owner organisation’s contributor or above)',
        params: idParams,
        body: refusal,
        response: { 200: shareRequest, ...problems(400, 401, 403, 404, 409, 429, 500) },
      },
    },
    async (req) => shareRequestsService.decide(req.ctx, req.params.id, 'refused', req.body.reason),
  )
}
