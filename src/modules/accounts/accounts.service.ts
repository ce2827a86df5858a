// Accounts of an organisation. Who may manage which account is the access policy's
// (ownOrganisation, accountRank): org_admins manage their own organisation's accounts, and
// nobody acts on an account holding a role they could not grant. Secrets are generated here,
// returned once, stored only as a scrypt hash.
import type { Tx } from '../../db/client.js'
import type { Ctx } from '../../access/scope.js'
import { pageOf } from '../../core/paging.js'
import type { Actor } from '../../core/actor.js'
import { requireRank, withinOrganisation } from '../../access/policy.js'
import { AppError, notFound } from '../../core/errors.js'
import { decodeCursor } from '../../core/cursor.js'
import { preconditionFailed } from '../../core/etag.js'
import { generateClientId, generateSecret, hashSecret } from '../../core/secrets.js'
import { organisationsRepository } from '../organisations/organisations.repository.js'
import { accountsRepository as repo, toAccount } from './accounts.repository.js'
import type { AccountCreate, AccountPatch } from './accounts.schemas.js'

const isManager = (roles: Iterable<string>) => [...roles].some((r) => r === 'org_admin' || r === 'platform_admin')

export function accountsService(forget: (accountId?: string) => void) {
  /** The account, if the actor may manage it; 404 otherwise (another organisation's accounts are invisible). */
  async function managed(tx: Tx, actor: Actor, id: string, lock = false) {
    const row = lock ? await repo.byIdForUpdate(tx, id) : await repo.byId(tx, id)
    if (!row || !withinOrganisation(actor, row.organisationId)) throw notFound('account')
    return row
  }

  /** An account the actor may act on (rotate, disable, change): managed, and outranked by the actor. */
  async function actedOn(tx: Tx, actor: Actor, id: string) {
    const row = await managed(tx, actor, id, true)
    requireRank(actor, row.roles, 'act on')
    return row
  }

  async function manageable(tx: Tx, actor: Actor, organisationId: string, verb: string) {
    if (!(await organisationsRepository.byId(tx, organisationId))) throw notFound('organisation')
    if (!withinOrganisation(actor, organisationId)) {
      throw new AppError('forbidden', `Only that organisation's org_admins and platform administrators may ${verb} its accounts.`)
    }
  }

  return {
    async list(ctx: Ctx, organisationId: string, limit: number, cursor: string | undefined) {
      const after = cursor ? decodeCursor<[string, string]>(cursor, ['t', 'u']) : undefined
      return ctx.tx(async (tx, audit) => {
        await manageable(tx, ctx.actor, organisationId, 'list')
        const page = pageOf(await repo.listByOrganisation(tx, organisationId, limit, after), limit, toAccount)
        audit.set({ details: { returned: page.items.length } })
        return page
      })
    },

    async create(ctx: Ctx, organisationId: string, input: AccountCreate) {
      requireRank(ctx.actor, input.roles, 'grant')
      const clientSecret = generateSecret()
      const secretHash = await hashSecret(clientSecret)
      return ctx.tx(async (tx, audit) => {
        await manageable(tx, ctx.actor, organisationId, 'create')
        const row = await repo.insert(tx, {
          organisationId,
          name: input.name,
          roles: input.roles,
          clientId: generateClientId(),
          secretHash,
          defaultJustification: input.defaultJustification ?? null,
        })
        audit.set({ resourceId: row.id, details: { organisationId, name: row.name, roles: row.roles, defaultJustification: row.defaultJustification } })
        return { account: { ...toAccount(row), clientSecret }, version: row.version }
      })
    },

    async get(ctx: Ctx, id: string) {
      return ctx.tx(async (tx) => {
        const row = await managed(tx, ctx.actor, id)
        return { account: toAccount(row), version: row.version }
      })
    },

    async update(ctx: Ctx, id: string, patch: AccountPatch, expectedVersion: number | undefined) {
      const { actor } = ctx
      const result = await ctx.tx(async (tx, audit) => {
        const row = await actedOn(tx, actor, id)
        if (expectedVersion !== undefined && expectedVersion !== row.version) throw preconditionFailed(row.version)
        if (patch.roles) requireRank(actor, patch.roles, 'grant')
        if (id === actor.accountId) {
          const losesAdmin = patch.roles && !isManager(patch.roles)
          if (patch.disabled || losesAdmin) {
            throw new AppError('conflict', 'You cannot disable your own account or remove your own administrative role.')
          }
        }
        const updated = await repo.update(tx, id, row.version, {
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.roles !== undefined ? { roles: patch.roles } : {}),
          ...(patch.disabled !== undefined ? { disabled: patch.disabled } : {}),
          ...(patch.defaultJustification !== undefined ? { defaultJustification: patch.defaultJustification } : {}),
        })
        if (!updated) throw preconditionFailed(row.version + 1)
        audit.set({ details: { changed: Object.keys(patch), values: patch, version: updated.version } })
        return { account: toAccount(updated), version: updated.version }
      })
      forget(id)
      return result
    },

    /** A new secret: the old one stops working at once, and so do tokens issued before now. */
    async rotateSecret(ctx: Ctx, id: string) {
      const clientSecret = generateSecret()
      const secretHash = await hashSecret(clientSecret)
      const result = await ctx.tx(async (tx, audit) => {
        const row = await actedOn(tx, ctx.actor, id)
        const updated = await repo.update(tx, id, row.version, { secretHash, secretRotatedAt: new Date() })
        if (!updated) throw new AppError('conflict', 'The account changed while rotating; retry.')
        audit.set({ details: { changed: ['secret'] } })
        return {
          secret: { id: updated.id, clientId: updated.clientId, clientSecret, secretRotatedAt: updated.secretRotatedAt.toISOString() },
          version: updated.version,
        }
      })
      forget(id)
      return result
    },
  }
}
