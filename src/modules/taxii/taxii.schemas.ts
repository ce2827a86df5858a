import { z } from 'zod'

// TAXII's own parameters and bodies (the resources it answers are in taxii.resources.ts), in
// openapi.yaml under the taxii tag. Ids are checked by lookup, so an unknown one is a 404, not a 400.
const multi = z.union([z.string().max(10_000), z.array(z.string().max(10_000)).max(100)]).optional()

export const collectionParams = z.object({ id: z.string().min(1).max(100) }).strict()
export const objectParams = z.object({ id: z.string().min(1).max(100), objectId: z.string().min(1).max(300) }).strict()
export const statusParams = z.object({ id: z.string().min(1).max(100) }).strict()

// added_after (TAXII 2.1 §3.4.1: a timestamp, RFC 3339 §5.6 date-time): any fraction, Z or z or
// an offset, T, t or a space between date and time. A date alone means that day's start in UTC (a
// convenience many scripts rely on); a time without a zone is refused, since whose clock it names
// is unknown. docs/interoperability.md says the same.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2}))?$/
export function parseAddedAfter(v: string): Date | undefined {
  const m = RFC3339.exec(v)
  if (!m) return undefined
  const [, y, mo, d, h, mi, sec, frac = '', zone] = m
  const iso = h === undefined ? `${y}-${mo}-${d}T00:00:00Z` : `${y}-${mo}-${d}T${h}:${mi}:${sec}${frac.slice(0, 4)}${zone === 'z' ? 'Z' : zone}`
  const t = new Date(iso)
  // Out-of-range fields (month 13, 25:00) parse to NaN or roll over: both refused.
  if (Number.isNaN(t.getTime()) || Number(mo) > 12 || Number(d) > 31 || Number(h ?? 0) > 23 || Number(mi ?? 0) > 59 || Number(sec ?? 0) > 60) return undefined
  return t
}
const addedAfter = z
  .string()
  .max(64)
  .refine((v) => parseAddedAfter(v) !== undefined, 'an RFC 3339 timestamp (e.g. 2026-01-01T00:00:00Z, with any fraction or offset) or a date')
  .optional()
  .describe(
    'Only objects added after this time: an RFC 3339 timestamp (any fraction; Z, z or an offset; T, t or a space between date and time), ' +
      'or a date alone (that day at 00:00 UTC). A time without a zone is refused. Page on with the X-TAXII-Date-Added-Last of the previous answer, or with next.',
  )
const limit = z.coerce.number().int().min(1).max(1_000_000).optional().describe('Objects per page; at most 1,000 are returned (more is read as 1,000)')
const next = z.string().min(1).max(512).optional().describe('The next of the previous page (more: true)')

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

// POST objects takes a TAXII envelope (§3.7) or, as taxii2-client's add_objects(bundle) and the
// stix2 library's TAXIICollectionSink send it, a STIX bundle.
export const bundle = z
  .object({
    type: z.literal('bundle'),
    id: z.string().max(300),
    spec_version: z.string().max(10).optional(),
    objects: z.array(z.record(z.string(), z.unknown())).max(100_000).default([]),
  })
  .strict()

export const envelope = z
  .object({
    objects: z.array(z.record(z.string(), z.unknown())).max(100_000).default([]),
    more: z.boolean().optional(),
    next: z.string().max(512).optional(),
  })
  .strict()

export const pushBody = z.union([envelope, bundle]).meta({ id: 'TaxiiPush', description: 'A TAXII envelope (§3.7) or a STIX 2.1 bundle' })
