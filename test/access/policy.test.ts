// The access policy as data (src/access/policy.ts) and the audit vocabulary (src/audit/events.ts):
// every governed route has both, the boot fails without them, the published x-dcx-roles matches
// an independent literal table, and the account-rank rule stops an org admin from taking over an
// auditor's or platform admin's account. Refusals are recorded with whoever was behind the
// credential, whatever odd bytes the request carried.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { build } from '../../src/app.js'
import { rows } from '../../src/db/client.js'
import { POLICY, rolesAllowed } from '../../src/access/policy.js'
import { AUDIT_EVENTS, COMMON_DETAILS, eventSpec } from '../../src/audit/events.js'
import { routeOperation } from '../../src/plugins/policy.js'
import { as, buildTestApp, testConfig, testDatabase, createAccount, json, orgWith, routeTable } from '../helper.js'

const app = await buildTestApp(t)

// Independent of src/access/policy.ts: who may call each operation, written out by hand from the
// product's role table. A change to the policy must change this table too.
const R = ['reader', 'contributor', 'org_admin']
const C = ['contributor', 'org_admin']
const MANAGERS = ['org_admin', 'platform_admin']
const AUDIT = ['org_admin', 'auditor', 'platform_admin']
const AUDITORS = ['auditor', 'platform_admin']
const EXPECTED: Record<string, string[] | 'public' | 'account'> = {
  healthz: 'public',
  readyz: 'public',
  metrics: 'public',
  getJwks: 'public',
  issueToken: 'public',
  rotateSigningKey: ['platform_admin'],
  getMe: 'account',
  listOrganisations: 'account',
  getOrganisation: 'account',
  createOrganisation: ['platform_admin'],
  updateOrganisation: ['platform_admin'],
  getOrganisationSettings: MANAGERS,
  updateOrganisationSettings: MANAGERS,
  listAccounts: MANAGERS,
  createAccount: MANAGERS,
  getAccount: MANAGERS,
  updateAccount: MANAGERS,
  rotateAccountSecret: MANAGERS,
  listSharingGroups: R,
  getSharingGroup: R,
  createSharingGroup: ['org_admin'],
  updateSharingGroup: ['org_admin'],
  deleteSharingGroup: ['org_admin'],
  listIndicators: R,
  getIndicator: R,
  matchIndicators: R,
  listRelatedIndicators: R,
  listSightings: R,
  createIndicator: C,
  bulkCreateIndicators: C,
  updateIndicator: C,
  revokeIndicator: C,
  reportSighting: C,
  listNotes: R,
  getNote: R,
  listNoteRevisions: R,
  createNote: C,
  updateNote: C,
  revokeNote: C,
  createIndicatorConsent: ['org_admin'],
  listIndicatorConsents: ['org_admin'],
  createNoteConsent: ['org_admin'],
  listNoteConsents: ['org_admin'],
  withdrawIndicatorConsent: ['org_admin'],
  withdrawNoteConsent: ['org_admin'],
  createIndicatorShareRequest: C,
  createNoteShareRequest: C,
  listShareRequests: R,
  approveShareRequest: C,
  refuseShareRequest: C,
  approveIndicator: C,
  sendBackIndicator: C,
  approveNote: C,
  sendBackNote: C,
  listReviewQueue: R,
  reviewIndicator: C,
  reviewNote: C,
  listRetractions: R,
  acknowledgeRetraction: R,
  listIndicatorRetractions: R,
  listNoteRetractions: R,
  listChanges: R,
  getStats: R,
  exportStix: R,
  importStix: C,
  getScreeningKeys: R,
  getScreeningDigest: R,
  evaluateScreening: R,
  resolveScreening: R,
  listScreeningDisclosures: R,
  getIndicatorYield: R,
  listWarningLists: 'account',
  getWarningList: 'account',
  createWarningList: MANAGERS,
  updateWarningList: MANAGERS,
  deleteWarningList: MANAGERS,
  addWarningListEntries: MANAGERS,
  removeWarningListEntries: MANAGERS,
  listAuditEvents: AUDIT,
  exportAuditEvents: AUDIT,
  verifyAuditLog: AUDITORS,
  listAuditCheckpoints: AUDITORS,
  taxiiDiscovery: 'account',
  taxiiApiRoot: 'account',
  taxiiListCollections: 'account',
  taxiiGetCollection: 'account',
  taxiiGetStatus: 'account',
  taxiiGetManifest: R,
  taxiiGetObjects: R,
  taxiiGetObject: R,
  taxiiGetVersions: R,
  taxiiAddObjects: C,
  taxiiDeleteObject: C,
}

