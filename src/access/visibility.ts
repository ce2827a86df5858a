// Who sees what (the visibility rule), written once — in the database. dcx_can_see() (migrations/0009) is
// the one definition: the application's read queries call it through canSee(), and the
// row-level-security policies call it again under the service role, so a query that forgets the
// filter still cannot leak. The distributions are rows of dcx_distributions; the caller is set
// per transaction by withActor() (dcx_act_as: organisation, the distributions that reach it, its
// sharing groups). This module is the application's only entry point to that definition.
import { sql, type SQL } from 'drizzle-orm'
import type { AnyPgColumn } from 'drizzle-orm/pg-core'
import { rows, type Db, type Tx } from '../db/client.js'
import type { Actor } from '../core/actor.js'
import { holdOn } from '../db/pipeline.js'

export const DISTRIBUTIONS = ['organisation', 'sharing_group', 'authorities', 'community'] as const
export type Distribution = (typeof DISTRIBUTIONS)[number]
export const TLPS = ['clear', 'green', 'amber', 'amber+strict', 'red'] as const
export type Tlp = (typeof TLPS)[number]

/** An item (or a version of one): its owner, distribution and sharing group, and for indicators the value visibility. */
export interface Distributed {
  organisationId: AnyPgColumn | SQL
  distribution: AnyPgColumn | SQL
  sharingGroupId: AnyPgColumn | SQL
  valueVisibility?: AnyPgColumn | SQL
}

// The caller's settings (set by withActor), as uncorrelated sub-selects: PostgreSQL evaluates
// each once per statement (an InitPlan), not once per row, and dcx_can_see() inlines around them.
const CALLER = sql`(select dcx_org()), (select dcx_reach()), (select dcx_groups()), (select dcx_matching())`

/**
 * The caller of the current transaction may see the item: dcx_can_see() on its columns, exactly
 * as the row-level-security policies call it. Another organisation's match_only value is only
 * seen by a matching transaction (forMatching). Only meaningful inside withActor(): without a
 * caller it is never true.
 */
export function canSee(t: Distributed): SQL {
  return sql`dcx_can_see(${t.organisationId}, ${t.distribution}, ${t.sharingGroupId}, ${t.valueVisibility ?? sql`'full'`}, ${CALLER})`
}

/**
 * The audience of a distribution (and group) includes the caller, ownership aside: an item of no
 * one's with that placement would be visible to it. What TAXII lists as the caller's collections.
 */
export function reachesCaller(t: Pick<Distributed, 'distribution' | 'sharingGroupId'>): SQL {
  return canSee({ organisationId: sql`null::uuid`, distribution: t.distribution, sharingGroupId: t.sharingGroupId })
}

/**
 * Run fn in a transaction that carries the caller for row-level security and canSee(): one
 * statement sets its organisation, the distributions that reach it and its sharing groups.
 * set_config(..., true) is transaction-local, so a pooled connection never carries one caller's
 * identity to the next.
 */
export async function withActor<T>(db: Db, actor: Actor, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    const actAs = sql`select dcx_act_as(${actor.organisationId}::uuid)`
    if (!holdOn(tx, actAs)) await rows(tx, actAs)
    return fn(tx)
  })
}

/**
 * Matching sees other organisations' match_only indicators (it tells who holds a value, never the
 * value). dcx_can_see() hides them from every other read; this opens them for the current
 * transaction only.
 */
export async function forMatching(tx: Tx): Promise<void> {
  const purpose = sql`select set_config('dcx.purpose', 'match', true)`
  if (!holdOn(tx, purpose)) await rows(tx, purpose)
}
