// Who may do what: one table keyed by operationId, read by one check before every handler
// (plugins/policy.ts) and published in openapi.yaml as x-dcx-roles. A /v1 or /taxii2 route
// whose operationId has no entry here fails the boot. The few conditions that depend on the
// target (its organisation, the roles an account holds) are named in the table and decided by
// the functions below, which services call once they have loaded the target.
//
// Who may *see* what is the other half of the rules: src/access/visibility.ts and the SQL
// function it calls.
import type { Actor } from '../core/actor.js'
import { AppError } from '../core/errors.js'
import { ROLES, type Role } from '../core/roles.js'

/** Conditions on the target, beyond the caller's roles. */
export type Condition =
  /** The target belongs to the caller's organisation (platform_admin: any organisation). */
  | 'ownOrganisation'
  /** Items: only the owner organisation writes; others get 404, as for an item they cannot see. */
  | 'ownerWrites'
  /** The caller could grant every role the target account holds (and every role it hands out). */
  | 'accountRank'
  /** Audit events: auditors and platform admins see all; an org admin its own organisation's. */
  | 'auditScope'
  /** Items: only the owner organisation reads this about its item; others get 404. */
  | 'ownerReads'
  /** Warning lists: platform lists platform_admin, an organisation's lists its own org_admin (else 403; unseen 404). */
  | 'listWriter'

export interface Rule {
  /** 'public': no credentials; 'account': any authenticated account; else any of these roles (implied roles count). */
  allow: 'public' | 'account' | readonly Role[]
  conditions?: readonly Condition[]
  /**
   * The purpose the caller must state (DESIGN §7, src/access/justification.ts): 'always' — every
   * call consults personal data; 'personal' — when what it answers (or screens) holds personal
   * data. The handler decides which applies; openapi.yaml documents the DCX-Justification header
   * and the 428 for these operations.
   */
  justification?: 'always' | 'personal'
}

const READ: Rule = { allow: ['reader'] }
const WRITE: Rule = { allow: ['contributor'], conditions: ['ownerWrites'] }
const MANAGE_ACCOUNTS: Rule = { allow: ['org_admin', 'platform_admin'], conditions: ['ownOrganisation'] }
const ACT_ON_ACCOUNT: Rule = { allow: ['org_admin', 'platform_admin'], conditions: ['ownOrganisation', 'accountRank'] }
const WARNING_LISTS_WRITE: Rule = { allow: ['org_admin', 'platform_admin'], conditions: ['listWriter'] }
const AUDIT_READ: Rule = { allow: ['org_admin', 'auditor'], conditions: ['auditScope'] }
const CONSULT: Rule = { ...READ, justification: 'personal' }

