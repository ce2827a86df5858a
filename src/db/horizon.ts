// The horizon of the change feed and the audit chainer: rows whose writing transaction id is
// below it are final — every transaction of this database below it has finished, so nothing can
// still commit behind a position handed out. dcx_horizon() (migrations/0011) computes it from
// the caller's snapshot, leaving out only transactions proven to run in another database on the
// same server; the reasoning is in that file. It is VOLATILE: ask once, in a statement of its
// own, and compare rows with the value returned.
import { rows, sql, type Queryable } from './client.js'

/** The horizon as an xid8 in text, for `xid < ${h}::xid8`. */
export async function horizon(q: Queryable): Promise<string> {
  const [h] = await rows<{ horizon: string }>(q, sql`select horizon::text as horizon from dcx_horizon()`)
  return h?.horizon ?? '0'
}

/**
 * Whether dcx_horizon() sees every session's transaction id (its owner is a superuser or a member
 * of pg_read_all_stats). When it does not, other roles' sessions in other databases still hold the
 * horizon back, as the cluster-wide horizon did: safe, only slower to advance.
 */
export async function horizonSeesAll(q: Queryable): Promise<boolean> {
  const [h] = await rows<{ sees_all: boolean }>(q, sql`select sees_all from dcx_horizon()`)
  return h?.sees_all === true
}
