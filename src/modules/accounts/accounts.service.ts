// Accounts of an organisation. org_admins manage their own organisation's accounts and can
// never hand out platform-wide roles; platform_admins manage any. Secrets are generated here,
// returned once, stored only as a scrypt hash.
import type { Db } from '../../db/client.js'
import type { Actor } from '../../plugins/auth.js'
import { hasAny, requireAny } from '../../lib/authz.js'
import { AppError, notFound } from '../../lib/errors.js'
import { decodeCursor, encodeCursor } from '../../lib/cursor.js'
import { preconditionFailed } from '../../lib/etag.js'
import { ORG_ADMIN_GRANTABLE, type Role } from '../../lib/roles.js'
import { generateClientId, generateSecret, hashSecret } from '../../lib/secrets.js'
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

export function accountsService(db: Db, forget: (accountId?: string) => void) {
  /** The account, if the actor may manage it; 404 otherwise (another organisation's accounts are invisible). */
  async function managed(actor: Actor, id: string) {
    requireAny(actor, MANAGERS)
    const row = await repo.byId(db, id)
    if (!row || !mayManage(actor, row.organisationId)) throw notFound('account')
    return row
  }

  return {
    async list(actor: Actor, organisationId: string, limit: number, cursor: string | undefined) {
      requireAny(actor, MANAGERS)
      if (!(await organisationsRepository.byId(db, organisationId))) throw notFound('organisation')
      if (!mayManage(actor, organisationId)) throw new AppError('forbidden', "Only that organisation's org_admins and platform administrators may list its accounts.")
      const after = cursor ? decodeCursor<[string, string]>(cursor, ['t', 'u']) : undefined
      const rows = await repo.listByOrganisation(db, organisationId, limit, after)
      const items = rows.slice(0, limit)
      const last = items.at(-1)
      return {
        items: items.map(toAccount),
        nextCursor: rows.length > limit && last ? encodeCursor([last.createdAt.toISOString(), last.id]) : null,
      }
    },

    async create(actor: Actor, organisationId: string, input: AccountCreate) {
      requireAny(actor, MANAGERS)
      if (!(await organisationsRepository.byId(db, organisationId))) throw notFound('organisation')
      if (!mayManage(actor, organisationId)) throw new AppError('forbidden', "Only that organisation's org_admins and platform administrators may create its accounts.")
      checkGrantable(actor, input.roles)
      const clientSecret = generateSecret()
      const row = await repo.insert(db, {
        organisationId,
        name: input.name,
        roles: input.roles,
        clientId: generateClientId(),
        secretHash: await hashSecret(clientSecret),
      })
      return { account: { ...toAccount(row), clientSecret }, version: row.version }
    },

    async get(actor: Actor, id: string) {
      const row = await managed(actor, id)
      return { account: toAccount(row), version: row.version }
    },

    async update(actor: Actor, id: string, patch: AccountPatch, expectedVersion: number | undefined) {
      const row = await managed(actor, id)
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
      const updated = await repo.update(db, id, row.version, {
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.roles !== undefined ? { roles: patch.roles } : {}),
        ...(patch.disabled !== undefined ? { disabled: patch.disabled } : {}),
      })
      if (!updated) throw preconditionFailed(row.version + 1)
      forget(id)
      return { account: toAccount(updated), version: updated.version }
    },

    async rotateSecret(actor: Actor, id: string) {
      const row = await managed(actor, id)
      const clientSecret = generateSecret()
      const updated = await repo.update(db, id, row.version, {
        secretHash: await hashSecret(clientSecret),
        secretRotatedAt: new Date(),
      })
      if (!updated) throw new AppError('conflict', 'The account changed while rotating; retry.')
      return {
        secret: { id: updated.id, clientId: updated.clientId, clientSecret, secretRotatedAt: updated.secretRotatedAt.toISOString() },
        version: updated.version,
      }
    },
  }
}
