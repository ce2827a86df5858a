// Accounts of an organisation. org_admins manage their own organisation's accounts and can
// never hand out platform-wide roles; platform_admins manage any. Secrets are generated here,
// returned once, stored only as a scrypt hash.
import type { Tx } from '../../db/client.js'
import type { Ctx } from '../../access/scope.js'
import { pageOf } from '../../core/paging.js'
import type { Actor } from '../../core/actor.js'
import { hasAny, requireAny } from '../../core/authz.js'
import { AppError, notFound } from '../../core/errors.js'
import { decodeCursor } from '../../core/cursor.js'
import { preconditionFailed } from '../../core/etag.js'
import { ORG_ADMIN_GRANTABLE, type Role } from '../../core/roles.js'
import { generateClientId, generateSecret, hashSecret } from '../../core/secrets.js'
import { organisationsRepository } from '../organisations/organisations.repository.js'
import { accountsRepository as repo, toAccount } from './accounts.repository.js'
import type { AccountCreate, AccountPatch } from './accounts.schemas.js'

const MANAGERS: Role[] = ['org_admin', 'platform_admin']

function mayManage(actor: Actor, organisationId: string) {
  return actor.roles.has('platform_admin') || (actor.roles.has('org_admin') && actor.organisationId === organisationId)
}

function checkGrantable(actor: Actor, roles: readonly Role[]) {
  if (actor.roles.has('platform_admin')) return
  const refused = roles.filter((r) => !ORG_ADMIN_GRANTABLE.has(r))
  if (refused.length) {
    throw new AppError('forbidden', `An org_admin cannot grant ${refused.join(', ')}; ask a platform administrator.`)
  }
}

export function accountsService(forget: (accountId?: string) => void) {
  /** The account, if the actor may manage it; 404 otherwise (another organisation's accounts are invisible). */
  async function managed(tx: Tx, actor: Actor, id: string, lock = false) {
    requireAny(actor, MANAGERS)
    const row = lock ? await repo.byIdForUpdate(tx, id) : await repo.byId(tx, id)
    if (!row || !mayManage(actor, row.organisationId)) throw notFound('account')
    return row
  }

  async function manageable(tx: Tx, actor: Actor, organisationId: string, verb: string) {
    requireAny(actor, MANAGERS)
    if (!(await organisationsRepository.byId(tx, organisationId))) throw notFound('organisation')
    if (!mayManage(actor, organisationId)) {
      throw new AppError('forbidden', `Only that organisation's org_admins and platform administrators may ${verb} its accounts.`)
    }
  }

  return {
    async list(ctx: Ctx, organisationId: string, limit: number, cursor: string | undefined) {
      const after = cursor ? decodeCursor<[string, string]>(cursor, ['t', 'u']) : undefined
      return ctx.tx(async (tx, audit) => {
        await manageable(tx, ctx.actor, organisationId, 'list')
        const page = pageOf(await repo.listByOrganisation(tx, organisationId, limit, after), limit, toAccount)
        audit.set({ resourceType: 'organisation', details: { returned: page.items.length } })
        return page
      })
    },

    async create(ctx: Ctx, organisationId: string, input: AccountCreate) {
      requireAny(ctx.actor, MANAGERS)
      checkGrantable(ctx.actor, input.roles)
      const clientSecret = generateSecret()
      const secretHash = await hashSecret(clientSecret)
      return ctx.tx(async (tx, audit) => {
        await manageable(tx, ctx.actor, organisationId, 'create')
        const row = await repo.insert(tx, { organisationId, name: input.name, roles: input.roles, clientId: generateClientId(), secretHash })
        audit.set({ resourceType: 'account', resourceId: row.id, details: { organisationId, name: row.name, roles: row.roles } })
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
        const row = await managed(tx, actor, id, true)
        if (expectedVersion !== undefined && expectedVersion !== row.version) throw preconditionFailed(row.version)
        if (patch.roles) {
          checkGrantable(actor, patch.roles)
          // An org_admin may not strip platform-wide roles that a platform admin gave either.
          checkGrantable(actor, (row.roles as Role[]).filter((r) => !patch.roles?.includes(r)))
        }
        if (id === actor.accountId) {
          const losesAdmin = patch.roles && !hasAny({ ...actor, roles: new Set(patch.roles) }, MANAGERS)
          if (patch.disabled || losesAdmin) {
            throw new AppError('conflict', 'You cannot disable your own account or remove your own administrative role.')
          }
        }
        const updated = await repo.update(tx, id, row.version, {
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.roles !== undefined ? { roles: patch.roles } : {}),
          ...(patch.disabled !== undefined ? { disabled: patch.disabled } : {}),
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
        const row = await managed(tx, ctx.actor, id, true)
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
