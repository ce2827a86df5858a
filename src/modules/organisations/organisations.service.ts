// The directory of partner organisations: every account reads it (the platform is also how
// partners reach each other); platform admins onboard, edit and suspend. Each call runs in
// ctx.tx, so an admin action and its audit event commit together.
import type { Ctx } from '../../access/scope.js'
import { AppError, notFound } from '../../core/errors.js'
import { preconditionFailed } from '../../core/etag.js'
import { pageOf } from '../../core/paging.js'
import { decodeCursor } from '../../core/cursor.js'
import { organisationsRepository as repo, toOrganisation } from './organisations.repository.js'
import type { OrganisationCreate, OrganisationListQuery, OrganisationPatch } from './organisations.schemas.js'

export function organisationsService(onStatusChange: () => void) {
  return {
    async list(ctx: Ctx, query: OrganisationListQuery) {
      const after = query.cursor ? decodeCursor<[string, string]>(query.cursor, ['t', 'u']) : undefined
      return ctx.tx(async (tx, audit) => {
        const page = pageOf(await repo.list(tx, query, after), query.limit, toOrganisation)
        const { cursor: _c, ...filters } = query
        audit.set({ details: { filters, returned: page.items.length } })
        return page
      })
    },

    async get(ctx: Ctx, id: string) {
      return ctx.tx(async (tx) => {
        const row = await repo.byId(tx, id)
        if (!row) throw notFound('organisation')
        return { organisation: toOrganisation(row), version: row.version }
      })
    },

    async create(ctx: Ctx, input: OrganisationCreate) {
      return ctx.tx(async (tx, audit) => {
        const row = await repo.insert(tx, {
          name: input.name,
          sector: input.sector,
          country: input.country,
          contactEmail: input.contact.email.toLowerCase(),
          contactPhone: input.contact.phone ?? null,
          contactHours: input.contact.hours ?? null,
        })
        audit.set({ resourceId: row.id, details: { name: row.name, sector: row.sector, country: row.country } })
        return { organisation: toOrganisation(row), version: row.version }
      })
    },

    async update(ctx: Ctx, id: string, patch: OrganisationPatch, expectedVersion: number | undefined) {
      const result = await ctx.tx(async (tx, audit) => {
        const current = await repo.byIdForUpdate(tx, id)
        if (!current) throw notFound('organisation')
        if (expectedVersion !== undefined && expectedVersion !== current.version) throw preconditionFailed(current.version)
        if (patch.status === 'suspended' && id === ctx.actor.organisationId) {
          throw new AppError('conflict', 'You cannot suspend your own organisation: it would lock out the platform administrators.')
        }
        const row = await repo.update(tx, id, current.version, {
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.sector !== undefined ? { sector: patch.sector } : {}),
          ...(patch.country !== undefined ? { country: patch.country } : {}),
          ...(patch.status !== undefined ? { status: patch.status } : {}),
          ...(patch.contact?.email !== undefined ? { contactEmail: patch.contact.email.toLowerCase() } : {}),
          ...(patch.contact?.phone !== undefined ? { contactPhone: patch.contact.phone } : {}),
          ...(patch.contact?.hours !== undefined ? { contactHours: patch.contact.hours } : {}),
        })
        // Someone else updated between our read and write.
        if (!row) throw preconditionFailed(current.version + 1)
        audit.set({ details: { changed: Object.keys(patch), values: patch, version: row.version } })
        return { organisation: toOrganisation(row), version: row.version, statusChanged: patch.status !== undefined && patch.status !== current.status }
      })
      // After commit: this node forgets cached account states now; others within seconds.
      if (result.statusChanged) onStatusChange()
      return result
    },
  }
}
