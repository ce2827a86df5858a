// The counts behind GET /v1/stats, over what the caller of the transaction may see (canSee: no
// match_only item of another organisation is counted), created in [from, to). Drafts are not
// counted: the monitoring report counts what was shared, and a draft (four-eyes) is not yet.
import { and, gte, lt, ne, sql, type SQL } from 'drizzle-orm'
import { indicators, notes } from '../../db/schema/index.js'
import { rows, type Queryable } from '../../db/client.js'
import { canSee } from '../../access/visibility.js'

export type Bucket = { key: string; count: number }

export interface CreatedRange {
  from?: Date | undefined
  to?: Date | undefined
}

export const statsRepository = {
  async counts(q: Queryable, { from, to }: CreatedRange) {
    const range = (col: typeof indicators.createdAt | typeof notes.createdAt): SQL[] =>
      [from ? gte(col, from) : undefined, to ? lt(col, to) : undefined].filter((x): x is SQL => !!x)
    const iWhere = and(canSee(indicators), ne(indicators.status, 'draft'), ...range(indicators.createdAt))
    const nWhere = and(canSee(notes), ne(notes.status, 'draft'), ...range(notes.createdAt))
    const grouped = (keyExpr: SQL, from: SQL, where: SQL | undefined) =>
      rows<Bucket>(q, sql`select ${keyExpr} as key, count(*)::int as count from ${from} where ${where ?? sql`true`} group by 1 order by 2 desc, 1 limit 500`)
    const i = indicators
    // One after the other: a transaction is one connection, and pg refuses overlapping queries.
    const byType = await grouped(sql`${i.type}`, sql`${i}`, iWhere)
    const bySector = await grouped(sql`o.sector`, sql`${i} join organisations o on o.id = ${i.organisationId}`, iWhere)
    const byCountry = await grouped(sql`c.country`, sql`${i} cross join lateral unnest(${i.countries}) as c(country)`, iWhere)
    const byMonth = await grouped(sql`to_char(${i.createdAt} at time zone 'UTC', 'YYYY-MM')`, sql`${i}`, iWhere)
    const byStatus = await grouped(sql`${i.status}`, sql`${i}`, iWhere)
    const byTopic = await grouped(sql`t.topic`, sql`${notes} cross join lateral unnest(${notes.topics}) as t(topic)`, nWhere)
    const byOutcome = await grouped(sql`s.outcome`, sql`sightings s join ${i} on ${i.id} = s.indicator_id`, iWhere)
    const [nt] = await rows<{ n: number }>(q, sql`select count(*)::int as n from ${notes} where ${nWhere ?? sql`true`}`)
    return { byType, bySector, byCountry, byMonth, byStatus, byTopic, byOutcome, notesTotal: nt?.n ?? 0 }
  },
}
