import { and, asc, eq } from 'drizzle-orm'
import type { Queryable } from '../../db/client.js'
import { keysetAfter } from '../../core/paging.js'
import { accounts, type AccountRow } from '../../db/schema/index.js'
import type { Account } from './accounts.schemas.js'

export function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    organisationId: row.organisationId,
    name: row.name,
    roles: row.roles as Account['roles'],
    disabled: row.disabled,
    clientId: row.clientId,
    defaultJustification: row.defaultJustification,
    secretRotatedAt: row.secretRotatedAt.toISOString(),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  }
}

export const accountsRepository = {
  async byId(q: Queryable, id: string): Promise<AccountRow | undefined> {
    const [row] = await q.select().from(accounts).where(eq(accounts.id, id))
    return row
  },

  /** The row, locked until the transaction ends: concurrent updates queue instead of failing. */
  async byIdForUpdate(q: Queryable, id: string): Promise<AccountRow | undefined> {
    const [row] = await q.select().from(accounts).where(eq(accounts.id, id)).for('update')
    return row
  },

  async byClientId(q: Queryable, clientId: string): Promise<AccountRow | undefined> {
    const [row] = await q.select().from(accounts).where(eq(accounts.clientId, clientId))
    return row
  },

  async listByOrganisation(q: Queryable, organisationId: string, limit: number, after: [string, string] | undefined) {
    const cond = after
      ? and(eq(accounts.organisationId, organisationId), keysetAfter(accounts.createdAt, accounts.id, new Date(after[0]), after[1]))
      : eq(accounts.organisationId, organisationId)
    return q
      .select()
      .from(accounts)
      .where(cond)
      .orderBy(asc(accounts.createdAt), asc(accounts.id))
      .limit(limit + 1)
  },

  async insert(q: Queryable, values: typeof accounts.$inferInsert): Promise<AccountRow> {
    const [row] = await q.insert(accounts).values(values).returning()
    return row as AccountRow
  },

  async update(q: Queryable, id: string, version: number, values: Partial<typeof accounts.$inferInsert>) {
    const [row] = await q
      .update(accounts)
      .set({ ...values, version: version + 1, updatedAt: new Date() })
      .where(and(eq(accounts.id, id), eq(accounts.version, version)))
      .returning()
    return row
  },
}
