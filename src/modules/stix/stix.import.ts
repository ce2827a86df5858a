// STIX objects → indicators of the caller's organisation (POST /v1/import/stix and TAXII POST
// objects). One result per object. An indicator whose pattern maps to a DCX type goes through the
// same validation as POST /v1/indicators (checkInsert, and the sharing group's check); placement comes from the request (or the
// collection), the TLP from the request or the object's markings, grading from DCX's extension
// when the object came from DCX, else from STIX confidence (Appendix A in reverse).
//
// Ids: the DCX item gets a DCX id of its own — never the producer's, whether or not some item
// already holds that id — derived from the importer and the producer's id (UUIDv5), so the same
// object imported again is the same item. Keeping a free id (and only a free one) made the answer
// differ for an id another organisation's hidden item holds: an existence oracle. The STIX object
// keeps its producer's id, created_by_ref and properties (stix_id, stix: stix.provenance.ts), and
// is served under that id, so a TAXII client GETs what it pushed; the producer's identity and
// definitions pushed with it are kept with it (stix_refs) and served with it.
import { createHash } from 'node:crypto'
import { and, eq, inArray, or, sql } from 'drizzle-orm'
import { indicators, organisations } from '../../db/schema/index.js'
import type { Tx } from '../../db/client.js'
import type { Ctx } from '../../access/scope.js'
import { AppError } from '../../core/errors.js'
import { isCountryCode } from '../../core/countries.js'
import { TLPS, type Distribution, type Tlp } from '../../access/visibility.js'
import { indicatorCreate } from '../indicators/indicators.schemas.js'
import { checkInsert, type IndicatorInsert } from '../indicators/indicators.service.js'
import { insertIndicators, type ImportedStix } from '../indicators/indicators.repository.js'
import { groupRequired, groupUnusable, usableGroups } from '../sharing-groups/sharing-groups.service.js'
import { DCX_PROPERTIES_EXT, HANDLING_BY_MARKING, TLP_BY_MARKING } from './stix.constants.js'
import { HANDLING_CODES, type HandlingCode } from '../handling/handling.js'
import { credibilityFromConfidence } from './stix.mapping.js'
import { columnDescription, keptProperties, pushedAlong, tagsOf } from './stix.provenance.js'
import { FIXED_BY_ID } from './stix.registry.js'
import { mapPattern } from './stix.pattern.js'

// kept: an identity, marking definition or extension definition an imported indicator references,
// stored with it and served with it (stix.provenance.ts).
export type ImportStatus = 'created' | 'duplicate' | 'kept' | 'unsupported' | 'invalid'

export interface ImportResult {
  index: number
  id: string | null
  type: string | null
  status: ImportStatus
  /** The DCX indicator created, or the existing one this duplicates. */
  indicatorId?: string
  /** The `modified` the DCX item now exports with. */
  version?: string
  reason?: string
}

export interface Placement {
  distribution: Distribution
  sharingGroupId: string | null
  /** Overrides the objects' own markings when given. */
  tlp?: Tlp | undefined
}

// STIX 2.1 identifier (the OASIS schema's pattern): ids outside it are never kept as DCX ids.
const INDICATOR_ID = /^indicator--([0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})$/i

type Rec = Record<string, unknown>
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v)
const int = (v: unknown, min: number, max: number) => (Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? (v as number) : undefined)
const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])

/** The most restrictive TLP among the object's markings (a marking only ever narrows). */
export function tlpFromMarkings(refs: unknown): Tlp | undefined {
  const found = strings(refs)
    .map((r) => TLP_BY_MARKING.get(r))
    .filter((t): t is Tlp => t !== undefined)
  return found.sort((a, b) => TLPS.indexOf(b) - TLPS.indexOf(a))[0]
}

/**
 * The SIENA handling code an object carries: DCX's extension when the object came from DCX, else
 * its handling marking (of several, the highest code); H0 when it has none. H3's restriction
 * comes from the extension's handling_note (without one, the object is refused as invalid).
 */
export function handlingFrom(o: Rec, ext: Rec): { handlingCode: HandlingCode; handlingNote?: string } {
  const note = typeof ext.handling_note === 'string' ? { handlingNote: ext.handling_note.replaceAll('\u0000', '').slice(0, 500) } : {}
  if (HANDLING_CODES.includes(ext.handling_code as HandlingCode)) {
    const code = ext.handling_code as HandlingCode
    return code === 'H3' ? { handlingCode: code, ...note } : { handlingCode: code }
  }
  const found = strings(o.object_marking_refs)
    .map((r) => HANDLING_BY_MARKING.get(r))
    .filter((c): c is HandlingCode => c !== undefined)
    .sort()
    .reverse()[0]
  const code = found ?? 'H0'
  return code === 'H3' ? { handlingCode: code, ...note } : { handlingCode: code }
}

