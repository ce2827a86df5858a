import { z } from 'zod'
import { page, timestamp, uuid } from '../../core/schemas.js'

export const sharingGroup = z
  .object({
    id: uuid,
    organisationId: uuid.describe('The owner organisation'),
    name: z.string(),
    organisationIds: z.array(uuid).describe('Members, the owner included'),
    version: z.number().int(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'SharingGroup' })

const members = z
  .array(z.uuid())
  .max(500)
  .refine((a) => new Set(a).size === a.length, 'organisationIds must not repeat')
  .meta({ uniqueItems: true })

export const sharingGroupCreate = z
  .object({ name: z.string().trim().min(1).max(200), organisationIds: members })
  .strict()
  .meta({ id: 'SharingGroupCreate' })

export const sharingGroupPatch = z
  .object({ name: z.string().trim().min(1).max(200).optional(), organisationIds: members.optional() })
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'send at least one field to change')
  .meta({ id: 'SharingGroupPatch' })

export const sharingGroupPage = page(sharingGroup).meta({ id: 'SharingGroupPage' })
export type SharingGroup = z.infer<typeof sharingGroup>
