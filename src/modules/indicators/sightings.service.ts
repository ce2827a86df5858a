// Sightings: an organisation reports it met an indicator. Counts per organisation and outcome
// travel with the indicator — the loop by which a seizure or a clean inspection sharpens
// everyone's profiling. Notes stay with the reporting organisation.
import { and, asc, desc, eq, sql } from 'drizzle-orm'
import { organisations, sightings } from '../../db/schema/index.js'
import { rows } from '../../db/client.js'
import type { Ctx } from '../../access/scope.js'
import { forMatching } from '../../access/visibility.js'
import { findReachable, findReadable } from './indicators.service.js'

type Outcome = 'seen' | 'seized' | 'nothing_found' | 'controlled_delivery' | 'false_positive'

function toSighting(r: typeof sightings.$inferSelect) {
  return {
    id: r.id,
    indicatorId: r.indicatorId,
    organisationId: r.organisationId,
    seenAt: r.seenAt.toISOString(),
    count: r.count,
    outcome: r.outcome,
    note: r.note,
    createdAt: r.createdAt.toISOString(),
  }
}

export const sightingsService = {
  async report(ctx: Ctx, indicatorId: string, input: { seenAt: string; count: number; outcome: Outcome; note?: string | undefined }) {
    return ctx.tx(async (tx, audit) => {
      // match_only indicators can be reported against too: the reporter learned the id from a match.
      await forMatching(tx)
      await findReachable(tx, indicatorId)
      const [row] = await tx
        .insert(sightings)
        .values({
          indicatorId,
          organisationId: ctx.actor.organisationId,
          accountId: ctx.actor.accountId,
          seenAt: new Date(input.seenAt),
          count: input.count,
          outcome: input.outcome,
          note: input.note ?? null,
        })
        .returning()
      if (!row) throw new Error('insert returned nothing')
      audit.set({ resourceId: row.id, details: { indicatorId, outcome: row.outcome, count: row.count } })
      return toSighting(row)
    })
  },

  async summary(ctx: Ctx, indicatorId: string) {
    return ctx.tx(async (tx, audit) => {
      await findReadable(tx, ctx, indicatorId)
      const items = await rows<{ organisation_id: string; name: string; outcome: string; count: number; reports: number; last_seen_at: Date }>(
        tx,
        sql`select s.organisation_id, o.name, s.outcome, sum(s.count)::int as count, count(*)::int as reports, max(s.seen_at) as last_seen_at
            from ${sightings} s join ${organisations} o on o.id = s.organisation_id
            where s.indicator_id = ${indicatorId}
            group by s.organisation_id, o.name, s.outcome
            order by max(s.seen_at) desc`,
      )
      const own = await tx
        .select()
        .from(sightings)
        .where(and(eq(sightings.indicatorId, indicatorId), eq(sightings.organisationId, ctx.actor.organisationId)))
        .orderBy(desc(sightings.seenAt), asc(sightings.id))
        .limit(200)
      audit.set({ details: { returned: items.length } })
      return {
        items: items.map((r) => ({
          organisationId: r.organisation_id,
          organisationName: r.name,
          outcome: r.outcome,
          count: r.count,
          reports: r.reports,
          lastSeenAt: new Date(r.last_seen_at).toISOString(),
        })),
        own: own.map(toSighting),
      }
    })
  },
}
