import { z } from 'zod'

const months = z.number().int().min(1).max(60)

export const organisationSettings = z
  .object({
    fourEyes: z.boolean().describe('Four-eyes publication: TLP red, personal-data and match_only items start as drafts'),
    retention: z.object({
      personalDataMonths: months.describe('Default review-by period for personal-data types (1–60 months)'),
      otherMonths: months.describe('Default review-by period for every other item (1–60 months)'),
    }),
  })
  .meta({ id: 'OrganisationSettings' })

export const organisationSettingsPatch = z
  .object({
    fourEyes: z.boolean().optional(),
    retention: z
      .object({ personalDataMonths: months.optional(), otherMonths: months.optional() })
      .strict()
      .refine((v) => Object.keys(v).length > 0, 'send personalDataMonths, otherMonths or both')
      .optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'send at least one field to change')
  .meta({ id: 'OrganisationSettingsPatch' })

export type OrganisationSettings = z.infer<typeof organisationSettings>
export type OrganisationSettingsPatch = z.infer<typeof organisationSettingsPatch>
