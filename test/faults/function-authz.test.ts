// OWASP API5 (broken function-level authorisation): every operation of openapi.yaml × every kind
// of caller {none, reader, contributor, org_admin, auditor, platform_admin}, all of one
// organisation, each acting on that organisation's own resources — so the role alone decides.
// The expectations are a table keyed by operationId (the roles and who may call each endpoint): an
// operation without a row fails this file, and so does a registered route that is not in
// openapi.yaml, so a new route cannot be added without being covered here.
// Every response is also held to the invariants (support.ts): problem+json errors, nothing
// internal, no banner, no CORS, no secret, 2xx bodies valid against openapi.yaml.
import { randomBytes, randomUUID } from 'node:crypto'
import t from 'tap'
import type { FastifyInstance, InjectOptions } from 'fastify'
import type { Role } from '../../src/core/roles.js'
import { buildTestApp, createAccount, createOrg, unique, type TestAccount } from '../helper.js'
import { holds, operations, routeTable, type Operation } from './support.js'
import { blind, oprfInput } from '../../src/screening/oprf.js'
import { toBase64url } from '../../src/screening/wire.js'

type Caller = 'none' | Role
const CALLERS: Caller[] = ['none', 'reader', 'contributor', 'org_admin', 'auditor', 'platform_admin']

/** Expected status per caller, in CALLERS order. */
type Row = [none: number, reader: number, contributor: number, org_admin: number, auditor: number, platform_admin: number]

const everyone = (s: number): Row => [s, s, s, s, s, s]
const anyAccount = (s: number): Row => [401, s, s, s, s, s]
// "reader+": reader, contributor, org_admin. auditor and platform_admin do not imply reader (access/policy.ts).
const readerPlus = (s: number): Row => [401, s, s, s, 403, 403]
const contributorPlus = (s: number): Row => [401, 403, s, s, 403, 403]
const orgAdmin = (s: number): Row => [401, 403, 403, s, 403, 403]
const managers = (s: number): Row => [401, 403, 403, s, 403, s]
const platformAdmin = (s: number): Row => [401, 403, 403, 403, 403, s]
const auditReaders = (s: number): Row => [401, 403, 403, s, s, s]
const auditors = (s: number): Row => [401, 403, 403, 403, s, s]

