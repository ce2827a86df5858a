import type { Db } from '../../db/client.js'
import type { Actor } from '../../plugins/auth.js'
import { requireAny } from '../../lib/authz.js'
import { AppError, notFound } from '../../lib/errors.js'
import { decodeCursor, encodeCursor } from '../../lib/cursor.js'
import { isCountryCode } from '../../lib/countries.js'
import { preconditionFailed } from '../../lib/etag.js'
import { organisationsRepository as repo, toOrganisation } from './organisations.repository.js'
import type { OrganisationCreate, OrganisationListQuery, OrganisationPatch } from './organisations.schemas.js'

function checkCountry(country: string | undefined, where: 'body' | 'query' = 'body') {
  if (country !== undefined && !isCountryCode(country)) {
    throw new AppError('validation', `${where}.country: not an assigned ISO 3166-1 alpha-2 code`, [
      { name: `${where}.country`, reason: 'not an assigned ISO 3166-1 alpha-2 code' },
    ])
  }
}

export function organisationsService(db: Db, onStatusChange: () => void) {
  return {
    /** The directory: every account sees every organisation and its contact point. */
    async list(actor: Actor, query: OrganisationListQuery) {
      void actor
      // A filter on a code that cannot exist is a mistake, not an empty directory.
      checkCountry(query.country, 'query')
      const after = query.cursor ? decodeCursor<[string, string]>(query.cursor, ['t', 'u']) : undefined
      const rows = await repo.list(db, query, after)
      const more = rows.length > query.limit
      const items = rows.slice(0, query.limit)
      const last = items.at(-1)
      return {
        items: items.map(toOrganisation),
        nextCursor: more && last ? encodeCursor([last.createdAt.toISOString(), last.id]) : null,
      }
    },

    async get(actor: Actor, id: string) {
      void actor
      const row = await repo.byId(db, id)
      if (!row) throw notFound('organisation')
      return { organisation: toOrganisation(row), version: row.version }
    },

    async create(actor: Actor, input: OrganisationCreate) {
      requireAny(actor, ['platform_admin'])
      checkCountry(input.country)
      const row = await repo.insert(db, {
        name: input.name,
        sector: input.sector,
        country: input.country,
        contactEmail: input.contact.email.toLowerCase(),
        contactPhone: input.contact.phone ?? null,
        contactHours: input.contact.hours ?? null,
      })
      return { organisation: toOrganisation(row), version: row.version }
    },

    async update(actor: Actor, id: string, patch: OrganisationPatch, expectedVersion: number | undefined) {
      requireAny(actor, ['platform_admin'])
      checkCountry(patch.country)
      const current = await repo.byId(db, id)
      if (!current) throw notFound('organisation')
      if (expectedVersion !== undefined && expectedVersion !== current.version) throw preconditionFailed(current.version)
      if (patch.status === 'suspended' && id === actor.organisationId) {
        throw new AppError('conflict', 'You cannot suspend your own organisation: it would lock out the platform administrators.')
      }
      const row = await repo.update(db, id, current.version, {
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
      if (patch.status !== undefined && patch.status !== current.status) onStatusChange()
      return { organisation: toOrganisation(row), version: row.version }
    },
  }
}

export type OrganisationsService = ReturnType<typeof organisationsService>
