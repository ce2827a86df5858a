// Sharing groups: a named set of organisations, owned by one organisation's admins. Members
// read the group; the owner's org_admins write it. The owner is always a member.
import { and, asc, eq, inArray, sql } from 'drizzle-orm'
import type { Tx } from '../../db/client.js'
import { organisations, sharingGroupMembers, sharingGroups, type SharingGroupRow } from '../../db/schema/index.js'
import type { Ctx } from '../../access/scope.js'
import { AppError, notFound } from '../../core/errors.js'
import { preconditionFailed } from '../../core/etag.js'
import { canSee } from '../../access/visibility.js'
import type { SharingGroup } from './sharing-groups.schemas.js'

// A group is seen by its owner and its members — as an item distributed to the group would be.
const visibleGroup = canSee({ organisationId: sharingGroups.organisationId, distribution: sql`'sharing_group'`, sharingGroupId: sharingGroups.id })

async function members(tx: Tx, ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(ids.map((id) => [id, []]))
  if (ids.length === 0) return out
  const rs = await tx.select().from(sharingGroupMembers).where(inArray(sharingGroupMembers.groupId, ids)).orderBy(asc(sharingGroupMembers.organisationId))
  for (const r of rs) out.get(r.groupId)?.push(r.organisationId)
  return out
}

function toGroup(row: SharingGroupRow, organisationIds: string[]): SharingGroup {
  return {
    id: row.id,
    organisationId: row.organisationId,
    name: row.name,
    organisationIds,
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  }
}

async function checkOrganisations(tx: Tx, ids: string[]) {
  if (ids.length === 0) return
  const found = await tx.select({ id: organisations.id }).from(organisations).where(inArray(organisations.id, ids))
  const missing = ids.filter((id) => !found.some((f) => f.id === id))
  if (missing.length) {
    throw new AppError('validation', `body.organisationIds: no organisation ${missing.join(', ')}`, [
      { name: 'body.organisationIds', reason: `unknown organisation ids: ${missing.join(', ')}` },
    ])
  }
}

async function setMembers(tx: Tx, groupId: string, owner: string, ids: string[]) {
  await tx.delete(sharingGroupMembers).where(eq(sharingGroupMembers.groupId, groupId))
  const all = [...new Set([owner, ...ids])]
  await tx.insert(sharingGroupMembers).values(all.map((organisationId) => ({ groupId, organisationId })))
  return all.sort()
}

export const sharingGroupsService = {
  /** Groups the caller's organisation owns or belongs to (row-level security enforces it too). */
  async list(ctx: Ctx) {
    return ctx.tx(async (tx, audit) => {
      const rs = await tx.select().from(sharingGroups).where(visibleGroup).orderBy(asc(sharingGroups.createdAt), asc(sharingGroups.id)).limit(1000)
      const m = await members(
        tx,
        rs.map((r) => r.id),
      )
      audit.set({ details: { returned: rs.length } })
      return { items: rs.map((r) => toGroup(r, m.get(r.id) ?? [])), nextCursor: null }
    })
  },

  async get(ctx: Ctx, id: string) {
    return ctx.tx(async (tx) => {
      const row = await visible(tx, ctx, id)
      const m = await members(tx, [id])
      return toGroup(row, m.get(id) ?? [])
    })
  },

  async create(ctx: Ctx, input: { name: string; organisationIds: string[] }) {
    return ctx.tx(async (tx, audit) => {
      await checkOrganisations(tx, input.organisationIds)
      const [row] = await tx.insert(sharingGroups).values({ organisationId: ctx.actor.organisationId, name: input.name }).returning()
      if (!row) throw new Error('insert returned nothing')
      const ids = await setMembers(tx, row.id, row.organisationId, input.organisationIds)
      audit.set({ resourceId: row.id, details: { name: input.name, organisationIds: ids } })
      return toGroup(row, ids)
    })
  },

  async update(ctx: Ctx, id: string, patch: { name?: string; organisationIds?: string[] }, expected: number | undefined) {
    return ctx.tx(async (tx, audit) => {
      const row = await owned(tx, ctx, id)
      if (expected !== undefined && expected !== row.version) throw preconditionFailed(row.version)
      if (patch.organisationIds) await checkOrganisations(tx, patch.organisationIds)
      const [updated] = await tx
        .update(sharingGroups)
        .set({ ...(patch.name ? { name: patch.name } : {}), version: row.version + 1, updatedAt: new Date() })
        .where(and(eq(sharingGroups.id, id), eq(sharingGroups.version, row.version)))
        .returning()
      if (!updated) throw preconditionFailed(row.version + 1)
      const ids = patch.organisationIds ? await setMembers(tx, id, row.organisationId, patch.organisationIds) : ((await members(tx, [id])).get(id) ?? [])
      audit.set({ details: { changed: Object.keys(patch), values: patch } })
      return toGroup(updated, ids)
    })
  },

  async remove(ctx: Ctx, id: string) {
    return ctx.tx(async (tx, audit) => {
      audit.set({ status: 204 })
      await owned(tx, ctx, id)
      // No count first: under row-level security the owner counts only the items it may read, so
      // another member's match_only item would slip past and reach the foreign key. The foreign key
      // sees every item, visible or not; its refusal is the one answer, whoever's items they are.
      try {
        await tx.delete(sharingGroups).where(eq(sharingGroups.id, id))
      } catch (err) {
        if (isForeignKeyViolation(err)) throw groupInUse()
        throw err
      }
    })
  },
}

