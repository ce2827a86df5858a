// The audit vocabulary, declared: for each operation, the event type the log records, the kind
// of resource it is about, and the detail fields it may carry. A /v1 or /taxii2 route without an
// entry fails the boot (plugins/policy.ts), and renaming a URL never changes what the log says.
// Published in openapi.yaml as x-dcx-audit.
import type { OperationId } from '../access/policy.js'

export const RESOURCE_TYPES = [
  'token',
  'signing_key',
  'account',
  'organisation',
  'sharing_group',
  'indicator',
  'sighting',
  'warning_list',
  'note',
  'consent',
  'share_request',
  'change',
  'stats',
  'audit',
  'stix',
  'taxii',
  'route',
  'screening',
  'review',
  'retraction',
] as const
export type ResourceType = (typeof RESOURCE_TYPES)[number]

export interface EventSpec {
  /** What happened, `<resource>.<verb>`: e.g. indicator.read, account.secret.rotate. */
  type: string
  resource: ResourceType
  /** The detail fields this event may record (never a secret, token or screened value). */
  details: readonly string[]
}

/** Detail fields any event may carry: an idempotent replay; for an unknown route, what was asked. */
export const COMMON_DETAILS = ['idempotentReplay', 'method', 'path'] as const

const LIST = ['filters', 'limit', 'returned'] as const
const CHANGED = ['changed', 'version'] as const

