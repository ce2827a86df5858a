// Shared zod schemas: ids, paging, the problem body. Route schemas compose these.
import { z } from 'zod'
import { ROLES, SECTORS } from './roles.js'
import { countryCodeProblem } from './countries.js'

export const uuid = z.uuid().describe('UUID')
export const idParams = z.object({ id: z.uuid() }).strict()
export const timestamp = z.iso.datetime().describe('RFC 3339 date-time (UTC)')

export const role = z.enum(ROLES)
export const sector = z.enum(SECTORS)
// ISO 3166-1 alpha-2, upper case, assigned (core/countries.ts): the one country rule, for every
// body field and query filter (organisations, indicator bodies and filters, STIX export). UK is
// refused with a pointer to GB, never read as GB: an alias would change what a stored code means.
const COUNTRY_SHAPE = /^[A-Z]{2}$/
export const countryCode = z
  .string()
  .regex(COUNTRY_SHAPE, 'ISO 3166-1 alpha-2 code in upper case, e.g. "DE"')
  .superRefine((code, ctx) => {
    if (!COUNTRY_SHAPE.test(code)) return
    const problem = countryCodeProblem(code)
    if (problem) ctx.addIssue({ code: 'custom', message: problem })
  })
  .describe('ISO 3166-1 alpha-2 code, upper case and assigned (GB, not UK; GR, not EL)')

export const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() })

export const fieldProblem = z.object({ name: z.string(), reason: z.string() })
export const problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z.string(),
    errors: z.array(fieldProblem).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' })

/** Response entries for the error statuses a route can return. */
export function problems(...statuses: number[]): Record<number, typeof problem> {
  return Object.fromEntries(statuses.map((s) => [s, problem]))
}
