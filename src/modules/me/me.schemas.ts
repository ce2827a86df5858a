import { z } from 'zod'
import { role } from '../../core/schemas.js'
import { account } from '../accounts/accounts.schemas.js'
import { organisation } from '../organisations/organisations.schemas.js'

export const me = z
  .object({
    account,
    organisation,
    effectiveRoles: z.array(role).describe('Roles with the implied ones expanded (org_admin ⇒ contributor ⇒ reader)'),
  })
  .meta({ id: 'Me' })

export type Me = z.infer<typeof me>
