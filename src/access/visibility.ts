// Who sees what (the visibility rule), written once. Every read path — get, list, search, match,
// related, sightings, change feed, stats — filters with these predicates; PostgreSQL's
// row-level security (migrations/0003) enforces the same rule again under the service role,
// with the caller set per transaction by withActor().
import { and, eq, or, sql, type SQL } from 'drizzle-orm'
import type { AnyPgColumn } from 'drizzle-orm/pg-core'
import { rows, type Db, type Tx } from '../db/client.js'
import type { Actor } from '../core/actor.js'
import { AUTHORITY_SECTORS } from '../core/roles.js'

export const DISTRIBUTIONS = ['organisation', 'sharing_group', 'authorities', 'community'] as const
export type Distribution = (typeof DISTRIBUTIONS)[number]
export const TLPS = ['clear', 'green', 'amber', 'amber+strict', 'red'] as const
export type Tlp = (typeof TLPS)[number]

export interface Distributed {
  organisationId: AnyPgColumn
  distribution: AnyPgColumn
  sharingGroupId: AnyPgColumn
}

export const isAuthority = (actor: Actor) => AUTHORITY_SECTORS.has(actor.sector)

/** The item's distribution reaches the actor's organisation. */
export function distributionReaches(actor: Actor, t: Distributed): SQL {
  const reach: SQL[] = [eq(t.organisationId, actor.organisationId), eq(t.distribution, 'community')]
  if (isAuthority(actor)) reach.push(eq(t.distribution, 'authorities'))
  reach.push(
    and(
      eq(t.distribution, 'sharing_group'),
      sql`exists (select 1 from sharing_group_members m where m.group_id = ${t.sharingGroupId} and m.organisation_id = ${actor.organisationId})`,
    ) as SQL,
  )
  return or(...reach) as SQL
}

/**
 * Readable by the actor on every path except match: the distribution reaches it, and a
 * match_only value is only ever readable by its owner.
 */
export function readableBy(actor: Actor, t: Distributed & { valueVisibility?: AnyPgColumn }): SQL {
  const reach = distributionReaches(actor, t)
  if (!t.valueVisibility) return reach
  return and(reach, or(eq(t.organisationId, actor.organisationId), eq(t.valueVisibility, 'full'))) as SQL
}

/**
 * Run fn in a transaction that carries the caller for row-level security. set_config(..., true)
 * is transaction-local, so a pooled connection never carries one caller's identity to the next.
 */
export async function withActor<T>(db: Db, actor: Actor, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await rows(
      tx,
      sql`select set_config('dcx.org_id', ${actor.organisationId}, true), set_config('dcx.authority', ${isAuthority(actor) ? 'true' : 'false'}, true)`,
    )
    return fn(tx)
  })
}

/**
 * Matching sees other organisations' match_only indicators (it tells who holds a value, never the
 * value). Row-level security hides them from every other read; this opens them for the current
 * transaction only.
 */
export async function forMatching(tx: Tx): Promise<void> {
  await rows(tx, sql`select set_config('dcx.purpose', 'match', true)`)
}
