// Indicator reads and writes that more than one module needs, written once: the columns an
// indicator is read with, and the list filters — GET /v1/indicators and the STIX export both
// build their WHERE from indicatorFilters().
import { and, eq, getTableColumns, gte, or, sql, type SQL } from 'drizzle-orm'
import { indicators } from '../../db/schema/index.js'
import { canSee } from '../../access/visibility.js'
import { candidateTypes } from './normalize.js'
import { normalizedOrThrow } from './indicators.rules.js'
import type { IndicatorListQuery } from './indicators.schemas.js'

// Every column but the tsvector and the change-feed bookkeeping.
const { search: _search, changeXid: _xid, changeSeq: _seq, ...columns } = getTableColumns(indicators)
export const indicatorColumns = columns

/** The list filters, as GET /v1/indicators takes them (the STIX export takes the same). */
export type IndicatorFilter = Partial<
  Pick<IndicatorListQuery, 'type' | 'value' | 'q' | 'tag' | 'tlp' | 'organisationId' | 'country' | 'updatedSince' | 'status'>
>

/**
 * What the caller may see (canSee, first), narrowed by the filters. A value invalid for its type
 * is a 400 (query.value), thrown here, before any query runs.
 */
export function indicatorFilters(f: IndicatorFilter): SQL[] {
  const i = indicators
  const where: SQL[] = [canSee(i)]
  if (f.type) where.push(eq(i.type, f.type))
  if (f.value !== undefined) {
    if (f.type) where.push(eq(i.normalizedValue, normalizedOrThrow(f.type, f.value, 'query.value').normalizedValue))
    else {
      const pairs = candidateTypes(f.value)
      where.push(pairs.length ? (or(...pairs.map((p) => and(eq(i.type, p.type), eq(i.normalizedValue, p.normalizedValue)))) as SQL) : sql`false`)
    }
  }
  if (f.q) where.push(sql`${i.search} @@ websearch_to_tsquery('simple', ${f.q})`)
  if (f.tag) where.push(sql`${i.tags} @> array[${f.tag}]::text[]`)
  if (f.tlp) where.push(eq(i.tlp, f.tlp))
  if (f.organisationId) where.push(eq(i.organisationId, f.organisationId))
  if (f.country) where.push(sql`${i.countries} @> array[${f.country}]::text[]`)
  if (f.updatedSince) where.push(gte(i.updatedAt, new Date(f.updatedSince)))
  if (f.status) where.push(eq(i.status, f.status))
  return where
}
