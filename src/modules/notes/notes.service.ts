// Best-practice notes: how a customs service profiles parcels, how a prosecutor got a bitcoin
// seizure through court. Same visibility rule as indicators; every version kept as a revision.
import { and, asc, desc, eq, type SQL } from 'drizzle-orm'
import { noteRevisions, notes, type NoteRevisionRow, type NoteRow } from '../../db/schema/index.js'
import type { Tx } from '../../db/client.js'
import type { Ctx } from '../../access/scope.js'
import { notFound } from '../../core/errors.js'
import { afterCreated, pageOf } from '../../core/paging.js'
import { preconditionFailed } from '../../core/etag.js'
import { canSee } from '../../access/visibility.js'
import { assertUsableGroup } from '../sharing-groups/sharing-groups.service.js'
import { invalidFields, placementProblems } from '../indicators/indicators.rules.js'
import { touched } from '../indicators/indicators.service.js'
import { handlingProblems, mergedHandling } from '../handling/handling.js'
import { draftOnCreate, refuseUnreviewedWidening, reviewOf } from '../handling/publication.js'
import { noteColumns, noteFilters } from './notes.repository.js'
import type { Note, NoteCreate, NoteListQuery, NotePatch } from './notes.schemas.js'
import { reviewByProblems, reviewStatusOf } from '../retention/review-by.js'
import { recordReceipts, retractionOf, sendRetractions } from '../retention/receipts.js'

const columns = noteColumns

/** The content of a version: shared by the note itself and every revision of it. */
function content(r: NoteRow | NoteRevisionRow) {
  return {
    title: r.title,
    summary: r.summary,
    body: r.body,
    topics: r.topics as Note['topics'],
    sectors: r.sectors as Note['sectors'],
    language: r.language,
    tlp: r.tlp as Note['tlp'],
    distribution: r.distribution as Note['distribution'],
    sharingGroupId: r.sharingGroupId,
    handlingCode: r.handlingCode as Note['handlingCode'],
    handlingNote: r.handlingNote,
    status: r.status as Note['status'],
    version: r.version,
  }
}

export function toNote(r: NoteRow): Note {
  return {
    id: r.id,
    organisationId: r.organisationId,
    ...content(r),
    review: reviewOf(r),
    reviewBy: r.reviewBy.toISOString(),
    reviewStatus: reviewStatusOf(r.status, r.reviewBy),
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  }
}

async function findReadable(tx: Tx, ctx: Ctx, id: string) {
  const [row] = await tx
    .select(columns)
    .from(notes)
    .where(and(eq(notes.id, id), canSee(notes)))
  if (!row) throw notFound('note')
  return row as NoteRow
}

async function findOwned(tx: Tx, ctx: Ctx, id: string) {
  const [row] = await tx
    .select(columns)
    .from(notes)
    .where(and(eq(notes.id, id), eq(notes.organisationId, ctx.actor.organisationId)))
    .for('update')
  if (!row) throw notFound('note')
  return row as NoteRow
}

export async function saveRevision(tx: Tx, r: NoteRow, editedBy: string | null) {
  await tx.insert(noteRevisions).values({
    noteId: r.id,
    organisationId: r.organisationId,
    version: r.version,
    title: r.title,
    summary: r.summary,
    body: r.body,
    topics: r.topics,
    sectors: r.sectors,
    language: r.language,
    tlp: r.tlp,
    distribution: r.distribution,
    sharingGroupId: r.sharingGroupId,
    handlingCode: r.handlingCode,
    handlingNote: r.handlingNote,
    grantedTo: r.grantedTo,
    status: r.status,
    editedBy,
  })
}

