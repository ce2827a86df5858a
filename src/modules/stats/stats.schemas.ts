import { z } from 'zod'

const bucket = z.object({ key: z.string(), count: z.number().int() })
export const stats = z
  .object({
    from: z.string().nullable(),
    to: z.string().nullable(),
    indicators: z.object({
      total: z.number().int(),
      byType: z.array(bucket),
      bySector: z.array(bucket).describe("By the owner organisation's sector"),
      byCountry: z.array(bucket).describe('By the countries an indicator concerns'),
      byMonth: z.array(bucket).describe('By month of creation, YYYY-MM (UTC)'),
      byStatus: z.array(bucket),
    }),
    notes: z.object({ total: z.number().int(), byTopic: z.array(bucket) }),
    sightings: z.object({ byOutcome: z.array(bucket) }),
  })
  .meta({ id: 'Stats' })

export const statsQuery = z
  .object({
    from: z.iso.datetime({ offset: true }).optional().describe('Created at or after'),
    to: z.iso.datetime({ offset: true }).optional().describe('Created before'),
  })
  .strict()

export type Stats = z.infer<typeof stats>
export type StatsQuery = z.infer<typeof statsQuery>