const EXPECT: Record<string, Row> = {
  healthz: everyone(200),
  readyz: everyone(200),
  metrics: everyone(200),
  getJwks: everyone(200),
  // Public; 'none' sends no credentials at all, the others their own client credentials.
  issueToken: [400, 200, 200, 200, 200, 200],
  rotateSigningKey: platformAdmin(200),
  getMe: anyAccount(200),
  listOrganisations: anyAccount(200),
  createOrganisation: platformAdmin(201),
  getOrganisation: anyAccount(200),
  updateOrganisation: platformAdmin(200),
  getOrganisationSettings: managers(200),
  updateOrganisationSettings: managers(200),
  listAccounts: managers(200),
  createAccount: managers(201),
  getAccount: managers(200),
  updateAccount: managers(200),
  rotateAccountSecret: managers(200),
  listSharingGroups: readerPlus(200),
  getSharingGroup: readerPlus(200),
  createSharingGroup: orgAdmin(201),
  updateSharingGroup: orgAdmin(200),
  deleteSharingGroup: orgAdmin(204),
  listIndicators: readerPlus(200),
  createIndicator: contributorPlus(201),
  bulkCreateIndicators: contributorPlus(200),
  matchIndicators: readerPlus(200),
  getIndicator: readerPlus(200),
  updateIndicator: contributorPlus(200),
  revokeIndicator: contributorPlus(200),
  listRelatedIndicators: readerPlus(200),
  listSightings: readerPlus(200),
  reportSighting: contributorPlus(201),
  listNotes: readerPlus(200),
  createNote: contributorPlus(201),
  getNote: readerPlus(200),
  updateNote: contributorPlus(200),
  revokeNote: contributorPlus(200),
  listNoteRevisions: readerPlus(200),
  createIndicatorConsent: orgAdmin(201),
  listIndicatorConsents: orgAdmin(200),
  createNoteConsent: orgAdmin(201),
  listNoteConsents: orgAdmin(200),
  withdrawIndicatorConsent: orgAdmin(200),
  withdrawNoteConsent: orgAdmin(200),
  createIndicatorShareRequest: contributorPlus(201),
  createNoteShareRequest: contributorPlus(201),
  listShareRequests: readerPlus(200),
  approveShareRequest: contributorPlus(200),
  refuseShareRequest: contributorPlus(200),
  approveIndicator: contributorPlus(200),
  sendBackIndicator: contributorPlus(200),
  approveNote: contributorPlus(200),
  sendBackNote: contributorPlus(200),
  listReviewQueue: readerPlus(200),
  reviewIndicator: contributorPlus(200),
  reviewNote: contributorPlus(200),
  listRetractions: readerPlus(200),
  acknowledgeRetraction: readerPlus(200),
  listIndicatorRetractions: readerPlus(200),
  listNoteRetractions: readerPlus(200),
  listChanges: readerPlus(200),
  getStats: readerPlus(200),
  listAuditEvents: auditReaders(200),
  exportAuditEvents: auditReaders(200),
  verifyAuditLog: auditors(200),
  listAuditCheckpoints: auditors(200),
  exportStix: readerPlus(200),
  importStix: contributorPlus(200),
  getScreeningKeys: readerPlus(200),
  getScreeningDigest: readerPlus(200),
  evaluateScreening: readerPlus(200),
  resolveScreening: readerPlus(200),
  listScreeningDisclosures: readerPlus(200),
  getIndicatorYield: readerPlus(200),
  listWarningLists: anyAccount(200),
  getWarningList: anyAccount(200),
  // Platform lists by platform_admin, the organisation's lists by its org_admin (the builders aim each at its own kind).
  createWarningList: managers(201),
  updateWarningList: managers(200),
  deleteWarningList: managers(204),
  addWarningListEntries: managers(200),
  removeWarningListEntries: managers(200),
  // TAXII 2.1: discovery, the API root, collections and a push's status for any account (the
  // collections say can_read / can_write); objects by the /v1 rules.
  taxiiDiscovery: anyAccount(200),
  taxiiApiRoot: anyAccount(200),
  taxiiListCollections: anyAccount(200),
  taxiiGetCollection: anyAccount(200),
  taxiiGetStatus: anyAccount(200),
  taxiiGetManifest: readerPlus(200),
  taxiiGetObjects: readerPlus(200),
  taxiiGetObject: readerPlus(200),
  taxiiGetVersions: readerPlus(200),
  taxiiAddObjects: contributorPlus(202),
  taxiiDeleteObject: contributorPlus(200),
}

// Where the code answers otherwise than the access contract and the fix is pending, "operationId:caller" →
// reason: kept visible as tap TODOs (they do not fail the run) until decided. Empty: the content
// read routes now check the reader role (they did not when this suite was written).
const DEVIATIONS: Record<string, string> = {}

// Registered routes that are not API operations (documentation of the API itself).
const NOT_OPERATIONS = new Set(['GET /openapi.json', 'GET /docs', 'GET /docs/*', 'GET /docs/json', 'GET /docs/yaml', 'GET /docs/static/*'])

const app = await buildTestApp(t)

// One organisation (an authority, so every distribution reaches it), one account per role.
const org = await createOrg(app, { sector: 'police', fourEyes: true })
const other = await createOrg(app, { sector: 'customs', country: 'DE' })
const acct = {} as Record<Role, TestAccount>
for (const role of CALLERS) if (role !== 'none') acct[role] = await createAccount(app, org.id, [role])
const owner = acct.contributor
const admin = acct.org_admin

async function call(token: string | undefined, method: InjectOptions['method'], url: string, body?: unknown, headers: Record<string, string> = {}) {
  return app.inject({
    method,
    url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    ...(body !== undefined ? { payload: body as InjectOptions['payload'] } : {}),
  })
}

async function created(token: string, url: string, body: unknown): Promise<string> {
  const res = await call(token, 'POST', url, body)
  if (res.statusCode !== 201) throw new Error(`fixture ${url}: ${res.statusCode} ${res.body}`)
  return (res.json() as { id: string }).id
}
const newIndicator = () => created(owner.token, '/v1/indicators', { type: 'vendor_alias', value: unique('Vendor'), distribution: 'community', tlp: 'green' })
const newNote = () =>
  created(owner.token, '/v1/notes', { title: unique('Note'), summary: 's', body: 'b', topics: ['training'], distribution: 'community', tlp: 'green' })