export const POLICY = {
  // Operations of the service itself and the token endpoint: no credentials.
  healthz: { allow: 'public' },
  readyz: { allow: 'public' },
  metrics: { allow: 'public' },
  getJwks: { allow: 'public' },
  issueToken: { allow: 'public' },
  // Rotating the service's token signing key: platform-wide, so platform admins only.
  rotateSigningKey: { allow: ['platform_admin'] },

  getMe: { allow: 'account' },
  // The directory: every member can reach every partner's contact point.
  listOrganisations: { allow: 'account' },
  getOrganisation: { allow: 'account' },
  createOrganisation: { allow: ['platform_admin'] },
  updateOrganisation: { allow: ['platform_admin'] },
  // Lifecycle settings (four-eyes, retention): that organisation's org_admins, platform admins.
  getOrganisationSettings: { allow: ['org_admin', 'platform_admin'], conditions: ['ownOrganisation'] },
  updateOrganisationSettings: { allow: ['org_admin', 'platform_admin'], conditions: ['ownOrganisation'] },

  listAccounts: MANAGE_ACCOUNTS,
  createAccount: { ...MANAGE_ACCOUNTS, conditions: ['ownOrganisation', 'accountRank'] },
  getAccount: MANAGE_ACCOUNTS,
  updateAccount: ACT_ON_ACCOUNT,
  rotateAccountSecret: ACT_ON_ACCOUNT,

  listSharingGroups: READ,
  getSharingGroup: READ,
  createSharingGroup: { allow: ['org_admin'] },
  updateSharingGroup: { allow: ['org_admin'], conditions: ['ownerWrites'] },
  deleteSharingGroup: { allow: ['org_admin'], conditions: ['ownerWrites'] },

  listIndicators: CONSULT,
  getIndicator: CONSULT,
  matchIndicators: CONSULT,
  listRelatedIndicators: CONSULT,
  listSightings: READ,
  createIndicator: { allow: ['contributor'] },
  bulkCreateIndicators: { allow: ['contributor'] },
  updateIndicator: WRITE,
  revokeIndicator: WRITE,
  reportSighting: { allow: ['contributor'] },
  // Yield is the owner's feedback: other organisations that can see the item get 404 (ownerWrites' answer).
  getIndicatorYield: { allow: ['reader'], conditions: ['ownerReads'] },

  // Warning lists: reference data every account reads (platform lists; an organisation's lists
  // reach its members only). Platform lists are written by platform_admin, an organisation's by
  // its org_admin (the service decides which, once it has loaded the list: 403 for the wrong role).
  listWarningLists: { allow: 'account' },
  getWarningList: { allow: 'account' },
  createWarningList: WARNING_LISTS_WRITE,
  updateWarningList: WARNING_LISTS_WRITE,
  deleteWarningList: WARNING_LISTS_WRITE,
  addWarningListEntries: WARNING_LISTS_WRITE,
  removeWarningListEntries: WARNING_LISTS_WRITE,

  listNotes: READ,
  getNote: READ,
  listNoteRevisions: READ,
  createNote: { allow: ['contributor'] },
  updateNote: WRITE,
  revokeNote: WRITE,

  // Handling codes: H1 consents by the owner's org admins; H2 share requests asked by a
  // recipient (it must see the item) and decided by the owner organisation (ownerWrites).
  createIndicatorConsent: { allow: ['org_admin'], conditions: ['ownerWrites'] },
  listIndicatorConsents: { allow: ['org_admin'], conditions: ['ownerWrites'] },
  createNoteConsent: { allow: ['org_admin'], conditions: ['ownerWrites'] },
  listNoteConsents: { allow: ['org_admin'], conditions: ['ownerWrites'] },
  withdrawIndicatorConsent: { allow: ['org_admin'], conditions: ['ownerWrites'] },
  withdrawNoteConsent: { allow: ['org_admin'], conditions: ['ownerWrites'] },
  createIndicatorShareRequest: { allow: ['contributor'] },
  createNoteShareRequest: { allow: ['contributor'] },
  listShareRequests: READ,
  approveShareRequest: WRITE,
  refuseShareRequest: WRITE,
  // Four-eyes: another account of the owner organisation (not the author: checked on the item).
  approveIndicator: WRITE,
  sendBackIndicator: WRITE,
  approveNote: WRITE,
  sendBackNote: WRITE,
  // Review and retention: the queue lists the caller's own organisation's items only; a
  // decision (extend or erase) is a write by the owner.
  listReviewQueue: READ,
  reviewIndicator: WRITE,
  reviewNote: WRITE,
  // Retraction notices: a receiving organisation's readers (often a partner system holding only
  // reader) see and acknowledge its own; an owner's readers see who was told about its item.
  listRetractions: READ,
  acknowledgeRetraction: READ,
  listIndicatorRetractions: READ,
  listNoteRetractions: READ,

  listChanges: CONSULT,
  getStats: READ,
  exportStix: CONSULT,
  importStix: { allow: ['contributor'] },

  // Oblivious screening (DESIGN.md §8): readers screen (what they may match decides the digest and
  // resolve); the notices of disclosed holdings go to the owner organisation's readers.
  getScreeningKeys: READ,
  getScreeningDigest: READ,
  evaluateScreening: CONSULT,
  resolveScreening: CONSULT,
  listScreeningDisclosures: READ,

  listAuditEvents: AUDIT_READ,
  exportAuditEvents: { ...AUDIT_READ, justification: 'always' },
  verifyAuditLog: { allow: ['auditor'] },
  listAuditCheckpoints: { allow: ['auditor'] },

  // TAXII 2.1: discovery and collections for any account (each collection says can_read /
  // can_write from the rules below); content follows the /v1 rules.
  taxiiDiscovery: { allow: 'account' },
  taxiiApiRoot: { allow: 'account' },
  taxiiListCollections: { allow: 'account' },
  taxiiGetCollection: { allow: 'account' },
  taxiiGetStatus: { allow: 'account' },
  taxiiGetManifest: READ,
  taxiiGetObjects: CONSULT,
  taxiiGetObject: CONSULT,
  taxiiGetVersions: READ,
  taxiiAddObjects: { allow: ['contributor'] },
  taxiiDeleteObject: WRITE,
} as const satisfies Record<string, Rule>

