// GET /v1/stats: the numbers behind the working group's annual monitoring report, counted over
// what the caller may see (match_only items of other organisations are not counted).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { and, gte, lt, sql, type SQL } from 'drizzle-orm'
import { indicators, notes } from '../../db/schema/index.js'
import { rows } from '../../db/client.js'
import { problems } from '../../core/schemas.js'
import { canSee } from '../../access/visibility.js'

const bucket = z.object({ key: z.string(), count: z.number().int() })
const stats = z
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

const query = z
  .object({
    from: z.iso.datetime({ offset: true }).optional().describe('Created at or after'),
    to: z.iso.datetime({ offset: true }).optional().describe('Created before'),
  })
  .strict()

type Bucket = { key: string; count: number }

const routes: FastifyPluginAsyncZod = async (app) => {
  app.get('/stats', {
    schema: {
      tags: ['stats'],
      operationId: 'getStats',
      summary: 'Counts by type, sector, country and month over what the caller may see',
      querystring: query,
      response: { 200: stats, ...problems(400, 401, 403, 429, 500) },
    },
  }, async (req) => {
    const { from, to } = req.query
    const range = (col: typeof indicators.createdAt | typeof notes.createdAt): SQL[] =>
      [from ? gte(col, new Date(from)) : undefined, to ? lt(col, new Date(to)) : undefined].filter((x): x is SQL => !!x)
    const iWhere = and(canSee(indicators), ...range(indicators.createdAt))
    const nWhere = and(canSee(notes), ...range(notes.createdAt))
    return req.ctx.tx(async (tx, audit) => {
      const grouped = (keyExpr: SQL, from: SQL, where: SQL | undefined) =>
        rows<Bucket>(tx, sql`select ${keyExpr} as key, count(*)::int as count from ${from} where ${where ?? sql`true`} group by 1 order by 2 desc, 1 limit 500`)
      const i = indicators
      // One after the other: a transaction is one connection, and pg refuses overlapping queries.
      const byType = await grouped(sql`${i.type}`, sql`${i}`, iWhere)
      const bySector = await grouped(sql`o.sector`, sql`${i} join organisations o on o.id = ${i.organisationId}`, iWhere)
      const byCountry = await grouped(sql`c.country`, sql`${i} cross join lateral unnest(${i.countries}) as c(country)`, iWhere)
      const byMonth = await grouped(sql`to_char(${i.createdAt} at time zone 'UTC', 'YYYY-MM')`, sql`${i}`, iWhere)
      const byStatus = await grouped(sql`${i.status}`, sql`${i}`, iWhere)
      const byTopic = await grouped(sql`t.topic`, sql`${notes} cross join lateral unnest(${notes.topics}) as t(topic)`, nWhere)
      const byOutcome = await grouped(sql`s.outcome`, sql`sightings s join ${i} on ${i.id} = s.indicator_id`, iWhere)
      const [nt] = await rows<{ n: number }>(tx, sql`select count(*)::int as n from ${notes} where ${nWhere ?? sql`true`}`)
      byMonth.sort((a, b) => a.key.localeCompare(b.key))
      audit.set({ details: { from: from ?? null, to: to ?? null } })
      return {
        from: from ?? null,
        to: to ?? null,
        indicators: { total: byStatus.reduce((s, b) => s + b.count, 0), byType, bySector, byCountry, byMonth, byStatus },
        notes: { total: nt?.n ?? 0, byTopic },
        sightings: { byOutcome },
      }
    })
  })
}

export default routes