const newGroup = () => created(admin.token, '/v1/sharing-groups', { name: unique('group'), organisationIds: [other.id] })

const newWarningList = (scope: 'platform' | 'organisation') =>
  created(scope === 'platform' ? acct.platform_admin.token : admin.token, '/v1/warning-lists', {
    name: unique('fn list'),
    scope,
    reason: 'shared infrastructure',
    entries: [{ type: 'domain', value: 'listed.example' }],
  })
/** The kind of list a caller's role writes: platform_admin the platform's, everyone else the organisation's. */
const listScope = (c: Caller) => (c === 'platform_admin' ? 'platform' : 'organisation')

const indicatorId = await newIndicator()
// A retraction notice to the organisation: it read another organisation's indicator, since revoked.
const otherWriter = await createAccount(app, other.id, ['contributor'])
const retractedId = await created(otherWriter.token, '/v1/indicators', {
  type: 'vendor_alias',
  value: unique('Vendor'),
  distribution: 'community',
  tlp: 'green',
})
await call(acct.reader.token, 'GET', `/v1/indicators/${retractedId}`)
await call(otherWriter.token, 'DELETE', `/v1/indicators/${retractedId}`)
const noticeId = ((await call(acct.reader.token, 'GET', '/v1/retractions')).json() as { items: { id: string; itemId: string }[] }).items.find(
  (n) => n.itemId === retractedId,
)?.id
if (!noticeId) throw new Error('fixture: no retraction notice')
const warningLists = { platform: await newWarningList('platform'), organisation: await newWarningList('organisation') }
const noteId = await newNote()
const groupId = await newGroup()

// Handling codes: consents on the organisation's own H1 items; share requests asked about another
// organisation's item (a recipient asks) and decided on requests about the organisation's own.
const third = await createOrg(app, { sector: 'postal', country: 'FR' })
const otherContributor = await createAccount(app, other.id, ['contributor'])
const h1Indicator = () =>
  created(owner.token, '/v1/indicators', { type: 'vendor_alias', value: unique('H1'), distribution: 'community', tlp: 'green', handlingCode: 'H1' })
const h1Note = () =>
  created(owner.token, '/v1/notes', {
    title: unique('H1'),
    summary: 's',
    body: 'b',
    topics: ['training'],
    distribution: 'community',
    tlp: 'green',
    handlingCode: 'H1',
  })
/** A consent recorded by the organisation's org_admin on one of its H1 items. */
const consentOn = (kind: 'indicators' | 'notes', item: string) =>
  created(admin.token, `/v1/${kind}/${item}/consents`, { organisationId: other.id, purpose: 'case 1' })
const h1IndicatorId = await h1Indicator()
const h1NoteId = await h1Note()
const othersIndicator = () =>
  created(otherContributor.token, '/v1/indicators', { type: 'vendor_alias', value: unique('H2'), distribution: 'community', tlp: 'green', handlingCode: 'H2' })
const othersNote = () =>
  created(otherContributor.token, '/v1/notes', {
    title: unique('H2'),
    summary: 's',
    body: 'b',
    topics: ['training'],
    distribution: 'community',
    tlp: 'green',
    handlingCode: 'H2',
  })
// Four-eyes: drafts written by an author account of the organisation, reviewed by the caller.
const author = await createAccount(app, org.id, ['contributor'])
const draftIndicator = () => created(author.token, '/v1/indicators', { type: 'vendor_alias', value: unique('draft'), tlp: 'red', distribution: 'organisation' })
const draftNote = () => created(author.token, '/v1/notes', { title: unique('draft'), summary: 's', body: 'b', topics: ['training'], tlp: 'red' })
/** A pending request by the other organisation about one of this organisation's items. */
const incomingRequest = async () =>
  created(otherContributor.token, `/v1/indicators/${await newIndicator()}/share-requests`, { organisationId: third.id, reason: 'joint case' })

