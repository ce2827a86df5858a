// Indicator reads and writes that more than one module needs, written once: the columns an
// indicator is read with, and the list filters — GET /v1/indicators and the STIX export both
// build their WHERE from indicatorFilters().
import { and, eq, getTableColumns, gte, or, sql, type SQL } from 'drizzle-orm'
import { indicators } from '../../db/schema/index.js'
import { canSee } from '../../access/visibility.js'
import { rows, type Tx } from '../../db/client.js'
import { candidateTypes } from './normalize.js'
import { normalizedOrThrow } from './indicators.rules.js'
import type { IndicatorListQuery } from './indicators.schemas.js'
import type { IndicatorInsert } from './indicators.service.js'
import { draftOnCreate } from '../handling/publication.js'

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

// The columns a batch supplies, as jsonb_to_recordset reads them; every other column (status,
// version, created_at, updated_at, change_xid, change_seq, the generated ones) takes its default,
// exactly as the single insert leaves them.
const BATCH_COLUMNS = [
  ['id', 'uuid'],
  ['organisation_id', 'uuid'],
  ['created_by', 'uuid'],
  ['type', 'text'],
  ['value', 'text'],
  ['normalized_value', 'text'],
  ['network', 'text'],
  ['value_visibility', 'text'],
  ['description', 'text'],
  ['confidence', 'smallint'],
  ['reliability', 'text'],
  ['credibility', 'smallint'],
  ['tlp', 'text'],
  ['distribution', 'text'],
  ['sharing_group_id', 'uuid'],
  ['valid_from', 'timestamptz'],
  ['valid_until', 'timestamptz'],
  ['tags', 'text[]'],
  ['countries', 'text[]'],
  // A STIX import's (migrations/0019); null for every other writer.
  ['stix_id', 'text'],
  ['stix', 'jsonb'],
  ['stix_refs', 'jsonb'],
  ['handling_code', 'text'],
  ['handling_note', 'text'],
  ['status', 'text'],
  // null: the BEFORE INSERT trigger fills the owner's default.
  ['review_by', 'timestamptz'],
] as const
// A column a batch may leave out that has a default: the default, not null.
const BATCH_DEFAULTS: Record<string, string> = { status: `coalesce(status, 'active')`, handling_code: `coalesce(handling_code, 'H0')` }
const BATCH_HEAD = `insert into indicators (${BATCH_COLUMNS.map((c) => c[0]).join(', ')})
  select ${BATCH_COLUMNS.map((c) => BATCH_DEFAULTS[c[0]] ?? c[0]).join(', ')} from jsonb_to_recordset(`
const BATCH_TAIL = `::jsonb) as r(${BATCH_COLUMNS.map((c) => `${c[0]} ${c[1]}`).join(', ')}) returning id, updated_at`

// JSON.stringify writes a lone surrogate as a \\udXXX escape, which jsonb refuses; a text
// parameter stores it as U+FFFD (UTF-8 encoding replaces it), so the batch does the same. An
// escape preceded by an odd number of backslashes is a literal backslash, not an escape.
const LONE_SURROGATE_ESCAPE = /(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g

/** What a STIX import stores beside the indicator (migrations/0019). */
export interface ImportedStix {
  stixId: string | null
  stix: Record<string, unknown> | null
  stixRefs: Record<string, unknown>[] | null
  status: 'active' | 'revoked'
}

/**
 * Many rows in one statement: the rows travel as one jsonb array, ids chosen by the caller (so
 * each result knows its id whatever order RETURNING gives). Returns each id's updated_at.
 */
export async function insertIndicators(tx: Tx, batch: (IndicatorInsert & { id: string } & Partial<ImportedStix>)[]): Promise<Map<string, Date>> {
  const out = new Map<string, Date>()
  if (batch.length === 0) return out
  // Four-eyes: the one decision of every way in (bulk, STIX import, TAXII push use this insert).
  const decided = await draftOnCreate(tx, 'indicator', batch)
  const records = decided.map((v) => ({
    id: v.id,
    organisation_id: v.organisationId,
    created_by: v.createdBy ?? null,
    type: v.type,
    value: v.value,
    normalized_value: v.normalizedValue,
    network: v.network,
    value_visibility: v.valueVisibility,
    description: v.description,
    confidence: v.confidence,
    reliability: v.reliability,
    credibility: v.credibility,
    tlp: v.tlp,
    distribution: v.distribution,
    sharing_group_id: v.sharingGroupId,
    valid_from: v.validFrom ? v.validFrom.toISOString() : null,
    valid_until: v.validUntil ? v.validUntil.toISOString() : null,
    tags: v.tags,
    countries: v.countries,
    stix_id: v.stixId ?? null,
    stix: v.stix ?? null,
    stix_refs: v.stixRefs ?? null,
    handling_code: v.handlingCode ?? null,
    handling_note: v.handlingNote ?? null,
    status: v.status ?? null,
    review_by: v.reviewBy ? v.reviewBy.toISOString() : null,
  }))
  const json = JSON.stringify(records).replace(LONE_SURROGATE_ESCAPE, '$1\\ufffd')
  const rs = await rows<{ id: string; updated_at: string | Date }>(tx, sql`${sql.raw(BATCH_HEAD)}${json}${sql.raw(BATCH_TAIL)}`)
  for (const r of rs) out.set(r.id, new Date(r.updated_at))
  return out
}