t.test('the policy table is the literal table, and openapi.yaml publishes it as x-dcx-roles', async (t) => {
  t.same(Object.keys(POLICY).sort(), Object.keys(EXPECTED).sort(), 'the same operations')
  for (const [op, rule] of Object.entries(POLICY)) t.same(rolesAllowed(rule), EXPECTED[op], op)
  const doc = json<{ paths: Record<string, Record<string, { operationId: string; 'x-dcx-roles': unknown; 'x-dcx-audit'?: { event: string } }>> }>(
    await app.inject({ method: 'GET', url: '/openapi.json' }),
  )
  let published = 0
  for (const item of Object.values(doc.paths)) {
    for (const op of Object.values(item)) {
      t.same(op['x-dcx-roles'], EXPECTED[op.operationId], `x-dcx-roles of ${op.operationId}`)
      if (op.operationId in AUDIT_EVENTS) t.equal(op['x-dcx-audit']?.event, eventSpec(op.operationId)?.type, `x-dcx-audit of ${op.operationId}`)
      published++
    }
  }
  t.ok(published >= 40, `${published} operations published`)
})

t.test('every /v1 and /taxii2 route has a policy entry and an audit event type', async (t) => {
  const governed = routeTable(app).filter((r) => / \/(v1|taxii2)\//.test(r) || r.endsWith(' /taxii2/'))
  t.ok(governed.length >= 50, `${governed.length} governed routes`)
  for (const r of governed) {
    const op = app.routeOperations.get(r)
    t.ok(op && op in POLICY && eventSpec(op), `${r} → ${op}`)
  }
})

t.test('a route without a policy or an audit entry fails the boot, naming it', async (t) => {
  t.throws(() => routeOperation({ method: 'GET', url: '/v1/secret-door', schema: {} }), /GET \/v1\/secret-door has no operationId/)
  t.throws(
    () => routeOperation({ method: 'POST', url: '/v1/things', schema: { operationId: 'createThing' } }),
    /POST \/v1\/things \(operation createThing\) has no entry in the access policy/,
  )
  t.throws(() => routeOperation({ method: 'GET', url: '/taxii2/x/', schema: { operationId: 'healthz' } }), /has no audit event type/)
  t.equal(routeOperation({ method: 'GET', url: '/healthz', schema: { operationId: 'healthz' } }), 'healthz', 'outside /v1 and /taxii2 an entry is optional')
  // The same through the app: registering such a route makes the boot fail.
  const config = testConfig()
  const fresh = await build(config, await testDatabase(config))
  t.teardown(() => fresh.close())
  await t.rejects(
    (async () => {
      await fresh.register(
        async (v1) => {
          v1.get('/unlisted', { schema: { operationId: 'unlistedThing' } }, async () => ({}))
        },
        { prefix: '/v1' },
      )
      await fresh.ready()
    })(),
    /GET \/v1\/unlisted \(operation unlistedThing\) has no entry in the access policy/,
  )
})

t.test('account rank: nobody acts on an account holding a role they could not grant', async (t) => {
  const A = await orgWith(app, ['org_admin', 'reader'])
  const platform = await orgWith(app, ['platform_admin'])
  // A platform admin placed an auditor and a platform admin in A's organisation.
  const auditor = await createAccount(app, A.org.id, ['auditor'])
  const admin2 = await createAccount(app, A.org.id, ['platform_admin'])
  const mixed = await createAccount(app, A.org.id, ['reader', 'auditor'])
  const oa = as(app, A.org_admin.token)
  for (const target of [auditor, admin2, mixed]) {
    const label = target.roles.join('+')
    const rotate = await oa.post(`/v1/accounts/${target.id}/secret`)
    t.equal(rotate.statusCode, 403, `org_admin cannot rotate the ${label} account's secret`)
    t.notOk(json(rotate).clientSecret, 'no secret in the refusal')
    t.match(json(rotate).detail, /cannot grant/)
    t.equal((await oa.patch(`/v1/accounts/${target.id}`, { disabled: true })).statusCode, 403, `nor disable it (${label})`)
    t.equal((await oa.patch(`/v1/accounts/${target.id}`, { roles: ['reader'] })).statusCode, 403, `nor change its roles (${label})`)
    t.equal((await oa.patch(`/v1/accounts/${target.id}`, { name: 'renamed' })).statusCode, 403, `nor rename it (${label})`)
    t.equal((await oa.get(`/v1/accounts/${target.id}`)).statusCode, 200, `it may still see it (${label}): it is in its organisation`)
  }
  // The old secret still works: nothing was rotated.
  const tok = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    payload: { grant_type: 'client_credentials', client_id: auditor.clientId, client_secret: auditor.clientSecret },
  })
  t.equal(tok.statusCode, 200, "the auditor's secret was not changed")
  const [state] = await rows<{ disabled: boolean }>(app.db, sql`select disabled from accounts where id = ${auditor.id}`)
  t.equal(state?.disabled, false, 'the auditor was not disabled')
  // The org admin still manages the accounts it could have created.
  t.equal((await oa.post(`/v1/accounts/${A.reader.id}/secret`)).statusCode, 200, 'org_admin rotates a reader')
  t.equal((await oa.patch(`/v1/accounts/${A.reader.id}`, { roles: ['contributor'] })).statusCode, 200, 'and changes its roles')
  t.equal((await oa.post(`/v1/organisations/${A.org.id}/accounts`, { name: 'x', roles: ['auditor'] })).statusCode, 403, 'and cannot create an auditor')
  // A platform admin may act on all of them.
  const pa = as(app, platform.platform_admin.token)
  t.equal((await pa.post(`/v1/accounts/${auditor.id}/secret`)).statusCode, 200, 'platform_admin rotates the auditor')
  t.equal((await pa.patch(`/v1/accounts/${admin2.id}`, { disabled: true })).statusCode, 200, 'and disables the other platform admin')
})