/** Only /v1 and /taxii2 operations are audited; the service's own endpoints are not. */
export const AUDIT_EVENTS = {
  issueToken: { type: 'auth.token.issue', resource: 'token', details: [] },
  rotateSigningKey: { type: 'auth.signing_key.rotate', resource: 'signing_key', details: ['kid', 'retiredKid', 'reason'] },

  getMe: { type: 'account.me.read', resource: 'account', details: [] },
  listOrganisations: { type: 'organisation.list', resource: 'organisation', details: ['filters', 'returned'] },
  getOrganisation: { type: 'organisation.read', resource: 'organisation', details: [] },
  createOrganisation: { type: 'organisation.create', resource: 'organisation', details: ['name', 'sector', 'country'] },
  updateOrganisation: { type: 'organisation.update', resource: 'organisation', details: ['changed', 'values', 'version'] },
  getOrganisationSettings: { type: 'organisation.settings.read', resource: 'organisation', details: [] },
  updateOrganisationSettings: { type: 'organisation.settings.update', resource: 'organisation', details: ['changed', 'before', 'after', 'version'] },

  listAccounts: { type: 'account.list', resource: 'organisation', details: ['returned'] },
  createAccount: { type: 'account.create', resource: 'account', details: ['organisationId', 'name', 'roles', 'defaultJustification'] },
  getAccount: { type: 'account.read', resource: 'account', details: [] },
  updateAccount: { type: 'account.update', resource: 'account', details: ['changed', 'values', 'version'] },
  rotateAccountSecret: { type: 'account.secret.rotate', resource: 'account', details: ['changed'] },

  listSharingGroups: { type: 'sharing_group.list', resource: 'sharing_group', details: ['returned'] },
  getSharingGroup: { type: 'sharing_group.read', resource: 'sharing_group', details: [] },
  createSharingGroup: { type: 'sharing_group.create', resource: 'sharing_group', details: ['name', 'organisationIds'] },
  updateSharingGroup: { type: 'sharing_group.update', resource: 'sharing_group', details: ['changed', 'values'] },
  deleteSharingGroup: { type: 'sharing_group.delete', resource: 'sharing_group', details: [] },

  listIndicators: { type: 'indicator.list', resource: 'indicator', details: [...LIST, 'justification'] },
  getIndicator: { type: 'indicator.read', resource: 'indicator', details: ['justification'] },
  createIndicator: { type: 'indicator.create', resource: 'indicator', details: ['type', 'tlp', 'distribution', 'valueVisibility'] },
  bulkCreateIndicators: { type: 'indicator.bulk_create', resource: 'indicator', details: ['submitted', 'created', 'invalid'] },
  matchIndicators: {
    type: 'indicator.match',
    resource: 'indicator',
    details: ['count', 'values', 'truncated', 'sha256', 'matchedValues', 'matches', 'justification'],
  },
  updateIndicator: { type: 'indicator.update', resource: 'indicator', details: CHANGED },
  revokeIndicator: { type: 'indicator.revoke', resource: 'indicator', details: CHANGED },
  listRelatedIndicators: { type: 'indicator.related.list', resource: 'indicator', details: ['returned', 'justification'] },
  listSightings: { type: 'sighting.list', resource: 'indicator', details: ['returned'] },
  reportSighting: { type: 'sighting.create', resource: 'sighting', details: ['indicatorId', 'outcome', 'count'] },
  getIndicatorYield: { type: 'indicator.yield.read', resource: 'indicator', details: [] },

  // Warning lists (modules/warning-lists): counts only, never a listed value.
  listWarningLists: { type: 'warning_list.list', resource: 'warning_list', details: ['returned'] },
  getWarningList: { type: 'warning_list.read', resource: 'warning_list', details: [] },
  createWarningList: { type: 'warning_list.create', resource: 'warning_list', details: ['scope', 'name', 'entries'] },
  updateWarningList: { type: 'warning_list.update', resource: 'warning_list', details: CHANGED },
  deleteWarningList: { type: 'warning_list.delete', resource: 'warning_list', details: [] },
  addWarningListEntries: { type: 'warning_list.entries.add', resource: 'warning_list', details: ['submitted', 'added', 'entryCount'] },
  removeWarningListEntries: { type: 'warning_list.entries.remove', resource: 'warning_list', details: ['submitted', 'removed', 'entryCount'] },

  listNotes: { type: 'note.list', resource: 'note', details: LIST },
  getNote: { type: 'note.read', resource: 'note', details: [] },
  createNote: { type: 'note.create', resource: 'note', details: ['title', 'tlp', 'distribution'] },
  updateNote: { type: 'note.update', resource: 'note', details: CHANGED },
  revokeNote: { type: 'note.revoke', resource: 'note', details: CHANGED },
  listNoteRevisions: { type: 'note.revision.list', resource: 'note', details: ['returned'] },

  createIndicatorConsent: { type: 'consent.create', resource: 'consent', details: ['itemKind', 'itemId', 'organisationId'] },
  listIndicatorConsents: { type: 'consent.list', resource: 'indicator', details: ['returned'] },
  createNoteConsent: { type: 'consent.create', resource: 'consent', details: ['itemKind', 'itemId', 'organisationId'] },
  listNoteConsents: { type: 'consent.list', resource: 'note', details: ['returned'] },
  withdrawIndicatorConsent: { type: 'consent.withdraw', resource: 'consent', details: ['itemKind', 'itemId', 'organisationId'] },
  withdrawNoteConsent: { type: 'consent.withdraw', resource: 'consent', details: ['itemKind', 'itemId', 'organisationId'] },
  createIndicatorShareRequest: { type: 'share_request.create', resource: 'share_request', details: ['itemKind', 'itemId', 'organisationId'] },
  createNoteShareRequest: { type: 'share_request.create', resource: 'share_request', details: ['itemKind', 'itemId', 'organisationId'] },
  listShareRequests: { type: 'share_request.list', resource: 'share_request', details: ['filters', 'returned'] },
  approveShareRequest: { type: 'share_request.approve', resource: 'share_request', details: ['itemKind', 'itemId', 'organisationId', 'reason'] },
  refuseShareRequest: { type: 'share_request.refuse', resource: 'share_request', details: ['itemKind', 'itemId', 'organisationId', 'reason'] },
  approveIndicator: { type: 'indicator.approve', resource: 'indicator', details: ['author', 'version', 'comment'] },
  sendBackIndicator: { type: 'indicator.send_back', resource: 'indicator', details: ['author', 'reason', 'version'] },
  approveNote: { type: 'note.approve', resource: 'note', details: ['author', 'version', 'comment'] },
  sendBackNote: { type: 'note.send_back', resource: 'note', details: ['author', 'reason', 'version'] },

  listChanges: { type: 'change.list', resource: 'change', details: ['cursor', 'returned', 'justification'] },
  // Review and retention (modules/retention): the queue, and the owner's decision. A decision to
  // erase also writes the erasure event below, in the same transaction.
  listReviewQueue: { type: 'review.queue.list', resource: 'review', details: ['limit', 'returned'] },
  reviewIndicator: { type: 'indicator.review', resource: 'indicator', details: ['decision', 'reason', 'reviewBy', 'previousReviewBy', 'version'] },
  listRetractions: { type: 'retraction.list', resource: 'retraction', details: ['limit', 'returned'] },
  acknowledgeRetraction: { type: 'retraction.acknowledge', resource: 'retraction', details: ['itemId', 'kind', 'reason'] },
  listIndicatorRetractions: { type: 'indicator.retraction.list', resource: 'indicator', details: ['returned'] },
  listNoteRetractions: { type: 'note.retraction.list', resource: 'note', details: ['returned'] },
  reviewNote: { type: 'note.review', resource: 'note', details: ['decision', 'reason', 'reviewBy', 'previousReviewBy', 'version'] },

  getStats: { type: 'stats.read', resource: 'stats', details: ['from', 'to'] },

  // Never a tested value: the server has none (blinded elements and tags are not recorded either).
  getScreeningKeys: { type: 'screening.keys.read', resource: 'screening', details: [] },
  getScreeningDigest: { type: 'screening.digest.read', resource: 'screening', details: ['epoch', 'type', 'returned', 'format'] },
  evaluateScreening: { type: 'screening.evaluate', resource: 'screening', details: ['epoch', 'type', 'count', 'quotaUsed', 'quota', 'justification'] },
  // The disclosure event: which holdings (and whose) reached the calling organisation.
  resolveScreening: { type: 'screening.resolve', resource: 'screening', details: ['epoch', 'type', 'count', 'resolved', 'disclosed', 'justification'] },
  listScreeningDisclosures: { type: 'screening.disclosure.list', resource: 'screening', details: ['returned'] },

  listAuditEvents: { type: 'audit.event.list', resource: 'audit', details: ['filters'] },
  exportAuditEvents: { type: 'audit.export', resource: 'audit', details: ['filters', 'format', 'justification'] },
  verifyAuditLog: { type: 'audit.verify', resource: 'audit', details: [] },
  listAuditCheckpoints: { type: 'audit.checkpoint.list', resource: 'audit', details: [] },

  exportStix: { type: 'stix.export', resource: 'stix', details: ['filters', 'signed', 'objects', 'withheld', 'sha256', 'kid', 'justification'] },
  importStix: {
    type: 'stix.import',
    resource: 'stix',
    details: ['bundle', 'submitted', 'created', 'duplicate', 'unsupported', 'invalid', 'distribution', 'tlp'],
  },

  taxiiDiscovery: { type: 'taxii.discovery.read', resource: 'taxii', details: [] },
  taxiiApiRoot: { type: 'taxii.api_root.read', resource: 'taxii', details: [] },
  taxiiListCollections: { type: 'taxii.collection.list', resource: 'taxii', details: ['returned'] },
  taxiiGetCollection: { type: 'taxii.collection.read', resource: 'taxii', details: [] },
  taxiiGetStatus: { type: 'taxii.status.read', resource: 'taxii', details: [] },
  taxiiGetManifest: { type: 'taxii.manifest.read', resource: 'taxii', details: ['collection', 'query', 'returned'] },
  taxiiGetObjects: { type: 'taxii.object.list', resource: 'taxii', details: ['collection', 'query', 'returned', 'ids', 'justification'] },
  taxiiAddObjects: {
    type: 'taxii.object.add',
    resource: 'taxii',
    details: ['collection', 'submitted', 'created', 'duplicate', 'unsupported', 'invalid', 'statusId', 'pending'],
  },
  taxiiGetObject: { type: 'taxii.object.read', resource: 'taxii', details: ['collection', 'objectId', 'returned', 'justification'] },
  taxiiDeleteObject: { type: 'taxii.object.revoke', resource: 'taxii', details: ['collection', 'objectId', 'revoked'] },
  taxiiGetVersions: { type: 'taxii.object.versions.read', resource: 'taxii', details: ['collection', 'objectId', 'returned'] },
} as const satisfies Partial<Record<OperationId, EventSpec>>