export const notesService = {
  async create(ctx: Ctx, input: NoteCreate) {
    const problems = [...placementProblems(input), ...handlingProblems(input), ...reviewByProblems(input.reviewBy, 'body.reviewBy')]
    if (problems.length) throw invalidFields(problems)
    return ctx.tx(async (tx, audit) => {
      if (input.distribution === 'sharing_group') await assertUsableGroup(tx, ctx.actor.organisationId, input.sharingGroupId, 'body.sharingGroupId')
      const status = (await draftOnCreate(tx, 'note', [{ organisationId: ctx.actor.organisationId, tlp: input.tlp }]))[0]?.status ?? 'published'
      const [row] = await tx
        .insert(notes)
        .values({
          status,
          ...input,
          handlingNote: input.handlingNote ?? null,
          reviewBy: input.reviewBy ? new Date(input.reviewBy) : undefined,
          sharingGroupId: input.sharingGroupId ?? null,
          organisationId: ctx.actor.organisationId,
          createdBy: ctx.actor.accountId,
        })
        .returning(columns)
      await saveRevision(tx, row as NoteRow, ctx.actor.accountId)
      audit.set({ resourceId: row?.id, details: { title: input.title, tlp: input.tlp, distribution: input.distribution } })
      return toNote(row as NoteRow)
    })
  },

  async get(ctx: Ctx, id: string) {
    return ctx.tx(async (tx) => {
      const row = await findReadable(tx, ctx, id)
      await recordReceipts(tx, 'note', ctx.actor.organisationId, [row])
      return toNote(row)
    })
  },

  async list(ctx: Ctx, q: NoteListQuery) {
    const where: (SQL | undefined)[] = noteFilters(q)
    // Newest first by creation: new items land before page one, so later pages never shift.
    if (q.cursor) where.push(afterCreated(q.cursor, notes.createdAt, notes.id, 'desc'))
    return ctx.tx(async (tx, audit) => {
      const rs = (await tx
        .select(columns)
        .from(notes)
        .where(and(...where))
        .orderBy(desc(notes.createdAt), desc(notes.id))
        .limit(q.limit + 1)) as NoteRow[]
      const { cursor: _c, limit, ...filters } = q
      const page = pageOf(rs, limit, toNote)
      await recordReceipts(tx, 'note', ctx.actor.organisationId, page.items)
      audit.set({ details: { filters, limit, returned: page.items.length } })
      return page
    })
  },

  async update(ctx: Ctx, id: string, patch: NotePatch, expected: number | undefined) {
    return ctx.tx(async (tx, audit) => {
      const row = await findOwned(tx, ctx, id)
      if (expected !== undefined && expected !== row.version) throw preconditionFailed(row.version)
      const distribution = patch.distribution ?? (row.distribution as Note['distribution'])
      const sharingGroupId = patch.sharingGroupId !== undefined ? patch.sharingGroupId : distribution !== 'sharing_group' ? null : row.sharingGroupId
      const placement = { tlp: patch.tlp ?? (row.tlp as Note['tlp']), distribution, sharingGroupId }
      const handling = mergedHandling(row, patch)
      const problems = [...placementProblems(placement), ...handlingProblems(handling), ...reviewByProblems(patch.reviewBy, 'body.reviewBy')]
      if (problems.length) throw invalidFields(problems)
      await refuseUnreviewedWidening(tx, 'note', row, placement, { tlp: row.tlp })
      const placementChanged = patch.distribution !== undefined || patch.sharingGroupId !== undefined
      if (placementChanged && distribution === 'sharing_group') await assertUsableGroup(tx, ctx.actor.organisationId, sharingGroupId, 'body.sharingGroupId')
      const [updated] = await tx
        .update(notes)
        .set({ ...patch, ...placement, ...handling, reviewBy: patch.reviewBy ? new Date(patch.reviewBy) : undefined, version: row.version + 1, ...touched() })
        .where(and(eq(notes.id, id), eq(notes.version, row.version)))
        .returning(columns)
      if (!updated) throw preconditionFailed(row.version + 1)
      await saveRevision(tx, updated as NoteRow, ctx.actor.accountId)
      const retraction = retractionOf(row, updated)
      if (retraction) await sendRetractions(tx, 'note', id, retraction, updated.version)
      audit.set({ details: { changed: Object.keys(patch), version: updated.version } })
      return toNote(updated as NoteRow)
    })
  },

  async revoke(ctx: Ctx, id: string, expected: number | undefined) {
    return ctx.tx(async (tx, audit) => {
      const row = await findOwned(tx, ctx, id)
      if (expected !== undefined && expected !== row.version) throw preconditionFailed(row.version)
      if (row.status === 'revoked') return toNote(row)
      const [updated] = await tx
        .update(notes)
        .set({ status: 'revoked', version: row.version + 1, ...touched() })
        .where(eq(notes.id, id))
        .returning(columns)
      await saveRevision(tx, updated as NoteRow, ctx.actor.accountId)
      if (updated) await sendRetractions(tx, 'note', id, 'revoked', updated.version)
      audit.set({ details: { changed: ['status'], version: updated?.version } })
      return toNote(updated as NoteRow)
    })
  },

  async revisions(ctx: Ctx, id: string) {
    return ctx.tx(async (tx, audit) => {
      await findReadable(tx, ctx, id)
      // Each version by its own marking: a version the caller may not see is left out, however
      // visible the note is now (the owner sees them all).
      const rs = await tx
        .select()
        .from(noteRevisions)
        .where(and(eq(noteRevisions.noteId, id), canSee(noteRevisions)))
        .orderBy(asc(noteRevisions.version))
        .limit(1000)
      audit.set({ details: { returned: rs.length } })
      return {
        items: rs.map((r) => ({ noteId: r.noteId, ...content(r), editedBy: r.editedBy, createdAt: r.createdAt.toISOString() })),
        nextCursor: null,
      }
    })
  },
}
