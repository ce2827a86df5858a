// Warning lists (DESIGN §8): platform-curated lists (platform_admin writes, every account reads)
// and an organisation's own lists (its org_admins write, its members read, other organisations
// never see them: 404). Who sees a list is the one visibility definition (annotate.ts,
// visibleList; row-level security again in migrations/0020). Entries are normalised with the
// indicator normaliser, so a listed value matches however a screener spells it.
import { and, asc, eq, sql } from 'drizzle-orm'
import { warningListEntries, warningLists, type WarningListRow } from '../../db/schema/index.js'
import { rows, type Tx } from '../../db/client.js'
import type { Ctx } from '../../access/scope.js'
import { mayWriteWarningList } from '../../access/policy.js'
import { AppError, notFound, type FieldProblem } from '../../core/errors.js'
import { preconditionFailed } from '../../core/etag.js'
import { normalizeIndicator, type IndicatorType } from '../indicators/normalize.js'
import { invalidFields } from '../indicators/indicators.rules.js'
import { visibleList } from './annotate.js'
import { MAX_ENTRIES_PER_LIST, type WarningListCreate, type WarningListEntry, type WarningListPatch } from './warning-lists.schemas.js'

// The entries' primary key is a b-tree over the normalised value (at most ~2,700 bytes an entry).
const MAX_NORMALIZED_BYTES = 2_000
// A hostile request with a thousand bad entries must not turn into a megabyte of problems.
const MAX_PROBLEMS = 50

type Entry = { type: IndicatorType; normalizedValue: string }

/** Every entry normalised, duplicates dropped; a 400 naming each invalid one (body.entries.N.value). */
function normalizeEntries(entries: readonly WarningListEntry[]): Entry[] {
  const problems: FieldProblem[] = []
  const out = new Map<string, Entry>()
  entries.forEach((e, i) => {
    const n = normalizeIndicator(e.type, e.value)
    if (!n.ok) problems.push({ name: `body.entries.${i}.value`, reason: n.reason })
    else if (Buffer.byteLength(n.normalizedValue) > MAX_NORMALIZED_BYTES) {
      problems.push({ name: `body.entries.${i}.value`, reason: `too long: at most ${MAX_NORMALIZED_BYTES} bytes once normalised` })
    } else out.set(`${e.type}\u0000${n.normalizedValue}`, { type: e.type, normalizedValue: n.normalizedValue })
  })
  if (problems.length) throw invalidFields(problems.slice(0, MAX_PROBLEMS))
  return [...out.values()]
}

function toSummary(row: WarningListRow, entryCount: number) {
  return {
    id: row.id,
    name: row.name,
    scope: row.organisationId ? ('organisation' as const) : ('platform' as const),
    ...(row.organisationId ? { organisationId: row.organisationId } : {}),
    reason: row.reason,
    entryCount,
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  }
}

async function entryCount(tx: Tx, listId: string): Promise<number> {
  const [r] = await tx.select({ n: sql<number>`count(*)::int` }).from(warningListEntries).where(eq(warningListEntries.listId, listId))
  return r?.n ?? 0
}

/** A list's entries, ordered by type and value. */
async function listEntries(tx: Tx, listId: string) {
  const es = await tx
    .select({ type: warningListEntries.type, value: warningListEntries.normalizedValue })
    .from(warningListEntries)
    .where(eq(warningListEntries.listId, listId))
    .orderBy(asc(warningListEntries.type), asc(warningListEntries.normalizedValue))
  return es as { type: IndicatorType; value: string }[]
}

async function visible(tx: Tx, id: string, lock = false): Promise<WarningListRow> {
  const q = tx
    .select()
    .from(warningLists)
    .where(and(eq(warningLists.id, id), visibleList))
  const [row] = lock ? await q.for('update') : await q
  if (!row) throw notFound('warning list')
  return row
}

const writersOnly = (organisationId: string | null) =>
  new AppError(
    'forbidden',
    organisationId === null
      ? 'Platform warning lists are written by the role platform_admin only.'
      : "An organisation's warning lists are written by its own org_admin role only.",
  )

/** The list, locked, if the caller may write it: 404 if it cannot see it, 403 if its role may not write it. */
async function writable(tx: Tx, ctx: Ctx, id: string): Promise<WarningListRow> {
  const seen = await visible(tx, id)
  if (!mayWriteWarningList(ctx.actor, seen.organisationId)) throw writersOnly(seen.organisationId)
  return visible(tx, id, true)
}

async function addEntries(tx: Tx, listId: string, entries: Entry[]): Promise<number> {
  if (entries.length === 0) return 0
  const added = await tx
    .insert(warningListEntries)
    .values(entries.map((e) => ({ listId, type: e.type, normalizedValue: e.normalizedValue })))
    .onConflictDoNothing()
    .returning({ type: warningListEntries.type })
  return added.length
}