export type OperationId = keyof typeof POLICY

export function isOperation(id: unknown): id is OperationId {
  return typeof id === 'string' && Object.hasOwn(POLICY, id)
}

/** Each role includes the ones listed for it (contributor is reader +, …); auditor and platform_admin are not readers of content. */
const IMPLIED: Record<Role, readonly Role[]> = {
  reader: ['reader'],
  contributor: ['contributor', 'reader'],
  org_admin: ['org_admin', 'contributor', 'reader'],
  auditor: ['auditor'],
  platform_admin: ['platform_admin', 'auditor'],
}

/** The roles an account effectively holds, implied ones expanded. */
export function effectiveRoles(roles: readonly string[]): Set<Role> {
  const out = new Set<Role>()
  for (const r of roles) for (const i of IMPLIED[r as Role] ?? []) out.add(i)
  return out
}

/** The account roles that pass a rule (implied roles expanded): what x-dcx-roles publishes. */
export function rolesAllowed(rule: Rule): Role[] | 'public' | 'account' {
  if (typeof rule.allow === 'string') return rule.allow
  const allow = rule.allow
  return ROLES.filter((r) => allow.some((a) => IMPLIED[r].includes(a)))
}

/** True when the actor's roles pass the operation's rule (conditions on the target aside). */
export function allowed(actor: Actor | null, operation: OperationId): boolean {
  const rule: Rule = POLICY[operation]
  if (rule.allow === 'public') return true
  if (!actor) return false
  if (rule.allow === 'account') return true
  return rule.allow.some((r) => actor.roles.has(r))
}

/** The one check before every handler: 403 unless the roles pass. Role checks never depend on the item, so they leak nothing. */
export function authorize(actor: Actor, operation: OperationId): void {
  if (allowed(actor, operation)) return
  const rule: Rule = POLICY[operation]
  const roles = rolesAllowed(rule)
  throw new AppError('forbidden', `This operation needs one of the roles: ${Array.isArray(roles) ? roles.join(', ') : roles}.`)
}

// ---- Conditions on the target --------------------------------------------------------------

/** ownOrganisation: the organisation is the caller's own, or the caller is a platform admin. */
export function withinOrganisation(actor: Actor, organisationId: string): boolean {
  return actor.roles.has('platform_admin') || actor.organisationId === organisationId
}

/** The roles an actor may hand out: a platform admin any; an org admin never platform-wide ones. */
export function grantable(actor: Actor): ReadonlySet<Role> {
  if (actor.roles.has('platform_admin')) return new Set(ROLES)
  if (actor.roles.has('org_admin')) return new Set<Role>(['reader', 'contributor', 'org_admin'])
  return new Set()
}

/** accountRank: the roles, of the target or to be given, that the actor could not grant. */
export function outranked(actor: Actor, roles: readonly string[]): string[] {
  const may = grantable(actor)
  return roles.filter((r) => !may.has(r as Role))
}

/** accountRank as a refusal: acting on (or creating) an account needs the power to grant each of its roles. */
export function requireRank(actor: Actor, roles: readonly string[], what: 'act on' | 'grant'): void {
  const refused = outranked(actor, roles)
  if (refused.length === 0) return
  throw new AppError(
    'forbidden',
    what === 'grant'
      ? `You cannot grant ${refused.join(', ')}; ask a platform administrator.`
      : `This account holds ${refused.join(', ')}, which you cannot grant, so you cannot act on it; ask a platform administrator.`,
  )
}

/** auditScope: the organisation whose events the actor may read, or null for all. */
export function auditScopeOf(actor: Actor): { organisationId: string | null } {
  if (actor.roles.has('auditor')) return { organisationId: null }
  return { organisationId: actor.organisationId }
}

/** listWriter: a platform list (no organisation) by a platform admin; an organisation's list by its own org admins. */
export function mayWriteWarningList(actor: Actor, organisationId: string | null): boolean {
  return organisationId === null ? actor.roles.has('platform_admin') : actor.roles.has('org_admin') && organisationId === actor.organisationId
}
