// What a STIX producer said, kept (migrations/0019) and said again when DCX serves the object.
// An imported indicator keeps its producer's id and created_by_ref (STIX 2.1 §3.5: DCX republishes
// the producer's object, it does not become its creator; the DCX organisation that shared it is
// named in DCX's extension as shared_by_ref) and every property DCX has no column for. The
// properties the owner can change in DCX (description, confidence, labels, validity) are served
// as the producer wrote them while the row still holds the same value, else as the row says.
// docs/interoperability.md has the table of every property.
import type { IndicatorRow } from '../../db/schema/index.js'
import { DCX_PROPERTIES_EXT, TLP_BY_MARKING } from './stix.constants.js'
import { FIXED_BY_ID } from './stix.registry.js'
import { credibilityFromConfidence, type StixObject } from './stix.mapping.js'

type Rec = Record<string, unknown>
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Properties DCX decides itself (its columns or its status), never taken from the producer's copy. */
const DECIDED = new Set(['type', 'id', 'spec_version', 'revoked', 'object_marking_refs', 'granular_markings', 'extensions'])

/** PostgreSQL's jsonb cannot hold U+0000: strings lose it (as DCX's text columns do), everything else is kept. */
function clean(v: unknown): unknown {
  if (typeof v === 'string') return v.replaceAll('\u0000', '')
  if (Array.isArray(v)) return v.map(clean)
  if (isRec(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replaceAll('\u0000', ''), clean(x)]))
  return v
}

/** The description DCX's column keeps of a producer's: NUL removed, cut at 4,000 characters. */
export const columnDescription = (v: unknown) => (typeof v === 'string' ? v.replaceAll('\u0000', '').slice(0, 4000) : '')

/**
 * The producer's properties DCX keeps verbatim: everything but what DCX decides (DECIDED),
 * marking references other than TLP (kept when their definitions resolve), and the extensions of
 * other producers (DCX's own is re-derived from its columns).
 */
export function keptProperties(o: Rec, resolvable: (id: string) => boolean): Rec {
  const kept: Rec = {}
  for (const [k, v] of Object.entries(o)) if (!DECIDED.has(k)) kept[k] = v
  const markings = (Array.isArray(o.object_marking_refs) ? o.object_marking_refs : []).filter(
    (r): r is string => typeof r === 'string' && !TLP_BY_MARKING.has(r) && resolvable(r),
  )
  if (markings.length) kept.object_marking_refs = markings
  if (isRec(o.extensions)) {
    const others = Object.fromEntries(Object.entries(o.extensions).filter(([k]) => k !== DCX_PROPERTIES_EXT))
    if (Object.keys(others).length) kept.extensions = others
  }
  // STIX 2.1 §3.2: created and modified carry at least millisecond precision, in UTC. A producer's
  // coarser or offset form is kept as the same instant in that form (nothing else changes).
  for (const k of ['created', 'modified']) {
    const v = kept[k]
    if (typeof v === 'string' && !STIX_TIMESTAMP_MS.test(v) && !Number.isNaN(Date.parse(v))) kept[k] = new Date(v).toISOString()
  }
  return clean(kept) as Rec
}

const STIX_TIMESTAMP_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3,}Z$/

/** The ids an object references that a resolving importer looks up: creator, markings, extensions. */
export function referencedIds(o: Rec): string[] {
  const ids: string[] = []
  if (typeof o.created_by_ref === 'string') ids.push(o.created_by_ref)
  if (Array.isArray(o.object_marking_refs)) ids.push(...o.object_marking_refs.filter((r): r is string => typeof r === 'string'))
  if (isRec(o.extensions)) ids.push(...Object.keys(o.extensions).filter((k) => k.startsWith('extension-definition--')))
  return ids
}

/** The pushed objects an indicator references that DCX does not define itself, to serve with it. */
export function pushedAlong(o: Rec, pushed: ReadonlyMap<string, Rec>): Rec[] {
  const out: Rec[] = []
  for (const id of new Set(referencedIds(o))) {
    const p = pushed.get(id)
    if (p && !FIXED_BY_ID.has(id)) out.push(clean(p) as Rec)
  }
  return out
}

