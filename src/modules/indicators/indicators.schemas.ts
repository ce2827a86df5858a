import { z } from 'zod'
import { countryCode, page, timestamp, uuid } from '../../core/schemas.js'
import { DISTRIBUTIONS, TLPS } from '../../access/visibility.js'
import { INDICATOR_TYPES } from './normalize.js'
import { review } from '../handling/publication.js'
import { handlingCreateFields, handlingOutput, handlingPatchFields, HANDLING_CODES } from '../handling/handling.js'
import { matchWarning } from '../warning-lists/warning-lists.schemas.js'

export const indicatorType = z.enum(INDICATOR_TYPES)
export const tlp = z.enum(TLPS)
export const distribution = z.enum(DISTRIBUTIONS)
export const reliability = z.enum(['A', 'B', 'C', 'D', 'E', 'F']).describe('Admiralty source reliability: A completely reliable … F cannot be judged')
export const credibility = z.number().int().min(1).max(6).describe('Admiralty information credibility: 1 confirmed … 6 cannot be judged')
const tag = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'no control characters')
const isoDate = z.iso.datetime({ offset: true }).describe('RFC 3339 date-time')
/** A writer's review-by date (modules/retention/review-by.ts checks it is ahead, at most 60 months). */
export const reviewByInput = z.iso
  .datetime({ offset: true })
  .describe("RFC 3339 date-time, in the future and at most 60 months ahead; default: creation plus the owner's retention period")
/** An item's review state, beside its status (which a passed review-by date does not change). */
export const reviewStatus = z
  .enum(['current', 'review_due'])
  .nullable()
  .describe(
    "review_due once reviewBy has passed (the item is in its owner's review queue; erased 30 days after reviewBy unless extended); null for revoked or erased items",
  )

