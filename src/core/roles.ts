// Roles and sectors from DESIGN §2, and the few rules that follow from them.
export const ROLES = ['reader', 'contributor', 'org_admin', 'auditor', 'platform_admin'] as const
export type Role = (typeof ROLES)[number]

export const SECTORS = [
  'police',
  'customs',
  'border',
  'prosecution',
  'judiciary',
  'postal',
  'courier',
  'industry',
  'academia',
  'international',
] as const
export type Sector = (typeof SECTORS)[number]

// Which sectors are authorities (who the `authorities` distribution reaches) is data, not code:
// the rows of dcx_distributions (migrations/0009), read by the database's visibility function.

// Each role includes the ones listed for it (contributor is reader +, …).
const implied: Record<Role, Role[]> = {
  reader: ['reader'],
  contributor: ['contributor', 'reader'],
  org_admin: ['org_admin', 'contributor', 'reader'],
  auditor: ['auditor'],
  platform_admin: ['platform_admin', 'auditor'],
}

/** The roles an account effectively holds, with the implied ones expanded. */
export function effectiveRoles(roles: readonly string[]): Set<Role> {
  const out = new Set<Role>()
  for (const r of roles) for (const i of implied[r as Role] ?? []) out.add(i)
  return out
}

/** Roles an org_admin may hand out: never platform_admin or auditor (platform-wide powers). */
export const ORG_ADMIN_GRANTABLE: ReadonlySet<Role> = new Set(['reader', 'contributor', 'org_admin'])
