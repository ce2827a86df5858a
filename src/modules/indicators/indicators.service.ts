// Indicators: create, read, list, update, revoke, related. Every read filters with canSee()
// (and row-level security under the service role); writes are owner-only, the owner taken from
// the token. Each call runs in ctx.tx, which writes the audit event in the same transaction.
import { and, desc, eq, sql, type SQL } from 'drizzle-orm'
import { indicators, type IndicatorRow } from '../../db/schema/index.js'
import type { Tx } from '../../db/client.js'
import type { Ctx } from '../../access/scope.js'
import { notFound } from '../../core/errors.js'
import { keysetAfter, pageOf } from '../../core/paging.js'
import { decodeCursor } from '../../core/cursor.js'
import { builtOnce } from '../../db/statements.js'
import { preconditionFailed } from '../../core/etag.js'
import { canSee } from '../../access/visibility.js'
import { assertUsableGroup } from '../sharing-groups/sharing-groups.service.js'
import { normalizeIndicator } from './normalize.js'
import { invalidFields, placementProblems, toIndicator } from './indicators.rules.js'
import { handlingProblems, mergedHandling } from '../handling/handling.js'
import { draftOnCreate, refuseUnreviewedWidening } from '../handling/publication.js'
import { indicatorColumns, indicatorFilters } from './indicators.repository.js'
import { isOverCorrelated } from '../warning-lists/annotate.js'
import type { IndicatorCreate, IndicatorListQuery, IndicatorPatch } from './indicators.schemas.js'
import { reviewByProblems } from '../retention/review-by.js'
import { recordReceipts, retractionOf, sendRetractions } from '../retention/receipts.js'

const columns = indicatorColumns

const MAX_NORMALIZED_BYTES = 2_000

/** Mark a row as changed for the feed: the writing transaction's id and a fresh sequence. */
export const touched = () => ({
  changeXid: sql`pg_current_xact_id()`,
  changeSeq: sql`nextval('change_seq')`,
  updatedAt: new Date(),
})

const readable = builtOnce<IndicatorRow[]>('dcx_indicator_readable', (q) =>
  q
    .select(columns)
    .from(indicators)
    .where(and(eq(indicators.id, sql.placeholder('id')), canSee(indicators))),
)

export async function findReadable(tx: Tx, _ctx: Ctx, id: string): Promise<IndicatorRow> {
  const [row] = await readable(tx, { id })
  if (!row) throw notFound('indicator')
  return row
}

// The list a syncing client pages through: no filter but visibility, newest first, keyset-paged.
const plainList = builtOnce<IndicatorRow[]>('dcx_indicator_list', (q) =>
  q.select(columns).from(indicators).where(canSee(indicators)).orderBy(desc(indicators.createdAt), desc(indicators.id)).limit(sql.placeholder('limit')),
)
const plainListAfter = builtOnce<IndicatorRow[]>('dcx_indicator_list_after', (q) =>
  q
    .select(columns)
    .from(indicators)
    .where(and(canSee(indicators), keysetAfter(indicators.createdAt, indicators.id, sql.placeholder('at'), sql.placeholder('id'), 'desc')))
    .orderBy(desc(indicators.createdAt), desc(indicators.id))
    .limit(sql.placeholder('limit')),
)

/**
 * Visible by distribution, match_only included: what a sighting may be reported against. Call it
 * in a matching transaction (forMatching), which is what lets canSee() reach match_only rows.
 */
export async function findReachable(tx: Tx, id: string) {
  const [row] = await tx
    .select({ id: indicators.id })
    .from(indicators)
    .where(and(eq(indicators.id, id), canSee(indicators)))
  if (!row) throw notFound('indicator')
  return row
}

async function findOwned(tx: Tx, ctx: Ctx, id: string): Promise<IndicatorRow> {
  const [row] = await tx
    .select(columns)
    .from(indicators)
    .where(and(eq(indicators.id, id), eq(indicators.organisationId, ctx.actor.organisationId)))
    .for('update')
  if (!row) throw notFound('indicator')
  return row as IndicatorRow
}

/**
 * The row to insert for a validated input, checked in code only (no query): throws a 400 naming
 * the fields. A row distributed to a sharing group still needs its group checked
 * (assertUsableGroup, or usableGroups for a batch) before it is written.
 */
