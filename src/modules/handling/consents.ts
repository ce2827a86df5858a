// H1 consents (DESIGN §7, "Handling codes"): the provider's permission for one organisation to
// use an H1 item in judicial proceedings. An evidential (signed) export leaves out every H1 item
// of another organisation that has not given the requesting organisation its consent, and says
// how many it left out, never which (stix.routes.ts, withheldH1 below).
//
// Decided here: only the owner organisation's org_admins record and list consents (others: 404,
// as for an item they cannot see; a reader or contributor: 403 by role); a consent names an
// organisation other than the owner, once per item (a second one is 409); it is recorded only
// while the item is H1 (409 otherwise) and stays if the code later changes and changes back.
// A consent is withdrawn, not deleted (migration 0024): the record keeps who withdrew it, when and
// why; it then lets no export include the item, and the organisation may be given a new one.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { and, asc, eq, inArray, isNull } from 'drizzle-orm'
import { z } from 'zod'
import { handlingConsents, organisations, type HandlingConsentRow } from '../../db/schema/index.js'
import type { Tx } from '../../db/client.js'
import type { Ctx } from '../../access/scope.js'
import { AppError, conflict } from '../../core/errors.js'
import { idParams, problems, timestamp, uuid } from '../../core/schemas.js'
import { invalidFields } from '../indicators/indicators.rules.js'
import { ownedItem, type ItemKind } from './items.js'

export const consent = z
  .object({
    id: uuid,
    itemKind: z.enum(['indicator', 'note']),
    itemId: uuid,
    organisationId: uuid.describe('The organisation that may use the H1 item in judicial proceedings'),
    purpose: z.string(),
    createdBy: uuid,
    createdAt: timestamp,
    withdrawnAt: timestamp.nullable().describe('When the owner withdrew it; null while it stands'),
    withdrawnBy: uuid.nullable(),
    withdrawalReason: z.string().nullable(),
  })
  .meta({ id: 'Consent' })
export const consentWithdrawal = z
  .object({ reason: z.string().trim().min(3).max(500).describe('Why the consent ends, e.g. the proceedings closed') })
  .strict()
  .meta({ id: 'ConsentWithdrawal' })
const consentParams = z.object({ id: z.uuid(), consentId: z.uuid() }).strict()
export const consentCreate = z
  .object({
    organisationId: z.uuid(),
    purpose: z.string().trim().min(3).max(500).describe('What the consent is for, e.g. a case or proceedings reference'),
  })
  .strict()
  .meta({ id: 'ConsentCreate' })
const consentList = z.object({ items: z.array(consent), nextCursor: z.string().nullable() }).meta({ id: 'ConsentList' })

const toConsent = (r: HandlingConsentRow): z.infer<typeof consent> => ({
  id: r.id,
  itemKind: r.itemKind as ItemKind,
  itemId: r.itemId,
  organisationId: r.organisationId,
  purpose: r.purpose,
  createdBy: r.createdBy,
  createdAt: r.createdAt.toISOString(),
  withdrawnAt: r.withdrawnAt?.toISOString() ?? null,
  withdrawnBy: r.withdrawnBy,
  withdrawalReason: r.withdrawalReason,
})

