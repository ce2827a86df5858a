// Receipts and retraction notices (DESIGN §7, "Retraction").
//
// recordReceipts(): a read that delivered items to the caller records, for the caller's own
// organisation, which items it received — one INSERT … SELECT unnest(ids) … ON CONFLICT DO
// NOTHING, in the read's own transaction. On PostgreSQL it is held back (db/pipeline.ts) and
// travels with the read's audit event and COMMIT: no extra round trip; a read whose receipt
// cannot be written fails closed, like one whose audit event cannot. The caller's own items are
// left out (an owner is never told about its own retraction).
//
// sendRetractions(): the owner revoked, erased, narrowed or switched an item to match_only:
// every organisation that received it gets a notice (dcx_send_retractions(), migrations/0016),
// in the writing transaction.
import { sql } from 'drizzle-orm'
import { rows, type Tx } from '../../db/client.js'
import { holdOn } from '../../db/pipeline.js'
import type { ItemKind } from './erasure.js'

const RECEIPT_INSERT = 'insert into item_receipts (item_id, kind, organisation_id) select unnest($1::uuid[]), $2, $3::uuid on conflict do nothing'

/** Record that `organisationId` (the caller's) received these items; `owners` are each item's owner, to leave out its own. */
export async function recordReceipts(tx: Tx, kind: ItemKind, organisationId: string, items: readonly { id: string; organisationId: string }[]) {
  const ids = [...new Set(items.filter((i) => i.organisationId !== organisationId).map((i) => i.id))]
  if (ids.length === 0) return
  const params = [`{${ids.join(',')}}`, kind, organisationId]
  if (!holdOn(tx, { sql: RECEIPT_INSERT, params }))
    await tx.execute(
      sql`insert into item_receipts (item_id, kind, organisation_id) select unnest(${params[0]}::uuid[]), ${kind}, ${organisationId}::uuid on conflict do nothing`,
    )
}

export type RetractionReason = 'revoked' | 'erased' | 'narrowed' | 'match_only'

/** Notify every organisation that received the item (the caller must be its owner). Returns how many were notified. */
export async function sendRetractions(tx: Tx, kind: ItemKind, id: string, reason: RetractionReason, version: number): Promise<number> {
  const [r] = await rows<{ n: number }>(tx, sql`select dcx_send_retractions(${kind}, ${id}::uuid, ${reason}, ${version}::int) as n`)
  return Number(r?.n ?? 0)
}

const TLP_RANK: Record<string, number> = { clear: 0, green: 1, amber: 2, 'amber+strict': 3, red: 4 }
// How far a distribution reaches; a sharing group is narrower than every sector-wide audience.
const REACH_RANK: Record<string, number> = { organisation: 0, sharing_group: 1, authorities: 2, community: 3 }

interface Placement {
  tlp: string
  distribution: string
  sharingGroupId: string | null
  valueVisibility?: string
}

/**
 * Why an update retracts an item from (some of) its audience, or undefined: switched to
 * match_only, or narrowed — a stricter TLP, a distribution that reaches fewer, or another
 * sharing group (whose members may differ).
 */
export function retractionOf(before: Placement, after: Placement): RetractionReason | undefined {
  if (before.valueVisibility === 'full' && after.valueVisibility === 'match_only') return 'match_only'
  if ((TLP_RANK[after.tlp] ?? 0) > (TLP_RANK[before.tlp] ?? 0)) return 'narrowed'
  if ((REACH_RANK[after.distribution] ?? 0) < (REACH_RANK[before.distribution] ?? 0)) return 'narrowed'
  if (before.distribution === 'sharing_group' && after.distribution === 'sharing_group' && before.sharingGroupId !== after.sharingGroupId) return 'narrowed'
  return undefined
}
