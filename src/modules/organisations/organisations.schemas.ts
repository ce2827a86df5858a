import { z } from 'zod'
import { countryCode, page, sector, timestamp, uuid } from '../../core/schemas.js'

const contact = z
  .object({
    email: z.email().max(254).describe('Desk email every member can write to'),
    phone: z
      .string()
      .regex(/^\+[1-9]\d{6,14}$/, 'E.164, e.g. +31701234567')
      .optional(),
    hours: z.string().min(1).max(200).optional().describe('Desk hours, free text, e.g. "Mon–Fri 08:00–18:00 CET"'),
  })
  .strict()

export const organisation = z
  .object({
    id: uuid,
    name: z.string(),
    sector,
    country: z.string(),
    status: z.enum(['active', 'suspended']),
    contact: z.object({ email: z.string(), phone: z.string().optional(), hours: z.string().optional() }),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Organisation' })

export const organisationCreate = z
  .object({
    name: z.string().trim().min(2).max(200),
    sector,
    country: countryCode,
    contact,
  })
  .strict()
  .meta({ id: 'OrganisationCreate' })

export const organisationPatch = z
  .object({
    name: z.string().trim().min(2).max(200).optional(),
    sector: sector.optional(),
    country: countryCode.optional(),
    status: z.enum(['active', 'suspended']).optional(),
    contact: contact.partial().strict().optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'send at least one field to change')
  .meta({ id: 'OrganisationPatch' })

export const organisationListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: z.string().min(1).max(512).optional(),
    sector: sector.optional(),
    country: countryCode.optional(),
    status: z.enum(['active', 'suspended']).optional(),
  })
  .strict()

export const organisationPage = page(organisation).meta({ id: 'OrganisationPage' })

export type Organisation = z.infer<typeof organisation>
export type OrganisationCreate = z.infer<typeof organisationCreate>
export type OrganisationPatch = z.infer<typeof organisationPatch>
export type OrganisationListQuery = z.infer<typeof organisationListQuery>