export type AuditedOperation = keyof typeof AUDIT_EVENTS

/** Events the service records of its own accord, outside any request. */
export const SYSTEM_EVENTS = {
  /** One run of the audit pruning job (audit/pruning.ts): its cut-off and counts, never a payload. */
  auditPrune: { type: 'audit.prune', resource: 'audit', details: ['cutoff', 'pruned', 'legacyKept', 'retentionMonths'] },
} as const satisfies Record<string, EventSpec>

export function eventSpec(operation: unknown): EventSpec | undefined {
  return typeof operation === 'string' && Object.hasOwn(AUDIT_EVENTS, operation) ? AUDIT_EVENTS[operation as AuditedOperation] : undefined
}

/**
 * Erasure, recorded by the one erasure function (modules/retention/erasure.ts) whoever triggers
 * it: an owner's review decision (with that request's account) or the retention job (no account;
 * client id dcx:retention, the owner organisation), in the transaction that erases.
 */
export const ERASURE_EVENTS = {
  indicator: { type: 'indicator.erase', resource: 'indicator', details: ['trigger', 'reason', 'reviewBy', 'previousStatus', 'version'] },
  note: { type: 'note.erase', resource: 'note', details: ['trigger', 'reason', 'reviewBy', 'previousStatus', 'version'] },
} as const satisfies Record<string, EventSpec>

/** A request to a path no route serves (under /v1 or /taxii2): recorded, with what was asked. */
export const UNKNOWN_ROUTE: EventSpec = { type: 'route.unknown', resource: 'route', details: [] }
