// Four-eyes publication (DESIGN §7): when the owner organisation's fourEyes setting is on, an
// indicator with TLP red, a personal-data type or valueVisibility match_only — and a note with
// TLP red — is created as a draft. draftOnCreate() is the one decision, called by every way in
// (POST one, bulk, STIX import, TAXII push, notes). A draft is visible to its own organisation
// only (dcx_can_see), never matched (the match query takes active rows only), never in the
// change feed, STIX export or TAXII (draftsOut()). Another account of the owner organisation,
// contributor or above and not the author, publishes it (approve) or sends it back with a reason.
//
// Decided here (DESIGN is silent): a PATCH that would make a published item need four-eyes
// (TLP red, or match_only) while the setting is on is refused with 409 — the owner creates a new
// item for review instead, since what others already received cannot be unpublished; the author
// may not send back their own draft either; a sent-back draft stays a draft, its author edits it
// with PATCH and another account approves it.
import { eq, ne, type SQL } from 'drizzle-orm'
import { z } from 'zod'
import { indicators, notes, organisations } from '../../db/schema/index.js'
import type { Tx } from '../../db/client.js'
import { conflict } from '../../core/errors.js'
import { timestamp, uuid } from '../../core/schemas.js'
import { PERSONAL_DATA_TYPES, type IndicatorType } from '../indicators/normalize.js'

export type ItemKind = 'indicator' | 'note'

/** What an item's review looks like in its JSON: null unless a draft was sent back. */
export const review = z
  .object({ sentBackReason: z.string(), sentBackBy: uuid, sentBackAt: timestamp })
  .nullable()
  .describe('Four-eyes: why the draft was sent back, by whom and when (null otherwise)')
  .meta({ id: 'Review' })

export function reviewOf(r: { sentBackReason: string | null; sentBackBy: string | null; sentBackAt: Date | null }): z.infer<typeof review> {
  return r.sentBackReason && r.sentBackBy && r.sentBackAt
    ? { sentBackReason: r.sentBackReason, sentBackBy: r.sentBackBy, sentBackAt: r.sentBackAt.toISOString() }
    : null
}

/** Whether an item of this kind and content needs a second pair of eyes before it is published. */
export function needsFourEyes(kind: ItemKind, item: { tlp: string; type?: string; valueVisibility?: string }): boolean {
  if (item.tlp === 'red') return true
  if (kind === 'note') return false
  return item.valueVisibility === 'match_only' || PERSONAL_DATA_TYPES.has(item.type as IndicatorType)
}

/** The owner organisation's four-eyes setting. */
export async function fourEyesOn(tx: Tx, organisationId: string): Promise<boolean> {
  const [o] = await tx.select({ on: organisations.fourEyes }).from(organisations).where(eq(organisations.id, organisationId))
  return o?.on ?? true
}

/**
 * The one decision for every way in: the status a new item starts with. Reads the owner's setting
 * once per call (a batch shares it).
 */
export async function draftOnCreate<T extends { organisationId: string; tlp: string; type?: string; valueVisibility?: string; status?: string | null }>(
  tx: Tx,
  kind: ItemKind,
  items: T[],
): Promise<(T & { status: string })[]> {
  const published = kind === 'indicator' ? 'active' : 'published'
  const needing = items.some((i) => needsFourEyes(kind, i))
  const on = needing && items[0] ? await fourEyesOn(tx, items[0].organisationId) : false
  // A writer's own status (a STIX import of a `revoked: true` object arrives revoked) is kept: a
  // revoked item reaches nobody new, so there is nothing to review.
  return items.map((i) => ({ ...i, status: i.status && i.status !== published ? i.status : on && needsFourEyes(kind, i) ? 'draft' : published }))
}

/** PATCH: refuse turning a published item into one that would need four-eyes while the setting is on. */
export async function refuseUnreviewedWidening(
  tx: Tx,
  kind: ItemKind,
  current: { organisationId: string; status: string },
  after: { tlp: string; type?: string; valueVisibility?: string },
  before: { tlp: string; type?: string; valueVisibility?: string },
) {
  if (current.status === 'draft' || needsFourEyes(kind, before) || !needsFourEyes(kind, after)) return
  if (!(await fourEyesOn(tx, current.organisationId))) return
  throw conflict(
    `Four-eyes publication is on: a published ${kind} cannot be made TLP:RED${kind === 'indicator' ? ' or match_only' : ''} by an edit. Create a new ${kind} (it starts as a draft for review), or ask an org_admin to turn four-eyes off.`,
  )
}

/** Drafts never leave their organisation's own reads: not in the change feed, exports or TAXII. */
export const draftsOut = (t: typeof indicators | typeof notes): SQL => ne(t.status, 'draft')