/** The events of one response. */
async function eventsOf(res: { headers: Record<string, unknown> }) {
  return rows<{
    action: string
    account_id: string | null
    organisation_id: string | null
    client_id: string | null
    resource_id: string | null
    outcome: string
    status: number
  }>(
    app.db,
    sql`select action, account_id, organisation_id, client_id, resource_id, outcome, status from audit_events where request_id = ${String(res.headers['x-request-id'])}`,
  )
}

t.test('a refusal is recorded with whoever was behind the credential', async (t) => {
  const A = await orgWith(app, ['reader', 'org_admin'])
  const disabled = await createAccount(app, A.org.id, ['reader'])
  t.equal((await as(app, A.org_admin.token).patch(`/v1/accounts/${disabled.id}`, { disabled: true })).statusCode, 200)
  app.forgetActor()
  const read = await as(app, disabled.token).get('/v1/indicators')
  t.equal(read.statusCode, 401)
  t.match(
    await eventsOf(read),
    [{ action: 'indicator.list', outcome: 'denied', status: 401, account_id: disabled.id, organisation_id: A.org.id, client_id: disabled.clientId }],
    'bearer of a disabled account',
  )
  const token = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    payload: { grant_type: 'client_credentials', client_id: disabled.clientId, client_secret: disabled.clientSecret },
  })
  t.equal(token.statusCode, 401)
  t.match(
    await eventsOf(token),
    [{ action: 'auth.token.issue', status: 401, account_id: disabled.id, organisation_id: A.org.id, client_id: disabled.clientId }],
    'token request of a disabled account',
  )
  const basic = await app.inject({
    method: 'GET',
    url: '/taxii2/',
    headers: {
      accept: 'application/taxii+json;version=2.1',
      authorization: `Basic ${Buffer.from(`${disabled.clientId}:${disabled.clientSecret}`).toString('base64')}`,
    },
  })
  t.equal(basic.statusCode, 401)
  t.match(
    await eventsOf(basic),
    [{ action: 'taxii.discovery.read', status: 401, account_id: disabled.id, organisation_id: A.org.id }],
    'TAXII Basic of a disabled account',
  )
})