export const consentsService = {
  async create(ctx: Ctx, kind: ItemKind, itemId: string, input: z.infer<typeof consentCreate>) {
    return ctx.tx(async (tx, audit) => {
      const item = await ownedItem(tx, ctx, kind, itemId)
      if (input.organisationId === item.organisationId) {
        throw invalidFields([{ name: 'body.organisationId', reason: 'your own organisation needs no consent' }])
      }
      const [org] = await tx.select({ id: organisations.id }).from(organisations).where(eq(organisations.id, input.organisationId))
      if (!org) throw invalidFields([{ name: 'body.organisationId', reason: 'no organisation with that id' }])
      if (item.handlingCode !== 'H1') throw conflict(`This ${kind} has handling code ${item.handlingCode}; consents are for H1 items.`)
      const [row] = await tx
        .insert(handlingConsents)
        .values({
          itemKind: kind,
          itemId,
          ownerOrganisationId: item.organisationId,
          organisationId: input.organisationId,
          purpose: input.purpose,
          createdBy: ctx.actor.accountId,
        })
        .onConflictDoNothing()
        .returning()
      if (!row) throw conflict('That organisation already has a consent for this item.')
      audit.set({ resourceId: row.id, details: { itemKind: kind, itemId, organisationId: input.organisationId } })
      return toConsent(row)
    })
  },

  async withdraw(ctx: Ctx, kind: ItemKind, itemId: string, consentId: string, input: z.infer<typeof consentWithdrawal>) {
    return ctx.tx(async (tx, audit) => {
      await ownedItem(tx, ctx, kind, itemId)
      const where = and(eq(handlingConsents.id, consentId), eq(handlingConsents.itemId, itemId), eq(handlingConsents.itemKind, kind))
      const [row] = await tx
        .update(handlingConsents)
        .set({ withdrawnAt: new Date(), withdrawnBy: ctx.actor.accountId, withdrawalReason: input.reason })
        .where(and(where, isNull(handlingConsents.withdrawnAt)))
        .returning()
      if (!row) {
        const [existing] = await tx.select({ id: handlingConsents.id }).from(handlingConsents).where(where)
        throw existing ? conflict('This consent is already withdrawn.') : new AppError('not_found', 'No such consent on this item.')
      }
      audit.set({ resourceId: row.id, details: { itemKind: kind, itemId, organisationId: row.organisationId } })
      return toConsent(row)
    })
  },

  async list(ctx: Ctx, kind: ItemKind, itemId: string) {
    return ctx.tx(async (tx, audit) => {
      await ownedItem(tx, ctx, kind, itemId)
      const rs = await tx
        .select()
        .from(handlingConsents)
        .where(and(eq(handlingConsents.itemId, itemId), eq(handlingConsents.itemKind, kind)))
        .orderBy(asc(handlingConsents.createdAt), asc(handlingConsents.id))
        .limit(1000)
      audit.set({ details: { returned: rs.length } })
      return { items: rs.map(toConsent), nextCursor: null }
    })
  },
}

/**
 * The H1 items of other organisations among `items` that the caller's organisation has no
 * consent for: what an evidential export leaves out. Consents are read as the caller (row-level
 * security shows an organisation the consents given to it).
 */
export async function withheldH1(
  tx: Tx,
  callerOrganisationId: string,
  items: { id: string; organisationId: string; handlingCode: string }[],
): Promise<Set<string>> {
  const h1 = items.filter((i) => i.handlingCode === 'H1' && i.organisationId !== callerOrganisationId).map((i) => i.id)
  if (h1.length === 0) return new Set()
  const given = await tx
    .select({ itemId: handlingConsents.itemId })
    .from(handlingConsents)
    .where(and(eq(handlingConsents.organisationId, callerOrganisationId), inArray(handlingConsents.itemId, h1), isNull(handlingConsents.withdrawnAt)))
  const ok = new Set(given.map((g) => g.itemId))
  return new Set(h1.filter((id) => !ok.has(id)))
}

const KINDS = [
  ['indicator', '/indicators/:id/consents', 'Indicator'],
  ['note', '/notes/:id/consents', 'Note'],
] as const

export const consentRoutes: FastifyPluginAsyncZod = async (app) => {
  for (const [kind, path, Name] of KINDS) {
    const tags = [kind === 'indicator' ? 'indicators' : 'notes']
    app.post(
      path,
      {
        schema: {
          tags,
          operationId: `create${Name}Consent`,
          summary: `Consent that an organisation may use this H1 ${kind} in judicial proceedings (the owner's org_admin)`,
          params: idParams,
          body: consentCreate,
          response: { 201: consent, ...problems(400, 401, 403, 404, 409, 429, 500) },
        },
      },
      async (req, reply) => reply.code(201).send(await consentsService.create(req.ctx, kind, req.params.id, req.body)),
    )
    app.post(
      `${path}/:consentId/withdraw`,
      {
        schema: {
          tags,
          operationId: `withdraw${Name}Consent`,
          summary: `Withdraw a consent on this H1 ${kind} (the owner's org_admin); the record stays, marked withdrawn`,
          params: consentParams,
          body: consentWithdrawal,
          response: { 200: consent, ...problems(400, 401, 403, 404, 409, 429, 500) },
        },
      },
      async (req) => consentsService.withdraw(req.ctx, kind, req.params.id, req.params.consentId, req.body),
    )
    app.get(
      path,
      {
        schema: {
          tags,
          operationId: `list${Name}Consents`,
          summary: `The consents recorded for this ${kind} (the owner's org_admin)`,
          params: idParams,
          response: { 200: consentList, ...problems(400, 401, 403, 404, 429, 500) },
        },
      },
      async (req) => consentsService.list(req.ctx, kind, req.params.id),
    )
  }
}
