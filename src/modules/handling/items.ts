// The item a consent, share request or four-eyes decision is about: an indicator or a note. Read
// through canSee() (the one visibility definition) or, for the owner's writes, by owner only —
// both 404 otherwise, the same answer as for an id that does not exist.
import { and, eq } from 'drizzle-orm'
import { indicators, notes } from '../../db/schema/index.js'
import type { Tx } from '../../db/client.js'
import type { Ctx } from '../../access/scope.js'
import { notFound } from '../../core/errors.js'
import { canSee } from '../../access/visibility.js'

export type ItemKind = 'indicator' | 'note'
export const tableOf = (kind: ItemKind) => (kind === 'indicator' ? indicators : notes)

export interface ItemHead {
  id: string
  organisationId: string
  handlingCode: string
  grantedTo: string[]
  status: string
  version: number
}

const head = (t: typeof indicators | typeof notes) => ({
  id: t.id,
  organisationId: t.organisationId,
  handlingCode: t.handlingCode,
  grantedTo: t.grantedTo,
  status: t.status,
  version: t.version,
})

/** The item, when the caller may see it (canSee); 404 otherwise. */
export async function visibleItem(tx: Tx, kind: ItemKind, id: string): Promise<ItemHead> {
  const t = tableOf(kind)
  const [row] = await tx
    .select(head(t))
    .from(t)
    .where(and(eq(t.id, id), canSee(t)))
  if (!row) throw notFound(kind)
  return row
}

/** The item, when the caller's organisation owns it (locked for the write); 404 otherwise. */
export async function ownedItem(tx: Tx, ctx: Ctx, kind: ItemKind, id: string): Promise<ItemHead> {
  const t = tableOf(kind)
  const [row] = await tx
    .select(head(t))
    .from(t)
    .where(and(eq(t.id, id), eq(t.organisationId, ctx.actor.organisationId)))
    .for('update')
  if (!row) throw notFound(kind)
  return row
}