export const indicator = z
  .object({
    id: uuid,
    organisationId: uuid,
    type: indicatorType,
    value: z.string(),
    normalizedValue: z.string(),
    network: z.string().nullable().describe('crypto_address: bitcoin, bitcoin-testnet, ethereum, monero; file_hash: md5, sha1, sha256'),
    valueVisibility: z.enum(['full', 'match_only']),
    description: z.string(),
    confidence: z.number().int(),
    reliability,
    credibility: z.number().int(),
    tlp,
    distribution,
    sharingGroupId: uuid.nullable(),
    validFrom: timestamp.nullable(),
    validUntil: timestamp.nullable(),
    tags: z.array(z.string()),
    countries: z.array(z.string()),
    ...handlingOutput,
    status: z
      .enum(['draft', 'active', 'revoked', 'erased'])
      .describe('draft: four-eyes publication pending, seen by the own organisation only; erased: value and free text wiped (a tombstone)'),
    review,
    reviewBy: timestamp.describe("When the owner reviews the item: extend it or erase it (default from the owner's retention settings)"),
    reviewStatus: reviewStatus,
    version: z.number().int(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Indicator' })

const inputFields = {
  description: z.string().max(4000).default(''),
  confidence: z.number().int().min(0).max(100).default(50),
  reliability: reliability.default('F'),
  credibility: credibility.default(6),
  tlp: tlp.default('amber'),
  distribution: distribution.default('organisation'),
  sharingGroupId: z.uuid().nullable().optional(),
  validFrom: isoDate.nullable().optional(),
  validUntil: isoDate.nullable().optional(),
  tags: z.array(tag).max(50).default([]),
  countries: z.array(countryCode).max(60).default([]),
  ...handlingCreateFields,
  reviewBy: reviewByInput.optional(),
}

export const indicatorCreate = z
  .object({
    type: indicatorType,
    value: z.string().min(1).max(4000),
    valueVisibility: z
      .enum(['full', 'match_only'])
      .default('full')
      .describe('match_only: other organisations never see the value; an exact match tells them it is known and whom to contact'),
    ...inputFields,
  })
  .strict()
  .meta({ id: 'IndicatorCreate' })

export const indicatorPatch = z
  .object({
    valueVisibility: z.enum(['full', 'match_only']).optional(),
    description: z.string().max(4000).optional(),
    confidence: z.number().int().min(0).max(100).optional(),
    reliability: reliability.optional(),
    credibility: credibility.optional(),
    tlp: tlp.optional(),
    distribution: distribution.optional(),
    sharingGroupId: z.uuid().nullable().optional(),
    validFrom: isoDate.nullable().optional(),
    validUntil: isoDate.nullable().optional(),
    tags: z.array(tag).max(50).optional(),
    countries: z.array(countryCode).max(60).optional(),
    ...handlingPatchFields,
    reviewBy: reviewByInput.optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'send at least one field to change')
  .meta({ id: 'IndicatorPatch' })

export const indicatorListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().min(1).max(512).optional(),
    type: indicatorType.optional(),
    value: z.string().min(1).max(4000).optional().describe('Exact match on the normalised form (normalised by type when type is given)'),
    q: z.string().min(1).max(500).optional().describe('Full-text search over value and description'),
    tag: z.string().min(1).max(64).optional(),
    tlp: tlp.optional(),
    organisationId: z.uuid().optional(),
    country: countryCode.optional(),
    updatedSince: isoDate.optional(),
    status: z.enum(['draft', 'active', 'revoked']).optional(),
  })
  .strict()

export const indicatorPage = page(indicator).meta({ id: 'IndicatorPage' })

export const bulkRequest = z
  .object({ items: z.array(z.unknown()).min(1).max(1000).describe('Up to 1,000 IndicatorCreate objects; each is validated on its own') })
  .strict()
  .meta({ id: 'BulkRequest' })

const fieldProblem = z.object({ name: z.string(), reason: z.string() })
export const bulkResponse = z
  .object({
    results: z.array(
      z.object({
        index: z.number().int(),
        status: z.enum(['created', 'invalid']),
        id: uuid.optional(),
        problem: z.object({ detail: z.string(), errors: z.array(fieldProblem) }).optional(),
      }),
    ),
  })
  .meta({ id: 'BulkResponse' })

export const matchRequest = z
  .object({
    values: z
      .array(z.object({ type: indicatorType.optional(), value: z.string().min(1).max(4000) }).strict())
      .min(1)
      .max(10_000),
  })
  .strict()
  .meta({ id: 'MatchRequest' })

export const matchResponse = z
  .object({
    results: z.array(
      z.object({
        type: indicatorType.optional(),
        value: z.string(),
        problem: z.string().optional().describe('Why a typed value could not be screened (it is not valid for its type)'),
        matches: z.array(
          z.object({
            id: uuid,
            type: indicatorType,
            organisationId: uuid,
            organisation: z.object({
              name: z.string(),
              contact: z.object({ email: z.string(), phone: z.string().optional(), hours: z.string().optional() }),
            }),
            valueVisibility: z.enum(['full', 'match_only']),
            tlp,
            confidence: z.number().int(),
            handlingCode: z.enum(HANDLING_CODES),
            status: z.enum(['active', 'revoked']),
            warning: matchWarning.optional(),
            overCorrelated: z.literal(true).optional().describe('The value is held by more than 20 items you may see (shared infrastructure)'),
          }),
        ),
      }),
    ),
  })
  .meta({ id: 'MatchResponse' })

export const sightingCreate = z
  .object({
    seenAt: isoDate,
    count: z.number().int().min(1).max(1_000_000).default(1),
    outcome: z.enum(['seen', 'seized', 'nothing_found', 'controlled_delivery', 'false_positive']).default('seen'),
    note: z.string().max(2000).optional(),
  })
  .strict()
  .meta({ id: 'SightingCreate' })

export const sighting = z
  .object({
    id: uuid,
    indicatorId: uuid,
    organisationId: uuid,
    seenAt: timestamp,
    count: z.number().int(),
    outcome: z.string(),
    note: z.string().nullable(),
    createdAt: timestamp,
  })
  .meta({ id: 'Sighting' })

export const sightingSummary = z
  .object({
    items: z.array(
      z.object({
        organisationId: uuid,
        organisationName: z.string(),
        outcome: z.string(),
        count: z.number().int(),
        reports: z.number().int(),
        lastSeenAt: timestamp,
      }),
    ),
    own: z.array(sighting).describe("Your organisation's own reports, with their notes"),
  })
  .meta({ id: 'SightingSummary' })

export type Indicator = z.infer<typeof indicator>
export type IndicatorCreate = z.infer<typeof indicatorCreate>
export type IndicatorPatch = z.infer<typeof indicatorPatch>
export type IndicatorListQuery = z.infer<typeof indicatorListQuery>
