// The numbers behind the working group's annual monitoring report, counted over what the caller
// may see (match_only items of other organisations are not counted).
import type { Ctx } from '../../access/scope.js'
import { statsRepository as repo } from './stats.repository.js'
import type { Stats, StatsQuery } from './stats.schemas.js'

export function statsService() {
  return {
    async get(ctx: Ctx, { from, to }: StatsQuery): Promise<Stats> {
      const range = { from: from ? new Date(from) : undefined, to: to ? new Date(to) : undefined }
      return ctx.tx(async (tx, audit) => {
        const c = await repo.counts(tx, range)
        const byMonth = c.byMonth.sort((a, b) => a.key.localeCompare(b.key))
        audit.set({ details: { from: from ?? null, to: to ?? null } })
        return {
          from: from ?? null,
          to: to ?? null,
          indicators: {
            total: c.byStatus.reduce((s, b) => s + b.count, 0),
            byType: c.byType,
            bySector: c.bySector,
            byCountry: c.byCountry,
            byMonth,
            byStatus: c.byStatus,
          },
          notes: { total: c.notesTotal, byTopic: c.byTopic },
          sightings: { byOutcome: c.byOutcome },
        }
      })
    },
  }
}

export type StatsService = ReturnType<typeof statsService>
