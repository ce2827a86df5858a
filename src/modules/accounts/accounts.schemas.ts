import { z } from 'zod'
import { page, role, timestamp, uuid } from '../../core/schemas.js'
import { justificationProblem } from '../../access/justification.js'

/** The purpose used when a request carries no DCX-Justification header (DESIGN §7, "Justification"). */
const defaultJustification = z
  .string()
  .superRefine((v, c) => {
    const problem = justificationProblem(v)
    if (problem) c.addIssue({ code: 'custom', message: problem })
  })
  .nullable()
  .describe(
    'Used as the justification of a consultation of personal data when the request has no DCX-Justification header (3–200 characters; for partner systems that screen automatically)',
  )

export const account = z
  .object({
    id: uuid,
    organisationId: uuid,
    name: z.string(),
    roles: z.array(role),
    disabled: z.boolean(),
    clientId: z.string(),
    defaultJustification: z.string().nullable().describe('The justification used when a request has no DCX-Justification header'),
    secretRotatedAt: timestamp,
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Account' })

export const accountWithSecret = account
  .extend({ clientSecret: z.string().describe('Shown only in this response; store it now.') })
  .meta({ id: 'AccountWithSecret' })

export const rotatedSecret = z.object({ id: uuid, clientId: z.string(), clientSecret: z.string(), secretRotatedAt: timestamp }).meta({ id: 'RotatedSecret' })

const roles = z
  .array(role)
  .min(1)
  .max(5)
  .refine((r) => new Set(r).size === r.length, 'roles must not repeat')
  .meta({ uniqueItems: true })

export const accountCreate = z
  .object({ name: z.string().trim().min(1).max(200), roles, defaultJustification: defaultJustification.optional() })
  .strict()
  .meta({ id: 'AccountCreate' })

export const accountPatch = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    roles: roles.optional(),
    disabled: z.boolean().optional(),
    defaultJustification: defaultJustification.optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'send at least one field to change')
  .meta({ id: 'AccountPatch' })

export const accountListQuery = z
  .object({ limit: z.coerce.number().int().min(1).max(500).default(100), cursor: z.string().min(1).max(512).optional() })
  .strict()

export const accountPage = page(account).meta({ id: 'AccountPage' })

export type Account = z.infer<typeof account>
export type AccountCreate = z.infer<typeof accountCreate>
export type AccountPatch = z.infer<typeof accountPatch>
