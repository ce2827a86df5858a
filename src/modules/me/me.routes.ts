import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { problems, role } from '../../core/schemas.js'
import { notFound } from '../../core/errors.js'
import { accountsRepository, toAccount } from '../accounts/accounts.repository.js'
import { organisationsRepository, toOrganisation } from '../organisations/organisations.repository.js'
import { account } from '../accounts/accounts.schemas.js'
import { organisation } from '../organisations/organisations.schemas.js'

const me = z
  .object({
    account,
    organisation,
    effectiveRoles: z.array(role).describe('Roles with the implied ones expanded (org_admin ⇒ contributor ⇒ reader)'),
  })
  .meta({ id: 'Me' })

const routes: FastifyPluginAsyncZod = async (app) => {
  app.get('/me', {
    schema: {
      tags: ['accounts'],
      operationId: 'getMe',
      summary: "The caller's account, roles and organisation",
      response: { 200: me, ...problems(401, 429, 500) },
    },
  }, async (req) => {
    return req.ctx.tx(async (tx) => {
      const acct = await accountsRepository.byId(tx, req.actor.accountId)
      const org = await organisationsRepository.byId(tx, req.actor.organisationId)
      if (!acct || !org) throw notFound('account')
      return { account: toAccount(acct), organisation: toOrganisation(org), effectiveRoles: [...req.actor.roles] }
    })
  })
}

export default routes
