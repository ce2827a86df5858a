// DCX rows → STIX 2.1 objects. Ids are the DCX ids (stable: the same item always exports under the
// same id; an update changes only `modified`). Pure functions; the export and TAXII share them.
import { createHash } from 'node:crypto'
import type { IndicatorRow, NoteRow, OrganisationRow } from '../../db/schema/index.js'
import type { Tlp } from '../../access/visibility.js'
import type { IndicatorType } from '../indicators/normalize.js'
import { withProvenance } from './stix.provenance.js'
import { DCX_PROPERTIES_EXT, DCX_UUID_NAMESPACE, HANDLING_MARKING_IDS, HASH_NAMES, OBSERVABLE, TLP_MARKING_IDS } from './stix.constants.js'
import type { HandlingCode } from '../handling/handling.js'

export type StixObject = Record<string, unknown> & { type: string; id: string }

/** RFC 4122 §4.3 name-based UUID (SHA-1), for ids DCX derives rather than stores. */
export function uuidv5(name: string, namespace = DCX_UUID_NAMESPACE): string {
  const h = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest()
  h[6] = (h[6]! & 0x0f) | 0x50
  h[8] = (h[8]! & 0x3f) | 0x80
  const x = h.subarray(0, 16).toString('hex')
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`
}

// STIX 2.1 Appendix A, "Admiralty Credibility": 1 → 90, 2 → 70, 3 → 50, 4 → 30, 5 → 10, 6 → no value.
const CONFIDENCE_OF_CREDIBILITY: Record<number, number | undefined> = { 1: 90, 2: 70, 3: 50, 4: 30, 5: 10 }

export const confidenceFromCredibility = (credibility: number) => CONFIDENCE_OF_CREDIBILITY[credibility]

/** The inverse mapping of the same appendix: 80–100 → 1 … 0–19 → 5; no confidence → 6. */
export function credibilityFromConfidence(confidence: number | undefined): number {
  if (confidence === undefined) return 6
  if (confidence >= 80) return 1
  if (confidence >= 60) return 2
  if (confidence >= 40) return 3
  if (confidence >= 20) return 4
  return 5
}

const ts = (d: Date) => d.toISOString()
/** The object's markings: its TLP and, when it has one, its SIENA handling code. */
const marking = (tlp: string, handling?: string) => [
  TLP_MARKING_IDS[tlp as Tlp] ?? TLP_MARKING_IDS.amber,
  ...(handling && HANDLING_MARKING_IDS[handling as HandlingCode] ? [HANDLING_MARKING_IDS[handling as HandlingCode]] : []),
]
const handlingProps = (r: { handlingCode: string; handlingNote: string | null }) => ({
  handling_code: r.handlingCode,
  ...(r.handlingNote ? { handling_note: r.handlingNote } : {}),
})
/** STIX lists must not be empty (minItems 1): leave the property out instead. */
const list = (name: string, xs: readonly string[]) => (xs.length ? { [name]: [...xs] } : {})
const ext = (props: Record<string, unknown>) => ({
  extensions: { [DCX_PROPERTIES_EXT]: { extension_type: 'property-extension', ...props } },
})

/** A STIX pattern string literal: backslash and quote escaped (STIX 2.1 patterning §9.3). */
export const patternString = (v: string) => `'${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`

export function patternFor(type: IndicatorType, value: string, normalizedValue: string, network: string | null): string {
  const o = OBSERVABLE[type]
  const v = o.normalized ? normalizedValue : value
  if (type === 'file_hash') return `[file:hashes.'${HASH_NAMES[network ?? ''] ?? 'SHA-256'}' = ${patternString(v)}]`
  return `[${o.sco}:${o.property} = ${patternString(v)}]`
}

export const identityRef = (organisationId: string) => `identity--${organisationId}`

/** Null for another organisation's match_only row: its value never leaves DCX (defence in depth). */
export function toStixIndicator(r: IndicatorRow, viewerOrganisationId: string): StixObject | null {
  if (r.valueVisibility === 'match_only' && r.organisationId !== viewerOrganisationId) return null
  const validFrom = r.validFrom ?? r.createdAt
  const confidence = confidenceFromCredibility(r.credibility)
  const shown = OBSERVABLE[r.type as IndicatorType]?.normalized ? r.normalizedValue : r.value
  return withProvenance(dcxIndicator(r, validFrom, confidence, shown), r)
}

function dcxIndicator(r: IndicatorRow, validFrom: Date, confidence: number | undefined, shown: string): StixObject {
  return {
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--${r.id}`,
    created_by_ref: identityRef(r.organisationId),
    created: ts(r.createdAt),
    modified: ts(r.updatedAt),
    name: `${r.type}: ${shown}`.slice(0, 250),
    // Validators warn on an indicator without a description: say what it is when the owner wrote none.
    // (An imported object says what its producer said: stix.provenance.ts.)
    ...(r.description || r.stix
      ? r.description
        ? { description: r.description }
        : {}
      : { description: `A ${r.type.replaceAll('_', ' ')} shared on DCX as a risk indicator (drug-related cybercrime).` }),
    indicator_types: ['malicious-activity'],
    pattern: patternFor(r.type as IndicatorType, r.value, r.normalizedValue, r.network),
    pattern_type: 'stix',
    pattern_version: '2.1',
    valid_from: ts(validFrom),
    // STIX requires valid_until > valid_from; DCX allows them equal.
    ...(r.validUntil && r.validUntil > validFrom ? { valid_until: ts(r.validUntil) } : {}),
    ...list('labels', r.tags),
    ...(confidence !== undefined ? { confidence } : {}),
    // An erased item is served as revoked: its tombstone (value and free text gone) retracts it.
    revoked: r.status === 'revoked' || r.status === 'erased',
    object_marking_refs: marking(r.tlp, r.handlingCode),
    ...ext({
      dcx_type: r.type,
      ...(r.network ? { network: r.network } : {}),
      reliability: r.reliability,
      credibility: r.credibility,
      dcx_confidence: r.confidence,
      distribution: r.distribution,
      ...(r.sharingGroupId ? { sharing_group_id: r.sharingGroupId } : {}),
      value_visibility: r.valueVisibility,
      ...list('countries', r.countries),
      ...handlingProps(r),
      version: r.version,
    }),
  }
}

// industry-sector-ov has no police or customs; the exact DCX sector travels in the extension.
const SECTOR_OV: Record<string, string> = {
  police: 'government-national',
  customs: 'government-national',
  border: 'government-national',
  prosecution: 'government-national',
  judiciary: 'government-national',
  international: 'government',
  postal: 'transportation',
  courier: 'transportation',
  industry: 'technology',
  academia: 'education',
}

export function toStixIdentity(
  o: Pick<OrganisationRow, 'id' | 'name' | 'sector' | 'country' | 'contactEmail' | 'contactPhone' | 'contactHours' | 'createdAt' | 'updatedAt'>,
): StixObject {
  const contact = [o.contactEmail, o.contactPhone, o.contactHours].filter(Boolean).join('; ')
  return {
    type: 'identity',
    spec_version: '2.1',
    id: identityRef(o.id),
    created: ts(o.createdAt),
    modified: ts(o.updatedAt),
    name: o.name,
    identity_class: 'organization',
    sectors: [SECTOR_OV[o.sector] ?? 'government'],
    ...(contact ? { contact_information: contact } : {}),
    ...ext({ sector: o.sector, country: o.country }),
  }
}

/** A best-practice note is a standalone document: a STIX report about its author's practice. */
export function toStixReport(n: NoteRow): StixObject {
  return {
    type: 'report',
    spec_version: '2.1',
    id: `report--${n.id}`,
    created_by_ref: identityRef(n.organisationId),
    created: ts(n.createdAt),
    modified: ts(n.updatedAt),
    name: n.title || '(erased)',
    description: `${n.summary}\n\n${n.body}`,
    report_types: ['dcx-best-practice'],
    published: ts(n.createdAt),
    object_refs: [identityRef(n.organisationId)],
    lang: n.language,
    ...list('labels', n.topics),
    revoked: n.status === 'revoked' || n.status === 'erased',
    object_marking_refs: marking(n.tlp, n.handlingCode),
    ...ext({
      summary: n.summary,
      ...list('topics', n.topics),
      ...list('sectors', n.sectors),
      distribution: n.distribution,
      ...handlingProps(n),
      version: n.version,
    }),
  }
}

/**
 * A sighting summary's id: stable (the same indicator, organisation and outcome always give the
 * same one, so re-exports deduplicate) and shaped like a random UUID (version 4, as STIX 2.1 §2.9
 * recommends for SDOs and SROs): MD5 of the three, version and variant bits set. sightingIdSql
 * computes the same in the database, which pages by it.
 */
export function sightingId(indicatorId: string, organisationId: string, outcome: string): string {
  const h = createHash('md5').update(`sighting:${indicatorId}:${organisationId}:${outcome}`, 'utf8').digest('hex')
  const variant = '89ab'[Number.parseInt(h[16]!, 16) % 4]
  const x = `${h.slice(0, 12)}4${h.slice(13, 16)}${variant}${h.slice(17)}`
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`
}

export interface SightingAggregate {
  /** The indicator's id as served (its producer's STIX id when imported). */
  indicatorStixId?: string | null
  indicatorId: string
  organisationId: string
  outcome: string
  count: number
  reports: number
  firstSeen: Date
  lastSeen: Date
  firstReported: Date
  lastReported: Date
  tlp: string
  /** The sighted indicator's handling code: its sightings are marked with it too. */
  handlingCode?: string
}

/**
 * Sightings export as one summary per indicator, organisation and outcome — the same aggregate
 * GET /v1/indicators/{id}/sightings shows; individual reports and their notes stay with the reporter.
 */
export function toStixSighting(s: SightingAggregate): StixObject {
  return {
    type: 'sighting',
    spec_version: '2.1',
    id: `sighting--${sightingId(s.indicatorId, s.organisationId, s.outcome)}`,
    created_by_ref: identityRef(s.organisationId),
    created: ts(s.firstReported),
    modified: ts(s.lastReported),
    first_seen: ts(s.firstSeen),
    last_seen: ts(s.lastSeen),
    count: Math.min(s.count, 999_999_999),
    sighting_of_ref: s.indicatorStixId ?? `indicator--${s.indicatorId}`,
    where_sighted_refs: [identityRef(s.organisationId)],
    summary: true,
    object_marking_refs: marking(s.tlp, s.handlingCode),
    ...ext({ outcome: s.outcome, reports: s.reports }),
  }
}
