// Shared zod schemas: ids, paging, the problem body. Route schemas compose these.
import { z } from 'zod'
import { ROLES, SECTORS } from './roles.js'

export const uuid = z.uuid().describe('UUID')
export const idParams = z.object({ id: z.uuid() }).strict()
export const timestamp = z.iso.datetime().describe('RFC 3339 date-time (UTC)')

export const role = z.enum(ROLES)
export const sector = z.enum(SECTORS)
// ISO 3166-1 alpha-2, upper case. (Validated against the assigned list in core/countries.ts.)
export const countryCode = z.string().regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2 code in upper case, e.g. "DE"')

export const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() })

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