t.test('no refusal is lost to NUL or other odd input', async (t) => {
  const A = await orgWith(app, ['reader'])
  const nulId = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    payload: { grant_type: 'client_credentials', client_id: 'dcx_\u0000evil', client_secret: 'x' },
  })
  t.ok(nulId.statusCode === 400 || nulId.statusCode === 401, `refused (${nulId.statusCode})`)
  t.match(await eventsOf(nulId), [{ action: 'auth.token.issue', outcome: 'denied', client_id: 'dcx_\ufffdevil' }], 'client_id with NUL')
  const basic = await app.inject({
    method: 'GET',
    url: '/taxii2/',
    headers: { accept: 'application/taxii+json;version=2.1', authorization: `Basic ${Buffer.from('id\u0000x:secret').toString('base64')}` },
  })
  t.ok(basic.statusCode === 400 || basic.statusCode === 401, `refused (${basic.statusCode})`)
  t.match(await eventsOf(basic), [{ action: 'taxii.discovery.read', outcome: 'denied', client_id: 'id\ufffdx' }], 'TAXII Basic id with NUL')
  const path = await as(app, A.reader.token).get('/v1/indicators/00000000-0000-4000-8000-000000000000%00')
  t.ok(path.statusCode >= 400 && path.statusCode < 500, `refused with ${path.statusCode}`)
  t.equal((await eventsOf(path)).length, 1, 'an /v1/indicators/<id>%00 request leaves its event')
  const unknown = await as(app, A.reader.token).get('/v1/no-such-thing%00')
  t.match(await eventsOf(unknown), [{ action: 'route.unknown', status: 404 }], 'an unknown path leaves a route.unknown event')
})

t.test('events record only the detail fields their type declares', async (t) => {
  const since = await rows<{ max: number }>(app.db, sql`select coalesce(max(id), 0)::int as max from audit_events`)
  const A = await orgWith(app, ['contributor', 'org_admin'])
  const c = as(app, A.contributor.token)
  const ind = json(await c.post('/v1/indicators', { type: 'domain', value: 'declared-details.example', distribution: 'organisation' }))
  await c.get(`/v1/indicators?limit=3&type=domain`)
  await c.patch(`/v1/indicators/${ind.id}`, { confidence: 70 })
  await c.post('/v1/indicators/match', { values: [{ type: 'domain', value: 'declared-details.example' }] })
  await c.post(`/v1/indicators/${ind.id}/sightings`, { seenAt: new Date().toISOString(), outcome: 'seen' })
  await c.post('/v1/notes', { title: 'n', summary: 's', body: 'b', topics: ['training'] })
  await as(app, A.org_admin.token).post('/v1/sharing-groups', { name: 'declared', organisationIds: [] })
  const evs = await rows<{ action: string; details: Record<string, unknown> }>(
    app.db,
    sql`select action, details from audit_events where id > ${since[0]?.max ?? 0} and organisation_id = ${A.org.id}`,
  )
  t.ok(evs.length >= 7, `${evs.length} events`)
  const byType = new Map(Object.values(AUDIT_EVENTS).map((e) => [e.type, e]))
  for (const e of evs) {
    const spec = byType.get(e.action as never)
    t.ok(spec, `${e.action} is a declared event type`)
    const extra = Object.keys(e.details).filter((k) => !spec?.details.includes(k as never) && !(COMMON_DETAILS as readonly string[]).includes(k))
    t.same(extra, [], `${e.action} records only declared details`)
  }
})