const sameInstant = (a: unknown, b: Date | null) => typeof a === 'string' && b !== null && Date.parse(a) === b.getTime()
const sameList = (a: unknown, b: readonly string[]) => Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i])
const labelsOf = (v: unknown) => [
  ...new Set(
    (Array.isArray(v) ? v : [])
      .filter((x): x is string => typeof x === 'string')
      .map((l) => l.trim())
      .filter((l) => /^[^\u0000-\u001f\u007f]{1,64}$/.test(l)),
  ),
]

/** The tags DCX keeps of a producer's labels (trimmed, 1–64 characters without control characters, at most 50). */
export const tagsOf = (labels: unknown) => labelsOf(labels).slice(0, 50)

/**
 * The served indicator, with its producer's id, creator and properties. `dcx` is DCX's own
 * mapping of the row (stix.mapping.ts); an item DCX produced, or an erased one (its tombstone
 * says nothing the producer said), is returned unchanged but for its id.
 */
export function withProvenance(dcx: StixObject, r: IndicatorRow): StixObject {
  const id = r.stixId ?? dcx.id
  const p = r.stix
  if (!p || r.status === 'erased') return { ...dcx, id }
  const out: StixObject = { ...dcx, ...p, id }
  // What the owner can change in DCX: the producer's words while the row still says the same.
  if (columnDescription(p.description) !== r.description) {
    if (r.description) out.description = r.description
    else delete out.description
  }
  const confidence = typeof p.confidence === 'number' ? p.confidence : undefined
  if (confidence === undefined || r.confidence !== confidence || r.credibility !== credibilityFromConfidence(confidence)) {
    if (dcx.confidence === undefined) delete out.confidence
    else out.confidence = dcx.confidence
  }
  if (!sameList(tagsOf(p.labels), r.tags)) {
    if (dcx.labels === undefined) delete out.labels
    else out.labels = dcx.labels
  }
  if (!sameInstant(p.valid_from, r.validFrom)) out.valid_from = dcx.valid_from
  if (p.valid_until !== undefined && !sameInstant(p.valid_until, r.validUntil)) {
    if (dcx.valid_until === undefined) delete out.valid_until
    else out.valid_until = dcx.valid_until
  }
  // modified: the producer's while DCX holds the version it was given (version 1), then DCX's
  // (later than the producer's: an update is a new version). versionSql says the same in SQL.
  out.modified = servedModified(r)
  if (typeof p.created !== 'string') out.created = dcx.created
  if (typeof p.created_by_ref !== 'string') out.created_by_ref = dcx.created_by_ref
  // Markings: DCX's TLP first, then the producer's others (kept only when they resolve).
  const others = Array.isArray(p.object_marking_refs) ? (p.object_marking_refs as string[]) : []
  out.object_marking_refs = [...(dcx.object_marking_refs as string[]), ...others]
  const dcxExt = isRec(dcx.extensions) ? dcx.extensions : {}
  const ext = isRec(dcxExt[DCX_PROPERTIES_EXT]) ? (dcxExt[DCX_PROPERTIES_EXT] as Rec) : {}
  out.extensions = {
    ...(isRec(p.extensions) ? p.extensions : {}),
    [DCX_PROPERTIES_EXT]: { ...ext, shared_by_ref: `identity--${r.organisationId}` },
  }
  return out
}

/** The modified an indicator is served with (its TAXII version): see withProvenance. */
export function servedModified(r: Pick<IndicatorRow, 'stix' | 'version' | 'updatedAt' | 'status'>): string {
  const m = r.stix && r.status !== 'erased' ? r.stix.modified : undefined
  return r.version === 1 && typeof m === 'string' && Date.parse(m) <= r.updatedAt.getTime() ? m : r.updatedAt.toISOString()
}