/**
 * The group is still the distribution of some item. Deliberately without counts, ids or owners:
 * the items may be members' items the owner cannot see, and the answer must not tell.
 */
const groupInUse = () =>
  new AppError(
    'conflict',
    'The sharing group is still the distribution of items (indicators or notes, revoked ones included); their owners must move them to another distribution before the group can be deleted.',
  )

/** SQLSTATE 23503; drizzle wraps the driver's error, so look along the cause chain. */
function isForeignKeyViolation(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (e.code === '23503') return true
  }
  return false
}

async function visible(tx: Tx, ctx: Ctx, id: string, lock = false) {
  const query = tx
    .select()
    .from(sharingGroups)
    .where(and(eq(sharingGroups.id, id), visibleGroup))
  const [row] = lock ? await query.for('update') : await query
  if (!row) throw notFound('sharing group')
  return row
}

/** The group if the caller's organisation owns it: 404 if invisible, 403 if only a member. */
async function owned(tx: Tx, ctx: Ctx, id: string) {
  const seen = await visible(tx, ctx, id)
  if (seen.organisationId !== ctx.actor.organisationId) {
    throw new AppError('forbidden', "Only the owner organisation's org_admins may change this group.")
  }
  // Lock only once ownership is known: FOR UPDATE passes the UPDATE policy, which a member lacks.
  return visible(tx, ctx, id, true)
}

/** For distribution = sharing_group: the group must exist and include the caller's organisation. */
export async function assertUsableGroup(tx: Tx, organisationId: string, groupId: string | null | undefined, field: string) {
  if (!groupId) throw groupRequired(field)
  const [m] = await tx
    .select()
    .from(sharingGroupMembers)
    .where(and(eq(sharingGroupMembers.groupId, groupId), eq(sharingGroupMembers.organisationId, organisationId)))
  if (!m) throw groupUnusable(field)
}

/**
 * assertUsableGroup's rule for many groups in one query (a batch names each distinct group once):
 * the ids among `groupIds` of groups that include the caller's organisation.
 */
export async function usableGroups(tx: Tx, organisationId: string, groupIds: Iterable<string>): Promise<Set<string>> {
  const ids = [...new Set(groupIds)]
  if (ids.length === 0) return new Set()
  const rs = await tx
    .select({ groupId: sharingGroupMembers.groupId })
    .from(sharingGroupMembers)
    .where(and(inArray(sharingGroupMembers.groupId, ids), eq(sharingGroupMembers.organisationId, organisationId)))
  return new Set(rs.map((r) => r.groupId))
}

/** The 400s assertUsableGroup throws, for callers that check many items at once. */
export const groupRequired = (field: string) =>
  new AppError('validation', `${field}: required when distribution is sharing_group`, [{ name: field, reason: 'required when distribution is sharing_group' }])

export const groupUnusable = (field: string) =>
  new AppError('validation', `${field}: no sharing group with that id includes your organisation`, [
    { name: field, reason: 'no sharing group with that id includes your organisation' },
  ])