function toInput(o: Rec, type: string, value: string, placement: Placement) {
  const ext = isRec(o.extensions) && isRec(o.extensions[DCX_PROPERTIES_EXT]) ? (o.extensions[DCX_PROPERTIES_EXT] as Rec) : {}
  const confidence = int(o.confidence, 0, 100)
  const date = (v: unknown) => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? new Date(v).toISOString() : undefined)
  return {
    type,
    value,
    valueVisibility: ext.value_visibility === 'match_only' ? 'match_only' : 'full',
    // PostgreSQL text cannot hold NUL; a longer description than DCX keeps is cut, not refused.
    // The name stays the name (kept with the producer's properties), not the description.
    description: columnDescription(o.description),
    confidence: int(ext.dcx_confidence, 0, 100) ?? confidence ?? 50,
    reliability: typeof ext.reliability === 'string' && /^[A-F]$/.test(ext.reliability) ? ext.reliability : 'F',
    credibility: int(ext.credibility, 1, 6) ?? credibilityFromConfidence(confidence),
    tlp: placement.tlp ?? tlpFromMarkings(o.object_marking_refs) ?? 'amber',
    distribution: placement.distribution,
    sharingGroupId: placement.sharingGroupId,
    validFrom: date(o.valid_from) ?? null,
    validUntil: date(o.valid_until) ?? null,
    tags: tagsOf(o.labels),
    countries: [...new Set(strings(ext.countries).filter(isCountryCode))].slice(0, 60),
    ...handlingFrom(o, ext),
  }
}

/** An object that may become an item: its row, checked in code, waiting for the duplicate check. */
interface Candidate {
  kind: 'candidate'
  base: { index: number; id: string | null; type: string | null }
  producerId: string
  values: IndicatorInsert & ImportedStix & { id: string }
}

/** Referenced objects a batch may carry along with its indicators (kept with them, never items of their own). */
const CARRIED = new Set(['identity', 'marking-definition', 'extension-definition'])

// RFC 3339 as STIX writes timestamps (§3.2): date, T, time, optional fraction, Z or an offset.
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i
const badTimestamp = (v: unknown) => v !== undefined && (typeof v !== 'string' || !TIMESTAMP.test(v) || Number.isNaN(Date.parse(v)))

/** Everything about one object that needs no query: a final result, or a candidate row. */
function checkOne(
  ctx: Ctx,
  obj: unknown,
  index: number,
  placement: Placement,
  pushed: ReadonlyMap<string, Rec>,
  dcxIdentities: ReadonlySet<string>,
): ImportResult | Candidate {
  if (!isRec(obj)) return { index, id: null, type: null, status: 'invalid', reason: 'not a STIX object' }
  const id = typeof obj.id === 'string' ? obj.id.slice(0, 300) : null
  const type = typeof obj.type === 'string' ? obj.type.slice(0, 100) : null
  const base = { index, id, type }
  if (type && CARRIED.has(type) && id) {
    if (FIXED_BY_ID.has(id)) return { ...base, status: 'kept', reason: 'DCX defines this object and serves it itself' }
    if (dcxIdentities.has(id)) return { ...base, status: 'kept', reason: "DCX serves this organisation's identity itself" }
  }
  if (type !== 'indicator') {
    return { ...base, status: 'unsupported', reason: `${type ?? 'untyped'} objects do not become DCX items; only indicators are imported` }
  }
  const idMatch = id ? INDICATOR_ID.exec(id) : null
  if (!idMatch) return { ...base, status: 'invalid', reason: 'id is not an indicator--<UUID> identifier' }
  if (obj.pattern_type !== 'stix')
    return {
      ...base,
      status: 'unsupported',
      reason: `pattern_type ${String(obj.pattern_type).slice(0, 50)} is not supported; only STIX patterns map to DCX types`,
    }
  if (typeof obj.pattern !== 'string') return { ...base, status: 'invalid', reason: 'the indicator has no pattern' }
  for (const k of ['created', 'modified'] as const) {
    if (badTimestamp(obj[k])) return { ...base, status: 'invalid', reason: `${k} is not an RFC 3339 timestamp` }
  }
  if (typeof obj.created === 'string' && typeof obj.modified === 'string' && Date.parse(obj.modified) < Date.parse(obj.created)) {
    return { ...base, status: 'invalid', reason: 'modified is earlier than created' }
  }
  const ext = isRec(obj.extensions) ? obj.extensions[DCX_PROPERTIES_EXT] : undefined
  const mapped = mapPattern(obj.pattern, isRec(ext) ? ext.dcx_type : undefined)
  if (!mapped.ok) return { ...base, status: 'unsupported', reason: mapped.reason }

  const parsed = indicatorCreate.safeParse(toInput(obj, mapped.type, mapped.value, placement))
  if (!parsed.success) {
    return { ...base, status: 'invalid', reason: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') }
  }
  let values: IndicatorInsert
  try {
    values = checkInsert(ctx, parsed.data, 'indicator')
    if (parsed.data.distribution === 'sharing_group' && !values.sharingGroupId) throw groupRequired('indicator.sharingGroupId')
  } catch (e) {
    if (e instanceof AppError && e.status === 400) return { ...base, status: 'invalid', reason: e.detail }
    throw e
  }
  const producerId = (idMatch[1] ?? '').toLowerCase()
  const resolvable = (ref: string) => FIXED_BY_ID.has(ref) || pushed.has(ref)
  const along = pushedAlong(obj, pushed)
  const stix: ImportedStix = {
    // The producer's id, as it wrote it: the object is served under it (stix.provenance.ts).
    stixId: id,
    stix: keptProperties(obj, resolvable),
    stixRefs: along.length ? along : null,
    status: obj.revoked === true ? 'revoked' : 'active',
  }
  return { kind: 'candidate', base, producerId, values: { ...values, ...stix, id: importedId(ctx.actor.organisationId, producerId) } }
}

/** A text[] literal: each element double-quoted, its quotes and backslashes escaped (one parameter, not one per value). */
const textArray = (values: string[]) => `{${values.map((v) => `"${v.replace(/["\\]/g, '\\$&')}"`).join(',')}}`