// TAXII: the organisation's own collection (its id), objects pushed there by the contributor.
const TAXII = `/taxii2/dcx/collections/${org.id}`
const stixIndicator = () => ({
  type: 'indicator',
  spec_version: '2.1',
  id: `indicator--${randomUUID()}`,
  created: '2026-01-01T00:00:00.000Z',
  modified: '2026-01-01T00:00:00.000Z',
  pattern: `[domain-name:value = '${unique('taxii')}.example']`,
  pattern_type: 'stix',
  valid_from: '2026-01-01T00:00:00Z',
})
const TAXII_HEADERS = { accept: 'application/taxii+json;version=2.1', 'content-type': 'application/taxii+json;version=2.1' }
async function pushed(): Promise<{ objectId: string; statusId: string }> {
  const o = stixIndicator()
  const res = await call(owner.token, 'POST', `${TAXII}/objects/`, { objects: [o] }, TAXII_HEADERS)
  const status = res.json() as { id: string; success_count: number }
  if (res.statusCode !== 202 || status.success_count !== 1) throw new Error(`fixture TAXII push: ${res.statusCode} ${res.body}`)
  return { objectId: o.id, statusId: status.id }
}
const taxiiFixture = await pushed()

t.test('the table covers the contract, and the contract covers the route table', async (t) => {
  const ids = operations.map((o) => o.operationId)
  t.ok(ids.length >= 40, `openapi.yaml has ${ids.length} operations`)
  const missing = ids.filter((id) => !EXPECT[id])
  t.same(missing, [], 'every operationId has a row in EXPECT (add one for a new route)')
  const stale = Object.keys(EXPECT).filter((id) => !ids.includes(id))
  t.same(stale, [], 'every row in EXPECT is an operation in openapi.yaml')
  const documented = new Set(operations.map((o) => `${o.method.toUpperCase()} ${o.route}`))
  const undocumented = routeTable(app).filter((r) => !documented.has(r) && !NOT_OPERATIONS.has(r))
  t.same(undocumented, [], 'every registered route is an operation of openapi.yaml')
})

interface Req {
  method: InjectOptions['method']
  url: string
  body?: unknown
  headers?: Record<string, string>
}

