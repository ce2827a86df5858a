import { z } from 'zod'

// TAXII is its own specification: its routes stay out of openapi.yaml (hide) but are validated
// like every other route. Ids are checked by lookup, so an unknown one is a 404, not a 400.
const multi = z.union([z.string().max(10_000), z.array(z.string().max(10_000)).max(100)]).optional()

export const collectionParams = z.object({ id: z.string().min(1).max(100) }).strict()
export const objectParams = z.object({ id: z.string().min(1).max(100), objectId: z.string().min(1).max(300) }).strict()
export const statusParams = z.object({ id: z.string().min(1).max(100) }).strict()

const addedAfter = z.iso.datetime({ offset: true }).optional().describe('Only objects added after this time')
const limit = z.coerce.number().int().min(1).max(1_000_000).optional()
const next = z.string().min(1).max(512).optional()

export const listQuery = z
  .object({
    added_after: addedAfter,
    limit,
    next,
    'match[id]': multi,
    'match[type]': multi,
    'match[version]': multi,
    'match[spec_version]': multi,
  })
  .strict()

export const objectQuery = z.object({ added_after: addedAfter, limit, next, 'match[version]': multi, 'match[spec_version]': multi }).strict()

export const versionsQuery = z.object({ added_after: addedAfter, limit, next, 'match[spec_version]': multi }).strict()

export const noQuery = z.object({}).strict()

export const envelope = z
  .object({
    objects: z.array(z.record(z.string(), z.unknown())).max(10_000).default([]),
    more: z.boolean().optional(),
    next: z.string().max(512).optional(),
  })
  .strict()