const valueKey = (type: string, normalizedValue: string) => `${type}\u0000${normalizedValue}`

/**
 * The organisation's own rows any candidate could duplicate — by the id it would get here, by the
 * producer's id (the organisation's own items and those imported before ids were derived), or by
 * (type, normalized value) — in one statement. Only the organisation's own rows are consulted.
 */
async function existingRows(tx: Tx, organisationId: string, candidates: Candidate[]) {
  const byId = new Map<string, { id: string; updatedAt: Date }>()
  const byValue = new Map<string, { id: string; updatedAt: Date }>()
  if (candidates.length === 0) return { byId, byValue }
  const ids = [...new Set(candidates.flatMap((c) => [c.values.id, c.producerId]))]
  const values = [...new Set(candidates.map((c) => c.values.normalizedValue))]
  const stixIds = [...new Set(candidates.map((c) => c.values.stixId).filter((x): x is string => x !== null))]
  const i = indicators
  const rs = await tx
    .select({ id: i.id, stixId: i.stixId, type: i.type, normalizedValue: i.normalizedValue, updatedAt: i.updatedAt })
    .from(i)
    .where(
      and(
        eq(i.organisationId, organisationId),
        or(
          sql`${i.id} = any(${`{${ids.join(',')}}`}::uuid[])`,
          sql`${i.stixId} = any(${textArray(stixIds)}::text[])`,
          sql`${i.normalizedValue} = any(${textArray(values)}::text[])`,
        ),
      ),
    )
  for (const r of rs) {
    byId.set(r.id, r)
    if (r.stixId) byId.set(r.stixId, r)
    const k = valueKey(r.type, r.normalizedValue)
    if (!byValue.has(k)) byValue.set(k, r)
  }
  return { byId, byValue }
}

// The UUIDv5 namespace of imported indicator ids (a fixed random UUID; never change it, or
// re-imports stop finding the items they made).
const IMPORT_NAMESPACE = Buffer.from('5b0f8c9e3d6a4e1f9a2c7d4b8e6f1a03', 'hex')

/**
 * The id an imported object gets in the importing organisation: UUIDv5 (RFC 9562 §5.5) of the
 * organisation and the producer's id. Stable (the same object imported again maps to the same
 * item), distinct per organisation, and it never equals an id some other item holds except by a
 * SHA-1 preimage: the answer cannot depend on whether another organisation's item exists.
 */
