// The change feed's reads: rows carry (change_xid, change_seq), and only rows whose writing
// transaction is older than every transaction of this database still running (the horizon,
// db/horizon.ts) are returned, so a transaction that commits late can never land behind a
// position already handed out.
import { and, asc, getTableColumns, sql } from 'drizzle-orm'
import { indicators, notes } from '../../db/schema/index.js'
import type { Queryable } from '../../db/client.js'
import { horizon } from '../../db/horizon.js'
import { canSee } from '../../access/visibility.js'
import { draftsOut } from '../handling/publication.js'

const { search: _s1, ...indicatorCols } = getTableColumns(indicators)
const { search: _s2, ...noteCols } = getTableColumns(notes)

/** A position in the feed: the (change_xid, change_seq) of the last row delivered. */
export interface FeedPosition {
  xid: string
  seq: number
}

const after = (t: typeof indicators | typeof notes, horizon: string, { xid, seq }: FeedPosition) =>
  sql`${t.changeXid} < ${horizon}::xid8 and (${t.changeXid}, ${t.changeSeq}) > (${xid}::xid8, ${seq}::bigint)`

export const changesRepository = {
  /** The oldest transaction of this database still running: rows written by older ones are final (db/horizon.ts). */
  async horizon(q: Queryable): Promise<string> {
    return horizon(q)
  },

  async indicatorsAfter(q: Queryable, horizon: string, from: FeedPosition, limit: number) {
    return q
      .select(indicatorCols)
      .from(indicators)
      .where(and(after(indicators, horizon, from), canSee(indicators), draftsOut(indicators)))
      .orderBy(asc(indicators.changeXid), asc(indicators.changeSeq))
      .limit(limit)
  },

  async notesAfter(q: Queryable, horizon: string, from: FeedPosition, limit: number) {
    return q
      .select(noteCols)
      .from(notes)
      .where(and(after(notes, horizon, from), canSee(notes), draftsOut(notes)))
      .orderBy(asc(notes.changeXid), asc(notes.changeSeq))
      .limit(limit)
  },
}
