// The caller's own account and organisation, read in the caller's scope.
import type { Ctx } from '../../access/scope.js'
import { notFound } from '../../core/errors.js'
import { accountsRepository, toAccount } from '../accounts/accounts.repository.js'
import { organisationsRepository, toOrganisation } from '../organisations/organisations.repository.js'
import type { Me } from './me.schemas.js'

export function meService() {
  return {
    async get(ctx: Ctx): Promise<Me> {
      return ctx.tx(async (tx) => {
        const acct = await accountsRepository.byId(tx, ctx.actor.accountId)
        const org = await organisationsRepository.byId(tx, ctx.actor.organisationId)
        if (!acct || !org) throw notFound('account')
        return { account: toAccount(acct), organisation: toOrganisation(org), effectiveRoles: [...ctx.actor.roles] }
      })
    },
  }
}

export type MeService = ReturnType<typeof meService>
