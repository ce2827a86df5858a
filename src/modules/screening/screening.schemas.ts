import { z } from 'zod'
import { page, timestamp, uuid } from '../../core/schemas.js'
import { indicatorType, tlp } from '../indicators/indicators.schemas.js'
import { MAX_EVALUATE_ELEMENTS, TAG_BYTES } from '../../screening/wire.js'
import { matchWarning } from '../warning-lists/warning-lists.schemas.js'

// The wire format of DESIGN.md §8: every byte string base64url without padding (decoded strictly
// by the service, which names the element that is not).
const b64 = (bytes: number) =>
  z
    .string()
    .max(Math.ceil((bytes * 4) / 3) + 4)
    .describe(`${bytes} bytes, base64url without padding`)
const epoch = z.number().int().min(1).max(2_147_483_647).describe('The key epoch (GET /v1/screening/keys)')

export const MAX_RESOLVE_TAGS = 1_000

const keysEntry = z.object({
  suite: z.literal('ristretto255-SHA512'),
  mode: z.literal('voprf'),
  epoch: z.number().int(),
  publicKey: b64(32),
  notAfter: timestamp.describe('Accepted by evaluate and resolve until then'),
})

export const keysResponse = keysEntry
  .extend({ previous: z.array(keysEntry).describe('Earlier epochs still accepted (after a rotation)') })
  .meta({ id: 'ScreeningKeys', description: 'The current epoch’s VOPRF public key (RFC 9497 mode 0x01) and earlier ones still accepted' })

export const digestQuery = z.object({ type: indicatorType }).strict()

export const digestResponse = z
  .object({
    epoch: z.number().int(),
    type: indicatorType,
    tagBytes: z.literal(TAG_BYTES),
    tags: z.array(b64(TAG_BYTES)).describe('The first 8 bytes of each OPRF output, sorted bytewise, unique; no ids'),
  })
  .meta({ id: 'ScreeningDigest' })

export const evaluateRequest = z
  .object({ epoch, type: indicatorType, elements: z.array(b64(32)).min(1).max(MAX_EVALUATE_ELEMENTS).describe('Blinded elements (32 bytes each)') })
  .strict()
  .meta({ id: 'ScreeningEvaluateRequest' })

export const evaluateResponse = z
  .object({
    epoch: z.number().int(),
    evaluated: z.array(b64(32)).describe('The evaluated elements, in the order sent'),
    proof: b64(64).describe('One batch DLEQ proof (c ‖ s) over all elements'),
  })
  .meta({ id: 'ScreeningEvaluateResponse' })

export const resolveRequest = z
  .object({ epoch, type: indicatorType, tags: z.array(b64(TAG_BYTES)).min(1).max(MAX_RESOLVE_TAGS).describe('Local hits only (8 bytes each)') })
  .strict()
  .meta({ id: 'ScreeningResolveRequest' })

const contactCard = z.object({
  id: uuid,
  type: indicatorType,
  organisationId: uuid,
  organisation: z.object({ name: z.string(), contact: z.object({ email: z.string(), phone: z.string().optional(), hours: z.string().optional() }) }),
  tlp,
  handlingCode: z.enum(['H0', 'H1', 'H2', 'H3']),
})

export const resolveResponse = z
  .object({
    results: z.array(
      z.object({
        tag: z.string(),
        matches: z.array(contactCard),
        // As on POST /v1/indicators/match (modules/warning-lists/annotate.ts).
        warning: matchWarning.optional(),
        overCorrelated: z
          .literal(true)
          .optional()
          .describe('The value is held by more than 20 items you may see: shared infrastructure, a match alone says little'),
      }),
    ),
  })
  .meta({ id: 'ScreeningResolveResponse' })

export const disclosureQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().max(200).optional(),
    indicatorId: uuid.optional(),
  })
  .strict()

export const disclosure = z
  .object({
    id: uuid,
    indicatorId: uuid,
    disclosedTo: z.object({ organisationId: uuid, name: z.string() }),
    epoch: z.number().int(),
    type: indicatorType,
    justification: z.string().nullable(),
    createdAt: timestamp,
  })
  .meta({ id: 'ScreeningDisclosure', description: 'A resolve disclosed one of the caller’s holdings to another organisation' })

export const disclosurePage = page(disclosure).meta({ id: 'ScreeningDisclosurePage' })
