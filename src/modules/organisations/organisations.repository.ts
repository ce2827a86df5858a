import { and, asc, eq, type SQL } from 'drizzle-orm'
import type { Queryable } from '../../db/client.js'
import { keysetAfter } from '../../core/paging.js'
import { organisations, type OrganisationRow } from '../../db/schema/index.js'
import type { Organisation, OrganisationListQuery } from './organisations.schemas.js'

export function toOrganisation(row: OrganisationRow): Organisation {
  return {
    id: row.id,
    name: row.name,
    sector: row.sector as Organisation['sector'],
    country: row.country,
    status: row.status as Organisation['status'],
    contact: {
      email: row.contactEmail,
      ...(row.contactPhone ? { phone: row.contactPhone } : {}),
      ...(row.contactHours ? { hours: row.contactHours } : {}),
    },
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  }
}

export const organisationsRepository = {
  async byId(q: Queryable, id: string): Promise<OrganisationRow | undefined> {
    const [row] = await q.select().from(organisations).where(eq(organisations.id, id))
    return row
  },

  /** The row, locked until the transaction ends: concurrent updates queue instead of failing. */
  async byIdForUpdate(q: Queryable, id: string): Promise<OrganisationRow | undefined> {
    const [row] = await q.select().from(organisations).where(eq(organisations.id, id)).for('update')
    return row
  },

  /** Keyset page ordered by (createdAt, id): stable while rows are inserted between pages. */
  async list(q: Queryable, filter: OrganisationListQuery, after: [string, string] | undefined): Promise<OrganisationRow[]> {
    const where: (SQL | undefined)[] = [
      filter.sector ? eq(organisations.sector, filter.sector) : undefined,
      filter.country ? eq(organisations.country, filter.country) : undefined,
      filter.status ? eq(organisations.status, filter.status) : undefined,
    ]
    if (after) where.push(keysetAfter(organisations.createdAt, organisations.id, new Date(after[0]), after[1]))
    return q
      .select()
      .from(organisations)
      .where(and(...where))
      .orderBy(asc(organisations.createdAt), asc(organisations.id))
      .limit(filter.limit + 1)
  },

  async insert(q: Queryable, values: typeof organisations.$inferInsert): Promise<OrganisationRow> {
    const [row] = await q.insert(organisations).values(values).returning()
    return row as OrganisationRow
  },

  /** Update when the version still matches; undefined when it moved on. */
  async update(q: Queryable, id: string, version: number, values: Partial<typeof organisations.$inferInsert>) {
    const [row] = await q
      .update(organisations)
      .set({ ...values, version: version + 1, updatedAt: new Date() })
      .where(and(eq(organisations.id, id), eq(organisations.version, version)))
      .returning()
    return row
  },
}
