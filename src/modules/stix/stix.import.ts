// STIX objects → indicators of the caller's organisation (POST /v1/import/stix and TAXII POST
// objects). One result per object. An indicator whose pattern maps to a DCX type goes through the
// same validation as POST /v1/indicators (prepareInsert); placement comes from the request (or the
// collection), the TLP from the request or the object's markings, grading from DCX's extension
// when the object came from DCX, else from STIX confidence (Appendix A in reverse).
//
// Ids: the importing organisation is a new producer, so its item gets a new id — never the
// producer's, whether or not some item already holds that id. The new id is derived from the
// importer and the producer's id (UUIDv5), so the same object imported again is the same item.
// Keeping a free id (and only a free one) made the answer differ for an id another organisation's
// hidden item holds: an existence oracle. Now both take one path, with one answer.
import { createHash } from 'node:crypto'
import { and, eq, inArray, or } from 'drizzle-orm'
import { indicators } from '../../db/schema/index.js'
import type { Tx } from '../../db/client.js'
import type { Ctx } from '../../access/scope.js'
import { AppError } from '../../core/errors.js'
import { isCountryCode } from '../../core/countries.js'
import { TLPS, type Distribution, type Tlp } from '../../access/visibility.js'
import { indicatorCreate } from '../indicators/indicators.schemas.js'
import { prepareInsert } from '../indicators/indicators.service.js'
import { DCX_PROPERTIES_EXT, TLP_BY_MARKING } from './stix.constants.js'
import { credibilityFromConfidence } from './stix.mapping.js'
import { mapPattern } from './stix.pattern.js'

export type ImportStatus = 'created' | 'duplicate' | 'unsupported' | 'invalid'

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
const TAG = /^[^\u0000-\u001f\u007f]{1,64}$/

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

function toInput(o: Rec, type: string, value: string, placement: Placement) {
  const ext = isRec(o.extensions) && isRec(o.extensions[DCX_PROPERTIES_EXT]) ? (o.extensions[DCX_PROPERTIES_EXT] as Rec) : {}
  const confidence = int(o.confidence, 0, 100)
  const date = (v: unknown) => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? new Date(v).toISOString() : undefined)
  return {
    type,
    value,
    valueVisibility: ext.value_visibility === 'match_only' ? 'match_only' : 'full',
    // PostgreSQL text cannot hold NUL; a longer description than DCX keeps is cut, not refused.
    description: (typeof o.description === 'string' ? o.description : typeof o.name === 'string' ? o.name : '').replaceAll('\u0000', '').slice(0, 4000),
    confidence: int(ext.dcx_confidence, 0, 100) ?? confidence ?? 50,
    reliability: typeof ext.reliability === 'string' && /^[A-F]$/.test(ext.reliability) ? ext.reliability : 'F',
    credibility: int(ext.credibility, 1, 6) ?? credibilityFromConfidence(confidence),
    tlp: placement.tlp ?? tlpFromMarkings(o.object_marking_refs) ?? 'amber',
    distribution: placement.distribution,
    sharingGroupId: placement.sharingGroupId,
    validFrom: date(o.valid_from) ?? null,
    validUntil: date(o.valid_until) ?? null,
    tags: [
      ...new Set(
        strings(o.labels)
          .map((l) => l.trim())
          .filter((l) => TAG.test(l)),
      ),
    ].slice(0, 50),
    countries: [...new Set(strings(ext.countries).filter(isCountryCode))].slice(0, 60),
  }
}

async function importOne(tx: Tx, ctx: Ctx, obj: unknown, index: number, placement: Placement): Promise<ImportResult> {
  if (!isRec(obj)) return { index, id: null, type: null, status: 'invalid', reason: 'not a STIX object' }
  const id = typeof obj.id === 'string' ? obj.id.slice(0, 300) : null
  const type = typeof obj.type === 'string' ? obj.type.slice(0, 100) : null
  const base = { index, id, type }
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
  const ext = isRec(obj.extensions) ? obj.extensions[DCX_PROPERTIES_EXT] : undefined
  const mapped = mapPattern(obj.pattern, isRec(ext) ? ext.dcx_type : undefined)
  if (!mapped.ok) return { ...base, status: 'unsupported', reason: mapped.reason }

  const parsed = indicatorCreate.safeParse(toInput(obj, mapped.type, mapped.value, placement))
  if (!parsed.success) {
    return { ...base, status: 'invalid', reason: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') }
  }
  let values: Awaited<ReturnType<typeof prepareInsert>>
  try {
    values = await prepareInsert(tx, ctx, parsed.data, 'indicator')
  } catch (e) {
    if (e instanceof AppError && e.status === 400) return { ...base, status: 'invalid', reason: e.detail }
    throw e
  }
  const producerId = (idMatch[1] ?? '').toLowerCase()
  const ownId = importedId(ctx.actor.organisationId, producerId)
  // Nothing new: the same object again (the id it was given here; or, for the organisation's own
  // items and those imported before ids were derived, the producer's id), or the same value the
  // organisation already holds. Only the organisation's own rows are consulted.
  const [dup] = await tx
    .select({ id: indicators.id, updatedAt: indicators.updatedAt })
    .from(indicators)
    .where(
      and(
        eq(indicators.organisationId, ctx.actor.organisationId),
        or(inArray(indicators.id, [ownId, producerId]), and(eq(indicators.type, values.type), eq(indicators.normalizedValue, values.normalizedValue))),
      ),
    )
    .limit(1)
  if (dup) return { ...base, status: 'duplicate', indicatorId: dup.id, version: dup.updatedAt.toISOString() }
  const ret = { id: indicators.id, updatedAt: indicators.updatedAt }
  const [row] = await tx
    .insert(indicators)
    .values({ ...values, id: ownId })
    .returning(ret)
  if (!row) throw new Error('insert returned nothing')
  return { ...base, status: 'created', indicatorId: row.id, version: row.updatedAt.toISOString() }
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

export async function importObjects(tx: Tx, ctx: Ctx, objects: unknown[], placement: Placement): Promise<ImportResult[]> {
  const results: ImportResult[] = []
  for (const [index, obj] of objects.entries()) results.push(await importOne(tx, ctx, obj, index, placement))
  return results
}

export function countByStatus(results: ImportResult[]): Record<ImportStatus, number> {
  const out: Record<ImportStatus, number> = { created: 0, duplicate: 0, unsupported: 0, invalid: 0 }
  for (const r of results) out[r.status]++
  return out
}
