// Four-eyes publication: approve and send back (the rules: publication.ts).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { and, eq } from 'drizzle-orm'
import { z } from 'zod'
import { indicators, notes, type IndicatorRow, type NoteRow } from '../../db/schema/index.js'
import type { Tx } from '../../db/client.js'
import type { Ctx } from '../../access/scope.js'
import { AppError, conflict, notFound } from '../../core/errors.js'
import { idParams, problems } from '../../core/schemas.js'
import { touched } from '../indicators/indicators.service.js'
import { indicator } from '../indicators/indicators.schemas.js'
import { note } from '../notes/notes.schemas.js'
import { toIndicator } from '../indicators/indicators.rules.js'
import { saveRevision, toNote } from '../notes/notes.service.js'
import type { ItemKind } from './publication.js'

const table = (kind: ItemKind) => (kind === 'indicator' ? indicators : notes)

async function ownedDraft(tx: Tx, ctx: Ctx, kind: ItemKind, id: string) {
  const t = table(kind)
  const [row] = await tx
    .select()
    .from(t)
    .where(and(eq(t.id, id), eq(t.organisationId, ctx.actor.organisationId)))
    .for('update')
  if (!row) throw notFound(kind)
  if (row.status !== 'draft') throw conflict(`This ${kind} is not a draft (it is ${row.status}).`)
  if (row.createdBy === ctx.actor.accountId) {
    throw new AppError('forbidden', `Four-eyes rule: another account of your organisation (contributor or above), not the author, must review this draft.`)
  }
  return row as IndicatorRow | NoteRow
}

const out = (kind: ItemKind, row: IndicatorRow | NoteRow, viewer: string) =>
  kind === 'indicator' ? toIndicator(row as IndicatorRow, viewer) : toNote(row as NoteRow)

export const fourEyesService = {
  async approve(ctx: Ctx, kind: ItemKind, id: string, comment?: string) {
    return ctx.tx(async (tx, audit) => {
      const row = await ownedDraft(tx, ctx, kind, id)
      const t = table(kind)
      const [updated] = await tx
        .update(t)
        .set({
          status: kind === 'indicator' ? 'active' : 'published',
          sentBackReason: null,
          sentBackBy: null,
          sentBackAt: null,
          version: row.version + 1,
          ...touched(),
        })
        .where(eq(t.id, id))
        .returning()
      if (kind === 'note') await saveRevision(tx, updated as NoteRow, ctx.actor.accountId)
      audit.set({ details: { author: row.createdBy, version: updated?.version, ...(comment ? { comment } : {}) } })
      return out(kind, updated as IndicatorRow | NoteRow, ctx.actor.organisationId)
    })
  },

  async sendBack(ctx: Ctx, kind: ItemKind, id: string, reason: string) {
    return ctx.tx(async (tx, audit) => {
      const row = await ownedDraft(tx, ctx, kind, id)
      const t = table(kind)
      const [updated] = await tx
        .update(t)
        .set({ sentBackReason: reason, sentBackBy: ctx.actor.accountId, sentBackAt: new Date(), version: row.version + 1, updatedAt: new Date() })
        .where(eq(t.id, id))
        .returning()
      if (kind === 'note') await saveRevision(tx, updated as NoteRow, ctx.actor.accountId)
      audit.set({ details: { author: row.createdBy, reason, version: updated?.version } })
      return out(kind, updated as IndicatorRow | NoteRow, ctx.actor.organisationId)
    })
  },
}

const approveBody = z
  .object({ comment: z.string().trim().min(3).max(1000).optional().describe('Recorded in the audit event') })
  .strict()
  .optional()
  .meta({ id: 'Approval' })

const sendBackBody = z
  .object({ reason: z.string().trim().min(3).max(1000).describe('What the author should change; the organisation sees it on the draft') })
  .strict()
  .meta({ id: 'SendBack' })

export const fourEyesRoutes: FastifyPluginAsyncZod = async (app) => {
  for (const [kind, base, Name, schema] of [
    ['indicator', '/indicators/:id', 'Indicator', indicator],
    ['note', '/notes/:id', 'Note', note],
  ] as const) {
    const tags = [kind === 'indicator' ? 'indicators' : 'notes']
    app.post(
      `${base}/approve`,
      {
        schema: {
          tags,
          operationId: `approve${Name}`,
          summary: `Four-eyes: publish a draft ${kind} (another account of the owner organisation, contributor or above, not the author)`,
          params: idParams,
          body: approveBody,
          response: { 200: schema, ...problems(400, 401, 403, 404, 409, 429, 500) },
        },
      },
      async (req) => fourEyesService.approve(req.ctx, kind, req.params.id, req.body?.comment),
    )
    app.post(
      `${base}/send-back`,
      {
        schema: {
          tags,
          operationId: `sendBack${Name}`,
          summary: `Four-eyes: keep a draft ${kind} unpublished and tell its organisation why (another account, not the author)`,
          params: idParams,
          body: sendBackBody,
          response: { 200: schema, ...problems(400, 401, 403, 404, 409, 429, 500) },
        },
      },
      async (req) => fourEyesService.sendBack(req.ctx, kind, req.params.id, req.body.reason),
    )
  }
}