async function checkSize(tx: Tx, listId: string): Promise<number> {
  const n = await entryCount(tx, listId)
  if (n > MAX_ENTRIES_PER_LIST) {
    throw new AppError(
      'unprocessable',
      `A warning list holds at most ${MAX_ENTRIES_PER_LIST.toLocaleString('en')} entries (this request would make it ${n.toLocaleString('en')}); split it into several lists.`,
      [{ name: 'body.entries', reason: `the list would hold ${n} entries, more than ${MAX_ENTRIES_PER_LIST}` }],
    )
  }
  return n
}

async function bump(tx: Tx, row: WarningListRow): Promise<WarningListRow> {
  const [updated] = await tx
    .update(warningLists)
    .set({ version: row.version + 1, updatedAt: new Date() })
    .where(eq(warningLists.id, row.id))
    .returning()
  if (!updated) throw new Error('update returned nothing')
  return updated
}

export const warningListsService = {
  /** The lists the caller may see: its organisation's first, then the platform's, oldest first. */
  async list(ctx: Ctx) {
    return ctx.tx(async (tx, audit) => {
      const lists = await tx
        .select({ row: warningLists, n: sql<number>`(select count(*)::int from ${warningListEntries} e where e.list_id = ${warningLists.id})` })
        .from(warningLists)
        .where(visibleList)
        .orderBy(sql`${warningLists.organisationId} is null`, asc(warningLists.createdAt), asc(warningLists.id))
        .limit(1000)
      audit.set({ details: { returned: lists.length } })
      return { items: lists.map((l) => toSummary(l.row, l.n)), nextCursor: null }
    })
  },

  async get(ctx: Ctx, id: string) {
    return ctx.tx(async (tx) => {
      const row = await visible(tx, id)
      const es = await listEntries(tx, id)
      return { ...toSummary(row, es.length), entries: es }
    })
  },

  async create(ctx: Ctx, input: WarningListCreate) {
    const organisationId = input.scope === 'platform' ? null : ctx.actor.organisationId
    if (!mayWriteWarningList(ctx.actor, organisationId)) throw writersOnly(organisationId)
    const entries = normalizeEntries(input.entries)
    return ctx.tx(async (tx, audit) => {
      const [row] = await tx
        .insert(warningLists)
        .values({ scope: input.scope, organisationId, name: input.name, reason: input.reason, createdBy: ctx.actor.accountId })
        .returning()
      if (!row) throw new Error('insert returned nothing')
      const added = await addEntries(tx, row.id, entries)
      audit.set({ resourceId: row.id, details: { scope: input.scope, name: input.name, entries: added } })
      const es = await listEntries(tx, row.id)
      return { ...toSummary(row, es.length), entries: es }
    })
  },

  async update(ctx: Ctx, id: string, patch: WarningListPatch, expected: number | undefined) {
    return ctx.tx(async (tx, audit) => {
      const row = await writable(tx, ctx, id)
      if (expected !== undefined && expected !== row.version) throw preconditionFailed(row.version)
      const [updated] = await tx
        .update(warningLists)
        .set({
          ...(patch.name ? { name: patch.name } : {}),
          ...(patch.reason ? { reason: patch.reason } : {}),
          version: row.version + 1,
          updatedAt: new Date(),
        })
        .where(and(eq(warningLists.id, id), eq(warningLists.version, row.version)))
        .returning()
      if (!updated) throw preconditionFailed(row.version + 1)
      audit.set({ details: { changed: Object.keys(patch), version: updated.version } })
      return toSummary(updated, await entryCount(tx, id))
    })
  },

  async remove(ctx: Ctx, id: string) {
    return ctx.tx(async (tx, audit) => {
      audit.set({ status: 204 })
      await writable(tx, ctx, id)
      await tx.delete(warningLists).where(eq(warningLists.id, id))
    })
  },

  /** Add up to 1,000 entries; those already on the list are left as they are. */
  async addEntries(ctx: Ctx, id: string, input: readonly WarningListEntry[]) {
    const entries = normalizeEntries(input)
    return ctx.tx(async (tx, audit) => {
      const row = await writable(tx, ctx, id)
      const added = await addEntries(tx, id, entries)
      const n = await checkSize(tx, id)
      const updated = added ? await bump(tx, row) : row
      audit.set({ details: { submitted: input.length, added, entryCount: n } })
      return { added, entryCount: n, version: updated.version }
    })
  },

  /** Remove up to 1,000 entries (given as they were added; normalised the same way). */
  async removeEntries(ctx: Ctx, id: string, input: readonly WarningListEntry[]) {
    const entries = normalizeEntries(input)
    return ctx.tx(async (tx, audit) => {
      const row = await writable(tx, ctx, id)
      const wanted = JSON.stringify(entries.map((e) => ({ type: e.type, nv: e.normalizedValue })))
      const gone = await rows<{ type: string }>(
        tx,
        sql`delete from ${warningListEntries} e using jsonb_to_recordset(${wanted}::jsonb) as q(type text, nv text)
            where e.list_id = ${id} and e.type = q.type and e.normalized_value = q.nv returning e.type`,
      )
      const n = await entryCount(tx, id)
      const updated = gone.length ? await bump(tx, row) : row
      audit.set({ details: { submitted: input.length, removed: gone.length, entryCount: n } })
      return { removed: gone.length, entryCount: n, version: updated.version }
    })
  },
}