export function checkInsert(ctx: Ctx, input: IndicatorCreate, prefix = 'body') {
  const problems = [...placementProblems(input, prefix), ...handlingProblems(input, prefix), ...reviewByProblems(input.reviewBy, `${prefix}.reviewBy`)]
  const n = normalizeIndicator(input.type, input.value)
  if (!n.ok) problems.unshift({ name: `${prefix}.value`, reason: n.reason })
  // The (type, normalized_value) b-tree holds at most ~2,700 bytes per entry.
  else if (Buffer.byteLength(n.normalizedValue) > MAX_NORMALIZED_BYTES) {
    problems.unshift({ name: `${prefix}.value`, reason: `too long: at most ${MAX_NORMALIZED_BYTES} bytes once normalised` })
  }
  if (problems.length) throw invalidFields(problems)
  return {
    organisationId: ctx.actor.organisationId,
    createdBy: ctx.actor.accountId,
    type: input.type,
    value: input.value.trim(),
    normalizedValue: n.ok ? n.normalizedValue : '',
    network: n.ok ? (n.network ?? null) : null,
    valueVisibility: input.valueVisibility,
    description: input.description,
    confidence: input.confidence,
    reliability: input.reliability,
    credibility: input.credibility,
    tlp: input.tlp,
    distribution: input.distribution,
    sharingGroupId: input.sharingGroupId ?? null,
    validFrom: input.validFrom ? new Date(input.validFrom) : null,
    validUntil: input.validUntil ? new Date(input.validUntil) : null,
    tags: [...new Set(input.tags)],
    countries: [...new Set(input.countries)],
    handlingCode: input.handlingCode,
    handlingNote: input.handlingNote ?? null,
    // None given: the database's trigger sets creation plus the owner's retention period.
    ...(input.reviewBy ? { reviewBy: new Date(input.reviewBy) } : {}),
  }
}

export type IndicatorInsert = ReturnType<typeof checkInsert>

/** The row to insert for a validated input; throws a 400 naming the fields. */
export async function prepareInsert(tx: Tx, ctx: Ctx, input: IndicatorCreate, prefix = 'body'): Promise<IndicatorInsert> {
  const values = checkInsert(ctx, input, prefix)
  if (input.distribution === 'sharing_group') {
    await assertUsableGroup(tx, ctx.actor.organisationId, input.sharingGroupId, `${prefix}.sharingGroupId`)
  }
  return values
}

