// Input rules shared by create, bulk and update: normalisation by type, TLP × distribution,
// validity window (countries: the shared countryCode schema). Each failure names the field, for a 400 or a bulk item result.
import { AppError, type FieldProblem } from '../../core/errors.js'
import type { Distribution, Tlp } from '../../access/visibility.js'
import { normalizeIndicator, type IndicatorType } from './normalize.js'
import type { IndicatorRow } from '../../db/schema/index.js'
import type { Indicator } from './indicators.schemas.js'
import { reviewOf } from '../handling/publication.js'
import { reviewStatusOf } from '../retention/review-by.js'

export function invalidFields(fields: FieldProblem[]): AppError {
  return new AppError('validation', fields.map((f) => `${f.name}: ${f.reason}`).join('; '), fields)
}

export function normalizedOrThrow(type: IndicatorType, value: string, field = 'body.value') {
  const n = normalizeIndicator(type, value)
  if (!n.ok) throw invalidFields([{ name: field, reason: n.reason }])
  return n
}

export interface Placement {
  tlp: Tlp
  distribution: Distribution
  sharingGroupId?: string | null | undefined
  validFrom?: string | Date | null | undefined
  validUntil?: string | Date | null | undefined
  countries?: string[] | undefined
}

/** Cross-field rules; returns the problems (empty when fine). */
export function placementProblems(p: Placement, prefix = 'body'): FieldProblem[] {
  const out: FieldProblem[] = []
  if (p.tlp === 'red' && p.distribution !== 'organisation' && p.distribution !== 'sharing_group') {
    out.push({ name: `${prefix}.tlp`, reason: 'TLP:RED may only be distributed to the organisation or a sharing group' })
  }
  if (p.distribution === 'sharing_group' && !p.sharingGroupId) {
    out.push({ name: `${prefix}.sharingGroupId`, reason: 'required when distribution is sharing_group' })
  }
  if (p.distribution !== 'sharing_group' && p.sharingGroupId) {
    out.push({ name: `${prefix}.sharingGroupId`, reason: 'only allowed when distribution is sharing_group' })
  }
  if (p.validFrom && p.validUntil && new Date(p.validFrom) > new Date(p.validUntil)) {
    out.push({ name: `${prefix}.validUntil`, reason: 'must not be before validFrom' })
  }
  return out
}

export function toIndicator(row: IndicatorRow, viewerOrganisationId: string): Indicator {
  // Defence in depth: readable queries never return another organisation's match_only row,
  // but if one ever did, its value would not leave here.
  const withheld = row.valueVisibility === 'match_only' && row.organisationId !== viewerOrganisationId
  return {
    id: row.id,
    organisationId: row.organisationId,
    type: row.type as Indicator['type'],
    value: withheld ? '' : row.value,
    normalizedValue: withheld ? '' : row.normalizedValue,
    network: row.network,
    valueVisibility: row.valueVisibility as Indicator['valueVisibility'],
    description: row.description,
    confidence: row.confidence,
    reliability: row.reliability as Indicator['reliability'],
    credibility: row.credibility,
    tlp: row.tlp as Indicator['tlp'],
    distribution: row.distribution as Indicator['distribution'],
    sharingGroupId: row.sharingGroupId,
    validFrom: row.validFrom?.toISOString() ?? null,
    validUntil: row.validUntil?.toISOString() ?? null,
    tags: row.tags,
    countries: row.countries,
    handlingCode: row.handlingCode as Indicator['handlingCode'],
    handlingNote: row.handlingNote,
    status: row.status as Indicator['status'],
    review: reviewOf(row),
    reviewBy: row.reviewBy.toISOString(),
    reviewStatus: reviewStatusOf(row.status, row.reviewBy),
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  }
}
