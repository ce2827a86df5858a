// Who sees what (the visibility rule), written once — in the database. dcx_can_see() (migrations/0009, as 0014 left it) is
// the one definition: the application's read queries call it through canSee(), and the
// row-level-security policies call it again under the service role, so a query that forgets the
// filter still cannot leak. The distributions are rows of dcx_distributions; the caller is set
// per transaction by withActor() (dcx_act_as: organisation, the distributions that reach it, its
// sharing groups). This module is the application's only entry point to that definition.
import { sql, type SQL } from 'drizzle-orm'
import type { AnyPgColumn } from 'drizzle-orm/pg-core'
import { rows, type Db, type Tx } from '../db/client.js'
import type { Actor } from '../core/actor.js'
import { armDeadline, holdOn } from '../db/pipeline.js'
import { DeadlineExceeded, deadlineIn, type Deadline } from '../core/deadline.js'

export const DISTRIBUTIONS = ['organisation', 'sharing_group', 'authorities', 'community'] as const
export type Distribution = (typeof DISTRIBUTIONS)[number]
export const TLPS = ['clear', 'green', 'amber', 'amber+strict', 'red'] as const
export type Tlp = (typeof TLPS)[number]

/**
 * An item (or a version of one): its owner, distribution and sharing group, for indicators the
 * value visibility, and for items with a lifecycle its status (a draft reaches its owner only) and
 * explicit grants (organisations an approved share request added). Passing the table itself
 * (indicators, notes, noteRevisions) passes them all.
 */
export interface Distributed {
  organisationId: AnyPgColumn | SQL
  distribution: AnyPgColumn | SQL
  sharingGroupId: AnyPgColumn | SQL
  valueVisibility?: AnyPgColumn | SQL
  status?: AnyPgColumn | SQL
  grantedTo?: AnyPgColumn | SQL
}

// The caller's settings (set by withActor), as uncorrelated sub-selects: PostgreSQL evaluates
// each once per statement (an InitPlan), not once per row, and dcx_can_see() inlines around them.
const CALLER = sql`(select dcx_org()), (select dcx_reach()), (select dcx_groups()), (select dcx_principals()), (select dcx_matching())`

/**
 * The caller of the current transaction may see the item: dcx_can_see() on its columns, exactly
 * as the row-level-security policies call it. Another organisation's match_only value is only
 * seen by a matching transaction (forMatching). Only meaningful inside withActor(): without a
 * caller it is never true.
 */
export function canSee(t: Distributed): SQL {
  return sql`dcx_can_see(${t.organisationId}, ${t.distribution}, ${t.sharingGroupId}, ${t.valueVisibility ?? sql`'full'`}, ${t.status ?? sql`'active'`}, ${t.grantedTo ?? sql`'{}'::uuid[]`}, ${CALLER})`
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
 *
 * With a request's deadline (core/deadline.ts), nothing commits after it: it is checked on entry
 * and right before COMMIT (and on PostgreSQL before every statement, db/pipeline.ts); past it the
 * transaction rolls back with DeadlineExceeded (a 503). On PostgreSQL the same statement also
 * sets statement_timeout to the time left (at most 30 s), so a runaway statement stops at the
 * deadline rather than holding the request — no extra round trip: it travels with BEGIN and the
 * caller's settings. PGlite (single-threaded WebAssembly, no timer signals) ignores
 * statement_timeout, so there the checks alone apply: a statement runs to its end, and what it
 * did past the deadline is rolled back.
 */
export async function withActor<T>(db: Db, actor: Actor, fn: (tx: Tx) => Promise<T>, deadline?: Deadline): Promise<T> {
  try {
    return await db.transaction(async (tx) => {
      // On entry (after waiting for a connection, perhaps): BEGIN is still held, so this costs nothing.
      deadline?.check()
      const actAs =
        deadline && armDeadline(tx, deadline)
          ? sql`select dcx_act_as(${actor.organisationId}::uuid), set_config('statement_timeout', ${String(deadline.statementTimeoutMs())}, true)`
          : sql`select dcx_act_as(${actor.organisationId}::uuid)`
      if (!holdOn(tx, actAs)) await rows(tx, actAs)
      const out = await fn(tx)
      // Right before COMMIT: the work (and the audit event written with it) rolls back instead.
      deadline?.check()
      return out
    })
  } catch (err) {
    // statement_timeout fired because the deadline came: the same answer as the check's.
    if (deadline?.passed() && !deadlineIn(err) && queryCanceled(err)) throw new DeadlineExceeded()
    throw err
  }
}

function queryCanceled(err: unknown): boolean {
  for (let e = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) if ((e as { code?: unknown }).code === '57014') return true
  return false
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
