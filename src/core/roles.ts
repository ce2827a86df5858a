// Roles and sectors. What each role may do is the access policy (src/access/policy.ts).
export const ROLES = ['reader', 'contributor', 'org_admin', 'auditor', 'platform_admin'] as const
export type Role = (typeof ROLES)[number]

export const SECTORS = ['police', 'customs', 'border', 'prosecution', 'judiciary', 'postal', 'courier', 'industry', 'academia', 'international'] as const
export type Sector = (typeof SECTORS)[number]

// Which sectors are authorities (who the `authorities` distribution reaches) is data, not code:
// the rows of dcx_distributions (migrations/0009), read by the database's visibility function.