/** A valid request for each operation, aimed at the caller's own organisation; fresh resources where the call consumes one. */
const REQUESTS: Record<string, (caller: Caller) => Promise<Req> | Req> = {
  healthz: () => ({ method: 'GET', url: '/healthz' }),
  readyz: () => ({ method: 'GET', url: '/readyz' }),
  metrics: () => ({ method: 'GET', url: '/metrics' }),
  getJwks: () => ({ method: 'GET', url: '/.well-known/jwks.json' }),
  issueToken: (c) => ({
    method: 'POST',
    url: '/v1/auth/token',
    body:
      c === 'none'
        ? { grant_type: 'client_credentials' }
        : { grant_type: 'client_credentials', client_id: acct[c].clientId, client_secret: acct[c].clientSecret },
  }),
  // Rotates the shared database's signing key: harmless, the retired key keeps verifying.
  rotateSigningKey: () => ({ method: 'POST', url: '/v1/auth/signing-key', body: {} }),
  getMe: () => ({ method: 'GET', url: '/v1/me' }),
  listOrganisations: () => ({ method: 'GET', url: '/v1/organisations?limit=5' }),
  createOrganisation: () => ({
    method: 'POST',
    url: '/v1/organisations',
    body: { name: unique('Fn org'), sector: 'postal', country: 'FR', contact: { email: 'desk@example.org' } },
  }),
  getOrganisation: () => ({ method: 'GET', url: `/v1/organisations/${org.id}` }),
  // Another organisation: a platform admin may not suspend its own, and contact edits are harmless.
  updateOrganisation: () => ({ method: 'PATCH', url: `/v1/organisations/${other.id}`, body: { contact: { hours: `24/7 ${randomUUID().slice(0, 4)}` } } }),
  getOrganisationSettings: () => ({ method: 'GET', url: `/v1/organisations/${org.id}/settings` }),
  updateOrganisationSettings: () => ({ method: 'PATCH', url: `/v1/organisations/${org.id}/settings`, body: { fourEyes: true } }),
  listAccounts: () => ({ method: 'GET', url: `/v1/organisations/${org.id}/accounts?limit=5` }),
  createAccount: () => ({ method: 'POST', url: `/v1/organisations/${org.id}/accounts`, body: { name: unique('fn account'), roles: ['reader'] } }),
  getAccount: () => ({ method: 'GET', url: `/v1/accounts/${acct.reader.id}` }),
  updateAccount: async () => ({ method: 'PATCH', url: `/v1/accounts/${(await createAccount(app, org.id, ['reader'])).id}`, body: { name: unique('renamed') } }),
  rotateAccountSecret: async () => ({ method: 'POST', url: `/v1/accounts/${(await createAccount(app, org.id, ['reader'])).id}/secret` }),
  listSharingGroups: () => ({ method: 'GET', url: '/v1/sharing-groups' }),
  getSharingGroup: () => ({ method: 'GET', url: `/v1/sharing-groups/${groupId}` }),
  createSharingGroup: () => ({ method: 'POST', url: '/v1/sharing-groups', body: { name: unique('fn group'), organisationIds: [] } }),
  updateSharingGroup: () => ({ method: 'PATCH', url: `/v1/sharing-groups/${groupId}`, body: { name: unique('renamed group') } }),
  deleteSharingGroup: async () => ({ method: 'DELETE', url: `/v1/sharing-groups/${await newGroup()}` }),
  listIndicators: () => ({ method: 'GET', url: `/v1/indicators?organisationId=${org.id}&limit=5` }),
  createIndicator: () => ({ method: 'POST', url: '/v1/indicators', body: { type: 'domain', value: `${unique('fn')}.example`, distribution: 'organisation' } }),
  bulkCreateIndicators: () => ({ method: 'POST', url: '/v1/indicators/bulk', body: { items: [{ type: 'domain', value: `${unique('bulk')}.example` }] } }),
  matchIndicators: () => ({ method: 'POST', url: '/v1/indicators/match', body: { values: [{ type: 'domain', value: 'nothing.example' }] } }),
  getIndicator: () => ({ method: 'GET', url: `/v1/indicators/${indicatorId}` }),
  updateIndicator: () => ({ method: 'PATCH', url: `/v1/indicators/${indicatorId}`, body: { confidence: 60 } }),
  revokeIndicator: async () => ({ method: 'DELETE', url: `/v1/indicators/${await newIndicator()}` }),
  listRelatedIndicators: () => ({ method: 'GET', url: `/v1/indicators/${indicatorId}/related` }),
  listSightings: () => ({ method: 'GET', url: `/v1/indicators/${indicatorId}/sightings` }),
  reportSighting: () => ({
    method: 'POST',
    url: `/v1/indicators/${indicatorId}/sightings`,
    body: { seenAt: new Date().toISOString(), outcome: 'nothing_found' },
  }),
  listNotes: () => ({ method: 'GET', url: `/v1/notes?organisationId=${org.id}&limit=5` }),
  createNote: () => ({ method: 'POST', url: '/v1/notes', body: { title: unique('fn note'), summary: 's', body: 'b', topics: ['prevention'] } }),
  getNote: () => ({ method: 'GET', url: `/v1/notes/${noteId}` }),
  updateNote: () => ({ method: 'PATCH', url: `/v1/notes/${noteId}`, body: { summary: unique('summary') } }),
  revokeNote: async () => ({ method: 'DELETE', url: `/v1/notes/${await newNote()}` }),
  listNoteRevisions: () => ({ method: 'GET', url: `/v1/notes/${noteId}/revisions` }),
  createIndicatorConsent: async () => ({
    method: 'POST',
    url: `/v1/indicators/${await h1Indicator()}/consents`,
    body: { organisationId: other.id, purpose: 'case 1' },
  }),
  listIndicatorConsents: () => ({ method: 'GET', url: `/v1/indicators/${h1IndicatorId}/consents` }),
  createNoteConsent: async () => ({ method: 'POST', url: `/v1/notes/${await h1Note()}/consents`, body: { organisationId: other.id, purpose: 'case 1' } }),
  listNoteConsents: () => ({ method: 'GET', url: `/v1/notes/${h1NoteId}/consents` }),
  withdrawIndicatorConsent: async () => {
    const item = await h1Indicator()
    return { method: 'POST', url: `/v1/indicators/${item}/consents/${await consentOn('indicators', item)}/withdraw`, body: { reason: 'proceedings closed' } }
  },
  withdrawNoteConsent: async () => {
    const item = await h1Note()
    return { method: 'POST', url: `/v1/notes/${item}/consents/${await consentOn('notes', item)}/withdraw`, body: { reason: 'proceedings closed' } }
  },
  createIndicatorShareRequest: async () => ({
    method: 'POST',
    url: `/v1/indicators/${await othersIndicator()}/share-requests`,
    body: { organisationId: third.id, reason: 'joint case' },
  }),
  createNoteShareRequest: async () => ({
    method: 'POST',
    url: `/v1/notes/${await othersNote()}/share-requests`,
    body: { organisationId: third.id, reason: 'joint case' },
  }),
  listShareRequests: () => ({ method: 'GET', url: '/v1/share-requests?limit=5' }),
  approveShareRequest: async () => ({ method: 'POST', url: `/v1/share-requests/${await incomingRequest()}/approve`, body: {} }),
  refuseShareRequest: async () => ({ method: 'POST', url: `/v1/share-requests/${await incomingRequest()}/refuse`, body: { reason: 'not for them' } }),
  approveIndicator: async () => ({ method: 'POST', url: `/v1/indicators/${await draftIndicator()}/approve`, body: {} }),
  sendBackIndicator: async () => ({ method: 'POST', url: `/v1/indicators/${await draftIndicator()}/send-back`, body: { reason: 'check the source' } }),
  approveNote: async () => ({ method: 'POST', url: `/v1/notes/${await draftNote()}/approve`, body: {} }),
  sendBackNote: async () => ({ method: 'POST', url: `/v1/notes/${await draftNote()}/send-back`, body: { reason: 'check the source' } }),
  listReviewQueue: () => ({ method: 'GET', url: '/v1/review-queue?limit=5' }),
  listRetractions: () => ({ method: 'GET', url: '/v1/retractions?limit=5' }),
  acknowledgeRetraction: () => ({ method: 'POST', url: `/v1/retractions/${noticeId}/ack` }),
  listIndicatorRetractions: () => ({ method: 'GET', url: `/v1/indicators/${indicatorId}/retractions` }),
  listNoteRetractions: () => ({ method: 'GET', url: `/v1/notes/${noteId}/retractions` }),
  reviewIndicator: async () => ({
    method: 'POST',
    url: `/v1/indicators/${await newIndicator()}/review`,
    body: { decision: 'erase', reason: 'function-level check' },
  }),
  reviewNote: () => ({
    method: 'POST',
    url: `/v1/notes/${noteId}/review`,
    body: { decision: 'extend', reviewBy: new Date(Date.now() + 90 * 86_400_000).toISOString(), reason: 'function-level check' },
  }),
  listChanges: () => ({ method: 'GET', url: '/v1/changes?limit=5' }),
  getStats: () => ({ method: 'GET', url: `/v1/stats?from=${new Date(Date.now() - 3_600_000).toISOString()}` }),
  listAuditEvents: () => ({ method: 'GET', url: `/v1/audit/events?organisationId=${org.id}&limit=5` }),
  exportAuditEvents: () => ({ method: 'GET', url: `/v1/audit/export?organisationId=${org.id}&from=${new Date(Date.now() - 60_000).toISOString()}` }),
  verifyAuditLog: () => ({ method: 'GET', url: '/v1/audit/verify?from=1&to=50' }),
  listAuditCheckpoints: () => ({ method: 'GET', url: '/v1/audit/checkpoints?limit=2' }),
  exportStix: () => ({ method: 'GET', url: `/v1/export/stix?organisationId=${org.id}` }),
  importStix: () => ({ method: 'POST', url: '/v1/import/stix', body: { type: 'bundle', id: `bundle--${randomUUID()}`, objects: [] } }),
  getScreeningKeys: () => ({ method: 'GET', url: '/v1/screening/keys' }),
  getScreeningDigest: () => ({ method: 'GET', url: '/v1/screening/digest?type=email' }),
  evaluateScreening: async () => ({
    method: 'POST',
    url: '/v1/screening/evaluate',
    body: {
      epoch: (await app.screening.keys.current()).epoch,
      type: 'email',
      elements: [toBase64url(blind(oprfInput('email', 'nobody@example.org')).blinded)],
    },
  }),
  resolveScreening: async () => ({
    method: 'POST',
    url: '/v1/screening/resolve',
    body: { epoch: (await app.screening.keys.current()).epoch, type: 'email', tags: [toBase64url(randomBytes(8))] },
  }),
  listScreeningDisclosures: () => ({ method: 'GET', url: '/v1/screening/disclosures?limit=5' }),
  getIndicatorYield: () => ({ method: 'GET', url: `/v1/indicators/${indicatorId}/yield` }),
  listWarningLists: () => ({ method: 'GET', url: '/v1/warning-lists' }),
  getWarningList: () => ({ method: 'GET', url: `/v1/warning-lists/${warningLists.organisation}` }),
  createWarningList: (c) => ({ method: 'POST', url: '/v1/warning-lists', body: { name: unique('fn list'), scope: listScope(c), reason: 'r' } }),
  updateWarningList: (c) => ({ method: 'PATCH', url: `/v1/warning-lists/${warningLists[listScope(c)]}`, body: { reason: unique('reason') } }),
  deleteWarningList: async (c) => ({ method: 'DELETE', url: `/v1/warning-lists/${await newWarningList(listScope(c))}` }),
  addWarningListEntries: (c) => ({
    method: 'POST',
    url: `/v1/warning-lists/${warningLists[listScope(c)]}/entries`,
    body: { entries: [{ type: 'domain', value: `${unique('fn')}.example` }] },
  }),
  removeWarningListEntries: (c) => ({
    method: 'DELETE',
    url: `/v1/warning-lists/${warningLists[listScope(c)]}/entries`,
    body: { entries: [{ type: 'domain', value: 'listed.example' }] },
  }),
  taxiiDiscovery: () => ({ method: 'GET', url: '/taxii2/' }),
  taxiiApiRoot: () => ({ method: 'GET', url: '/taxii2/dcx/' }),
  taxiiListCollections: () => ({ method: 'GET', url: '/taxii2/dcx/collections/' }),
  taxiiGetCollection: () => ({ method: 'GET', url: `${TAXII}/` }),
  taxiiGetStatus: () => ({ method: 'GET', url: `/taxii2/dcx/status/${taxiiFixture.statusId}/` }),
  taxiiGetManifest: () => ({ method: 'GET', url: `${TAXII}/manifest/?limit=5` }),
  taxiiGetObjects: () => ({ method: 'GET', url: `${TAXII}/objects/?limit=5` }),
  taxiiGetObject: () => ({ method: 'GET', url: `${TAXII}/objects/${taxiiFixture.objectId}/` }),
  taxiiGetVersions: () => ({ method: 'GET', url: `${TAXII}/objects/${taxiiFixture.objectId}/versions/` }),
  taxiiAddObjects: () => ({ method: 'POST', url: `${TAXII}/objects/`, body: { objects: [stixIndicator()] }, headers: TAXII_HEADERS }),
  taxiiDeleteObject: async () => ({ method: 'DELETE', url: `${TAXII}/objects/${(await pushed()).objectId}/` }),
}

