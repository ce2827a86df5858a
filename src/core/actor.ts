// The authenticated caller, as every layer below the HTTP adapters sees it.
import type { Role, Sector } from './roles.js'

export interface Actor {
  accountId: string
  organisationId: string
  clientId: string
  /** Effective roles, implied ones expanded (org_admin ⇒ contributor ⇒ reader). */
  roles: ReadonlySet<Role>
  sector: Sector
  /** The account's defaultJustification (access/justification.ts), when it has one. */
  defaultJustification?: string | null
}
