// Keyset paging shared by every list: the page is `limit` rows fetched as `limit + 1`, the
// extra row only telling whether there is a next page; the cursor is the last row's sort key.
import { and, eq, gt, lt, or, type Placeholder, type SQL } from 'drizzle-orm'
import type { AnyPgColumn } from 'drizzle-orm/pg-core'
import { decodeCursor, encodeCursor } from './cursor.js'

/** Rows after (at, lastId) in the given order; either may be a sql.placeholder() of a statement built once. */
export function keysetAfter(sort: AnyPgColumn, id: AnyPgColumn, at: Date | Placeholder, lastId: string | Placeholder, direction: 'asc' | 'desc' = 'asc'): SQL {
  const beyond = direction === 'desc' ? lt : gt
  return or(beyond(sort, at), and(eq(sort, at), beyond(id, lastId))) as SQL
}

/** The condition for rows after a (createdAt, id) cursor, in the given direction. */
export function afterCreated(cursor: string, createdAt: AnyPgColumn, id: AnyPgColumn, direction: 'asc' | 'desc'): SQL {
  // 't' and 'u': a forged cursor whose values the columns cannot hold is a 400, not a 500.
  const [at, lastId] = decodeCursor<[string, string]>(cursor, ['t', 'u'])
  return keysetAfter(createdAt, id, new Date(at), lastId, direction)
}

/** Cut a limit+1 fetch into a page and its next cursor. */
export function pageOf<R extends { createdAt: Date; id: string }, T>(rows: R[], limit: number, map: (r: R) => T) {
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  return {
    items: items.map(map),
    nextCursor: rows.length > limit && last ? encodeCursor([last.createdAt.toISOString(), last.id]) : null,
  }
}
