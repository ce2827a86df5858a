import { z } from 'zod'
import { countryCode, sector } from '../../core/schemas.js'
import { indicatorType, tlp, distribution } from '../indicators/indicators.schemas.js'
import { topic } from '../notes/notes.schemas.js'

const isoDate = z.iso.datetime({ offset: true })

export const exportQuery = z
  .object({
    type: indicatorType.optional(),
    value: z.string().min(1).max(4000).optional().describe('Exact match on the normalised form (normalised by type when type is given)'),
    q: z.string().min(1).max(500).optional().describe('Full-text search'),
    tag: z.string().min(1).max(64).optional(),
    tlp: tlp.optional(),
    organisationId: z.uuid().optional(),
    country: countryCode.optional(),
    updatedSince: isoDate.optional(),
    status: z.enum(['active', 'revoked']).optional().describe('revoked also selects revoked notes; active selects published ones'),
    topic: topic.optional(),
    sector: sector.optional(),
    language: z
      .string()
      .regex(/^[a-z]{2}(-[A-Z]{2})?$/, 'a language tag like "en" or "pt-BR"')
      .optional(),
    include: z
      .string()
      .regex(/^(indicators|notes|sightings)(,(indicators|notes|sightings))*$/, 'a comma-separated list of indicators, notes, sightings')
      .optional()
      .describe('What to export (default all three). type, value, tag and country select indicators only; topic, sector and language notes only.'),
    signed: z
      .enum(['true', 'false'])
      .default('false')
      .describe('true: also sign the exact bytes; the detached JWS (RFC 7515 Appendix F, EdDSA, kid in the header) is in the X-DCX-Signature header'),
  })
  .strict()

export type ExportQuery = z.infer<typeof exportQuery>

export const importQuery = z
  .object({
    distribution: distribution.default('organisation').describe('Who the created indicators are shared with'),
    sharingGroupId: z.uuid().optional().describe('Required when distribution is sharing_group'),
    tlp: tlp.optional().describe("Overrides the objects' TLP markings; without it, each object's marking applies (amber when it has none)"),
  })
  .strict()

export const stixBundle = z
  .object({
    type: z.literal('bundle'),
    id: z.string().regex(/^bundle--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'bundle--<UUID>'),
    spec_version: z.string().max(10).optional().describe('Present in STIX 2.0 bundles only'),
    objects: z.array(z.record(z.string(), z.unknown())).max(10_000).default([]),
  })
  .strict()
  .meta({ id: 'StixBundle', description: 'A STIX 2.1 bundle (application/stix+json or application/json)' })

export const importResponse = z
  .object({
    results: z.array(
      z.object({
        index: z.number().int(),
        id: z.string().nullable().describe('The STIX id of the object'),
        type: z.string().nullable(),
        status: z
          .enum(['created', 'duplicate', 'kept', 'unsupported', 'invalid'])
          .describe('kept: an identity, marking or extension definition an imported indicator references, served with it'),
        indicatorId: z.uuid().optional().describe('The indicator created, or the existing one of your organisation this duplicates'),
        version: z.string().optional().describe('The modified timestamp the indicator exports with'),
        reason: z.string().optional(),
      }),
    ),
    counts: z.object({
      created: z.number().int(),
      duplicate: z.number().int(),
      kept: z.number().int(),
      unsupported: z.number().int(),
      invalid: z.number().int(),
    }),
  })
  .meta({ id: 'StixImportResult' })