t.test('every operation has a request builder', async (t) => {
  t.same(
    operations.map((o) => o.operationId).filter((id) => !REQUESTS[id]),
    [],
  )
})

for (const op of operations) {
  const row = EXPECT[op.operationId]
  const build = REQUESTS[op.operationId]
  if (!row || !build) continue
  t.test(`${op.operationId} (${op.method.toUpperCase()} ${op.path})`, async (t) => {
    for (const [i, caller] of CALLERS.entries()) {
      const want = row[i] as number
      const req = await build(caller)
      const token = caller === 'none' || op.operationId === 'issueToken' ? undefined : acct[caller].token
      const res = await call(token, req.method, req.url, req.body, req.headers)
      const deviation = DEVIATIONS[`${op.operationId}:${caller}`]
      t.equal(
        res.statusCode,
        want,
        `${caller}: ${want}${res.statusCode !== want ? ` (got ${res.statusCode}: ${res.body.slice(0, 160)})` : ''}`,
        deviation ? { todo: deviation } : {},
      )
      holds(t, res, op as Operation, caller)
      if (want === 401) t.match(res.headers['www-authenticate'], /(^|, )Bearer/, `${caller}: www-authenticate`)
      // A problem's detail, or a TAXII error message's description.
      const said = (b: { detail?: string; description?: string }) => b.detail ?? b.description
      if (want === 403 && !deviation) t.match(said(res.json() as { detail: string }), /role/i, `${caller}: the 403 names the role needed`)
    }
  })
}

t.test('a token of each role works on GET /v1/me and says which roles it holds', async (t) => {
  for (const role of CALLERS) {
    if (role === 'none') continue
    const res = await call(acct[role].token, 'GET', '/v1/me')
    t.equal(res.statusCode, 200)
    t.ok((res.json() as { effectiveRoles: string[] }).effectiveRoles.includes(role), `${role} holds ${role}`)
  }
})

// Keep the app referenced for type narrowing in helpers above.
void (app as FastifyInstance)
