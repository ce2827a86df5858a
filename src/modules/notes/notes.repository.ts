// Note reads that more than one module needs, written once: the columns a note is read with, and
// the list filters — GET /v1/notes and the STIX export both build their WHERE from noteFilters().
import { eq, getTableColumns, gte, sql, type SQL } from 'drizzle-orm'
import { notes } from '../../db/schema/index.js'
import { canSee, type Tlp } from '../../access/visibility.js'
import type { NoteListQuery } from './notes.schemas.js'

// Every column but the tsvector and the change-feed bookkeeping.
const { search: _search, changeXid: _xid, changeSeq: _seq, ...columns } = getTableColumns(notes)
export const noteColumns = columns

/** The list filters, as GET /v1/notes takes them; the STIX export adds tlp. */
export type NoteFilter = Partial<Pick<NoteListQuery, 'q' | 'topic' | 'sector' | 'language' | 'organisationId' | 'updatedSince' | 'status'>> & {
  tlp?: Tlp | undefined
}

/** What the caller may see (canSee, first), narrowed by the filters. */
export function noteFilters(f: NoteFilter): SQL[] {
  const n = notes
  const where: SQL[] = [canSee(n)]
  if (f.q) where.push(sql`${n.search} @@ websearch_to_tsquery('simple', ${f.q})`)
  if (f.topic) where.push(sql`${n.topics} @> array[${f.topic}]::text[]`)
  if (f.sector) where.push(sql`${n.sectors} @> array[${f.sector}]::text[]`)
  if (f.language) where.push(eq(n.language, f.language))
  if (f.tlp) where.push(eq(n.tlp, f.tlp))
  if (f.organisationId) where.push(eq(n.organisationId, f.organisationId))
  if (f.updatedSince) where.push(gte(n.updatedAt, new Date(f.updatedSince)))
  if (f.status) where.push(eq(n.status, f.status))
  return where
}