export function importedId(organisationId: string, producerId: string): string {
  const h = createHash('sha1').update(IMPORT_NAMESPACE).update(`${organisationId.toLowerCase()}/${producerId.toLowerCase()}`, 'utf8').digest()
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80
  const x = h.subarray(0, 16).toString('hex')
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`
}

const ORG_IDENTITY = /^identity--([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i

/** Which of these STIX ids are identity--<id> of an organisation of DCX. */
async function organisationIdentities(tx: Tx, ids: string[]): Promise<Set<string>> {
  const byUuid = new Map<string, string>()
  for (const id of ids) {
    const m = ORG_IDENTITY.exec(id)
    if (m) byUuid.set(m[1]!.toLowerCase(), id)
  }
  if (byUuid.size === 0) return new Set()
  const rs = await tx
    .select({ id: organisations.id })
    .from(organisations)
    .where(inArray(organisations.id, [...byUuid.keys()]))
  return new Set(rs.map((r) => byUuid.get(r.id)!))
}

/**
 * One result per object, as importing them one after another would give (an object the same as
 * an earlier one of the batch is a duplicate of the item that one created), set-based: every
 * object checked in code, the sharing group checked once, one query for the duplicates, one insert.
 */
export async function importObjects(tx: Tx, ctx: Ctx, objects: unknown[], placement: Placement): Promise<ImportResult[]> {
  // The referenced objects the batch carries (identities, marking and extension definitions), by id.
  const pushed = new Map<string, Rec>()
  for (const o of objects) {
    if (isRec(o) && typeof o.type === 'string' && CARRIED.has(o.type) && typeof o.id === 'string' && !pushed.has(o.id)) pushed.set(o.id, o)
  }
  // The identities of DCX's own organisations: DCX serves them from the directory, never a pushed copy.
  const dcxIdentities = await organisationIdentities(tx, [...pushed.keys()])
  for (const id of dcxIdentities) pushed.delete(id)
  const checked = objects.map((obj, index) => checkOne(ctx, obj, index, placement, pushed, dcxIdentities))
  const candidates = checked.filter((c): c is Candidate => 'kind' in c)
  // A pushed identity or definition that an indicator becoming an item references is kept with it.
  const referenced = new Set(candidates.flatMap((c) => (c.values.stixRefs ?? []).map((r) => String(r.id))))
  checked.forEach((c, i) => {
    if (!('kind' in c) && c.status === 'unsupported' && c.type && CARRIED.has(c.type) && c.id && referenced.has(c.id)) {
      checked[i] = { ...c, status: 'kept', reason: 'kept with the indicators that reference it, and served with them' }
    }
  })
  // Placement is the request's (or the collection's): one group for every object.
  const group = placement.distribution === 'sharing_group' ? placement.sharingGroupId : null
  const groupOk = group && candidates.length ? (await usableGroups(tx, ctx.actor.organisationId, [group])).has(group) : true
  const unusable = groupUnusable('indicator.sharingGroupId').detail
  const { byId, byValue } = groupOk ? await existingRows(tx, ctx.actor.organisationId, candidates) : { byId: new Map(), byValue: new Map() }
  // Rows this batch creates, found by later objects exactly as rows already stored are.
  const createdById = new Map<string, Candidate>()
  const createdByValue = new Map<string, Candidate>()
  const toInsert: Candidate[] = []
  const pending: { slot: number; of: Candidate }[] = []
  const results = checked.map((c, slot): ImportResult => {
    if (!('kind' in c)) return c
    if (!groupOk) return { ...c.base, status: 'invalid', reason: unusable }
    const v = c.values
    const k = valueKey(v.type, v.normalizedValue)
    const stored = byId.get(v.id) ?? byId.get(c.producerId) ?? (v.stixId ? byId.get(v.stixId) : undefined) ?? byValue.get(k)
    if (stored) return { ...c.base, status: 'duplicate', indicatorId: stored.id, version: stored.updatedAt.toISOString() }
    const earlier = createdById.get(v.id) ?? createdById.get(c.producerId) ?? createdByValue.get(k)
    if (earlier) {
      pending.push({ slot, of: earlier })
      return { ...c.base, status: 'duplicate', indicatorId: earlier.values.id }
    }
    createdById.set(v.id, c)
    if (!createdByValue.has(k)) createdByValue.set(k, c)
    toInsert.push(c)
    pending.push({ slot, of: c })
    return { ...c.base, status: 'created', indicatorId: v.id }
  })
  const inserted = await insertIndicators(
    tx,
    toInsert.map((c) => c.values),
  )
  for (const p of pending) {
    const at = inserted.get(p.of.values.id)
    if (!at) throw new Error('insert returned no row for an imported object')
    ;(results[p.slot] as ImportResult).version = at.toISOString()
  }
  return results
}

export function countByStatus(results: ImportResult[]): Record<ImportStatus, number> {
  const out: Record<ImportStatus, number> = { created: 0, duplicate: 0, kept: 0, unsupported: 0, invalid: 0 }
  for (const r of results) out[r.status]++
  return out
}