export const indicatorsService = {
  async create(ctx: Ctx, input: IndicatorCreate) {
    return ctx.tx(async (tx, audit) => {
      const [values] = (await draftOnCreate(tx, 'indicator', [await prepareInsert(tx, ctx, input)])) as [IndicatorInsert & { status: string }]
      const [row] = await tx.insert(indicators).values(values).returning(columns)
      if (!row) throw new Error('insert returned nothing')
      audit.set({ resourceId: row.id, details: { type: row.type, tlp: row.tlp, distribution: row.distribution, valueVisibility: row.valueVisibility } })
      return toIndicator(row as IndicatorRow, ctx.actor.organisationId)
    })
  },

  async get(ctx: Ctx, id: string) {
    return ctx.tx(async (tx) => {
      const row = await findReadable(tx, ctx, id)
      await recordReceipts(tx, 'indicator', ctx.actor.organisationId, [row])
      return toIndicator(row, ctx.actor.organisationId)
    })
  },

  async list(ctx: Ctx, q: IndicatorListQuery) {
    const where: (SQL | undefined)[] = indicatorFilters(q)
    // Only visibility: the statement built once (a syncing client's every call).
    const plain = where.length === 1
    const after = q.cursor ? decodeCursor<[string, string]>(q.cursor, ['t', 'u']) : undefined
    // Newest first by creation: new items land before page one, so later pages never shift.
    if (after && !plain) where.push(keysetAfter(indicators.createdAt, indicators.id, new Date(after[0]), after[1], 'desc'))
    return ctx.tx(async (tx, audit) => {
      const rs = plain
        ? after
          ? await plainListAfter(tx, { at: new Date(after[0]), id: after[1], limit: q.limit + 1 })
          : await plainList(tx, { limit: q.limit + 1 })
        : ((await tx
            .select(columns)
            .from(indicators)
            .where(and(...where))
            .orderBy(desc(indicators.createdAt), desc(indicators.id))
            .limit(q.limit + 1)) as IndicatorRow[])
      const { cursor: _c, limit, ...filters } = q
      const page = pageOf(rs, limit, (r) => toIndicator(r, ctx.actor.organisationId))
      await recordReceipts(tx, 'indicator', ctx.actor.organisationId, page.items)
      audit.set({ details: { filters, limit, returned: page.items.length } })
      return page
    })
  },

  async update(ctx: Ctx, id: string, patch: IndicatorPatch, expected: number | undefined) {
    return ctx.tx(async (tx, audit) => {
      const row = await findOwned(tx, ctx, id)
      if (expected !== undefined && expected !== row.version) throw preconditionFailed(row.version)
      const merged = {
        tlp: patch.tlp ?? row.tlp,
        distribution: patch.distribution ?? row.distribution,
        sharingGroupId:
          patch.sharingGroupId !== undefined ? patch.sharingGroupId : patch.distribution && patch.distribution !== 'sharing_group' ? null : row.sharingGroupId,
        validFrom: patch.validFrom !== undefined ? patch.validFrom : row.validFrom,
        validUntil: patch.validUntil !== undefined ? patch.validUntil : row.validUntil,
        countries: patch.countries,
      } as Parameters<typeof placementProblems>[0]
      const handling = mergedHandling(row, patch)
      const problems = [...placementProblems(merged), ...handlingProblems(handling), ...reviewByProblems(patch.reviewBy, 'body.reviewBy')]
      if (problems.length) throw invalidFields(problems)
      // Only a change of placement is checked against the group: an item whose owner has since
      // left its group can still have its description or grading corrected.
      await refuseUnreviewedWidening(
        tx,
        'indicator',
        row,
        { tlp: merged.tlp, type: row.type, valueVisibility: patch.valueVisibility ?? row.valueVisibility },
        row,
      )
      const placementChanged = patch.distribution !== undefined || patch.sharingGroupId !== undefined
      if (placementChanged && merged.distribution === 'sharing_group') {
        await assertUsableGroup(tx, ctx.actor.organisationId, merged.sharingGroupId, 'body.sharingGroupId')
      }
      const [updated] = await tx
        .update(indicators)
        .set({
          ...(patch.valueVisibility !== undefined ? { valueVisibility: patch.valueVisibility } : {}),
          ...(patch.description !== undefined ? { description: patch.description } : {}),
          ...(patch.confidence !== undefined ? { confidence: patch.confidence } : {}),
          ...(patch.reliability !== undefined ? { reliability: patch.reliability } : {}),
          ...(patch.credibility !== undefined ? { credibility: patch.credibility } : {}),
          ...(patch.tags !== undefined ? { tags: [...new Set(patch.tags)] } : {}),
          ...(patch.countries !== undefined ? { countries: [...new Set(patch.countries)] } : {}),
          ...(patch.reviewBy !== undefined ? { reviewBy: new Date(patch.reviewBy) } : {}),
          tlp: merged.tlp,
          ...handling,
          distribution: merged.distribution,
          sharingGroupId: merged.sharingGroupId ?? null,
          validFrom: merged.validFrom ? new Date(merged.validFrom) : null,
          validUntil: merged.validUntil ? new Date(merged.validUntil) : null,
          version: row.version + 1,
          ...touched(),
        })
        .where(and(eq(indicators.id, id), eq(indicators.version, row.version)))
        .returning(columns)
      if (!updated) throw preconditionFailed(row.version + 1)
      const retraction = retractionOf(row, updated)
      if (retraction) await sendRetractions(tx, 'indicator', id, retraction, updated.version)
      audit.set({ details: { changed: Object.keys(patch), version: updated.version } })
      return toIndicator(updated as IndicatorRow, ctx.actor.organisationId)
    })
  },

  /** Revoke: kept, marked revoked, still visible to those who could see it. */
  async revoke(ctx: Ctx, id: string, expected: number | undefined) {
    return ctx.tx(async (tx, audit) => {
      const row = await findOwned(tx, ctx, id)
      if (expected !== undefined && expected !== row.version) throw preconditionFailed(row.version)
      if (row.status === 'revoked') return toIndicator(row, ctx.actor.organisationId)
      const [updated] = await tx
        .update(indicators)
        .set({ status: 'revoked', version: row.version + 1, ...touched() })
        .where(eq(indicators.id, id))
        .returning(columns)
      if (updated) await sendRetractions(tx, 'indicator', id, 'revoked', updated.version)
      audit.set({ details: { changed: ['status'], version: updated?.version } })
      return toIndicator(updated as IndicatorRow, ctx.actor.organisationId)
    })
  },

  /** Correlation: other organisations' readable indicators with the same type and normalised value. */
  async related(ctx: Ctx, id: string) {
    return ctx.tx(async (tx, audit) => {
      const row = await findReadable(tx, ctx, id)
      // An over-correlated value (shared infrastructure: more than 20 visible holders) relates nothing.
      if (await isOverCorrelated(tx, row)) {
        audit.set({ details: { returned: 0 } })
        return { items: [], nextCursor: null }
      }
      const rs = (await tx
        .select(columns)
        .from(indicators)
        .where(
          and(
            eq(indicators.type, row.type),
            eq(indicators.normalizedValue, row.normalizedValue),
            sql`${indicators.organisationId} <> ${row.organisationId}`,
            canSee(indicators),
          ),
        )
        .orderBy(desc(indicators.createdAt), desc(indicators.id))
        .limit(500)) as IndicatorRow[]
      audit.set({ details: { returned: rs.length } })
      return { items: rs.map((r) => toIndicator(r, ctx.actor.organisationId)), nextCursor: null }
    })
  },
}
