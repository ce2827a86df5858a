// The TAXII 2.1 server, part one: discovery, API root, media-type negotiation, the error shape,
// authentication (Bearer and HTTP Basic), and collections per audience with can_read/can_write.
import t, { type Test } from 'tap'
import { sql } from 'drizzle-orm'
import { rows } from '../../src/db/client.js'
import { AUTHORITIES_COLLECTION, COMMUNITY_COLLECTION } from '../../src/modules/taxii/taxii.collections.js'
import { as, buildTestApp, json, orgWith } from '../helper.js'
import { basicAuth, eventually, TAXII, taxii } from './support.js'

const ROOT = '/taxii2/dcx'
interface Coll {
  id: string
  title: string
  can_read: boolean
  can_write: boolean
  media_types: string[]
}
interface Env {
  more: boolean
  next?: string
  objects?: { id: string }[]
}

function isTaxiiError(t: Test, res: { statusCode: number; headers: Record<string, unknown>; json: () => unknown }, status: number) {
  t.equal(res.statusCode, status)
  t.equal(res.headers['content-type'], TAXII, 'TAXII media type')
  t.match(res.json(), { title: String, description: String, error_id: String, http_status: String(status) }, 'TAXII error message')
}

// One app per file (as test/helper.ts intends); every test makes its own organisations.
const app = await buildTestApp(t)

t.test('discovery and API root, trailing slashes as the spec writes them', async (t) => {
  const a = await orgWith(app, ['reader'])
  const X = taxii(app, a.reader.token)
  const d = await X.get('/taxii2/')
  t.equal(d.statusCode, 200)
  t.equal(d.headers['content-type'], TAXII, 'exactly application/taxii+json;version=2.1')
  const disc = json<{ title: string; default: string; api_roots: string[] }>(d)
  t.match(disc, { title: String, default: /^http:\/\/[^/]+\/taxii2\/dcx\/$/ })
  t.same(disc.api_roots, [disc.default], 'one API root, as an absolute URL')
  const root = await X.get(new URL(disc.default).pathname)
  t.match(json(root), { title: String, versions: [TAXII], max_content_length: 8 * 1024 * 1024 })
  isTaxiiError(t, await X.get(ROOT), 404)
  isTaxiiError(t, await X.get(`${ROOT}/collections`), 404)
  isTaxiiError(t, await X.get(`${ROOT}/nothing-here/`), 404)
  isTaxiiError(t, await X.get('/taxii2/?unknown=1'), 400)
  // Refused by the router before any TAXII route runs: still TAXII error messages.
  isTaxiiError(t, await X.get(`${ROOT}/collections/%E0%A4%A/`), 400)
  isTaxiiError(t, await X.get(`${ROOT}/collections/${'x'.repeat(250)}/objects/`), 404)
})

t.test('media types: a lenient Accept gets TAXII 2.1 (else 406); a body as TAXII, STIX or JSON (else 415)', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const auth = { authorization: `Bearer ${a.contributor.token}` }
  const get = (accept?: string) => app.inject({ method: 'GET', url: `${ROOT}/collections/`, headers: { ...auth, ...(accept !== undefined ? { accept } : {}) } })
  // What stock clients and scripts send: each answered in the TAXII media type.
  for (const accept of [
    undefined,
    '*/*',
    'application/*',
    'application/json',
    'application/taxii+json',
    'application/taxii+json;version=2.1',
    'application/taxii+json; version="2.1"',
    'application/stix+json;version=2.1',
    'application/stix+json',
    'text/html, */*;q=0.1',
    'application/json, application/taxii+json; version=2.1',
  ]) {
    const res = await get(accept)
    t.equal(res.statusCode, 200, `Accept: ${accept ?? '(none)'}`)
    t.equal(res.headers['content-type'], TAXII, `answered as ${TAXII}`)
  }
  isTaxiiError(t, await get('text/html'), 406)
  isTaxiiError(t, await get('application/taxii+json;version=2.0'), 406)
  isTaxiiError(t, await get('application/stix+json;version=2.0'), 406)
  isTaxiiError(t, await get('application/taxii+json;version=2.1;q=0'), 406)
  const post = (contentType: string) =>
    app.inject({
      method: 'POST',
      url: `${ROOT}/collections/${a.org.id}/objects/`,
      headers: { ...auth, accept: TAXII, 'content-type': contentType },
      payload: JSON.stringify({ objects: [] }),
    })
  isTaxiiError(t, await post('text/plain'), 415)
  isTaxiiError(t, await post('application/taxii+json;version=2.0'), 415)
  t.equal((await post('application/json')).statusCode, 202)
  t.equal((await post('application/stix+json;version=2.1')).statusCode, 202)
  t.equal((await post(TAXII)).statusCode, 202)
  const notJson = await app.inject({
    method: 'POST',
    url: `${ROOT}/collections/${a.org.id}/objects/`,
    headers: { ...auth, accept: TAXII, 'content-type': TAXII },
    payload: '{"objects":',
  })
  isTaxiiError(t, notJson, 400)
})

t.test('authentication: Bearer, and HTTP Basic with client id and secret', async (t) => {
  const a = await orgWith(app, ['contributor', 'org_admin'])
  const url = `${ROOT}/collections/`
  const none = await app.inject({ method: 'GET', url, headers: { accept: TAXII } })
  isTaxiiError(t, none, 401)
  t.match(none.headers['www-authenticate'], /Basic realm=/, 'the challenge offers Basic')
  t.equal((await taxii(app, a.contributor.token).get(url)).statusCode, 200, 'bearer token')
  const basic = basicAuth(a.contributor.clientId, a.contributor.clientSecret)
  t.equal((await taxii(app, basic).get(url)).statusCode, 200, 'HTTP Basic')
  t.equal((await taxii(app, basic).get(url)).statusCode, 200, 'and again (verified once, then remembered)')
  isTaxiiError(t, await taxii(app, basicAuth(a.contributor.clientId, 'wrong')).get(url), 401)
  isTaxiiError(t, await taxii(app, basicAuth('dcx_nobody', 'wrong')).get(url), 401)
  isTaxiiError(t, await taxii(app, 'Basic !!!').get(url), 401)
  isTaxiiError(t, await taxii(app, 'Bearer not-a-token').get(url), 401)

  const refused = await taxii(app, basicAuth(a.contributor.clientId, 'wrong')).get(url)
  const [ev] = await rows<{ outcome: string; resource_type: string; client_id: string }>(
    app.db,
    sql`select outcome, resource_type, client_id from audit_events where request_id = ${refused.headers['x-request-id'] as string}`,
  )
  t.match(ev, { outcome: 'denied', resource_type: 'taxii', client_id: a.contributor.clientId }, 'a refused sign-in is audited with the client id tried')

  // Rotating the secret cuts the remembered Basic credentials off at once.
  t.equal((await as(app, a.org_admin.token).post(`/v1/accounts/${a.contributor.id}/secret`)).statusCode, 200)
  isTaxiiError(t, await taxii(app, basic).get(url), 401)

  // A disabled account stops working within the account-state cache (2 s), even remembered.
  const b = await orgWith(app, ['reader'])
  const bBasic = basicAuth(b.reader.clientId, b.reader.clientSecret)
  t.equal((await taxii(app, bBasic).get(url)).statusCode, 200)
  await rows(app.db, sql`update accounts set disabled = true where id = ${b.reader.id}`)
  app.forgetActor(b.reader.id)
  isTaxiiError(t, await taxii(app, bBasic).get(url), 401)
})

t.test('failed Basic sign-ins are throttled with the token endpoint', async (t) => {
  const app = await buildTestApp(t, { DCX_TOKEN_FAILURES_PER_MINUTE: '3' })
  const a = await orgWith(app, ['reader'])
  const X = taxii(app, basicAuth(a.reader.clientId, 'wrong'))
  for (let i = 0; i < 3; i++) isTaxiiError(t, await X.get(`${ROOT}/collections/`), 401)
  const limited = await X.get(`${ROOT}/collections/`)
  isTaxiiError(t, limited, 429)
  t.match(limited.headers['retry-after'], /^\d+$/)
})

t.test('collections follow the audiences; can_read / can_write per role; visibility per collection', async (t) => {
  const a = await orgWith(app, ['contributor', 'reader', 'org_admin'], { sector: 'customs' })
  const c = await orgWith(app, ['reader'], { sector: 'police' })
  const p = await orgWith(app, ['reader', 'contributor'], { sector: 'postal' })
  const group = json<{ id: string }>(await as(app, a.org_admin.token).post('/v1/sharing-groups', { name: 'JIT parcels', organisationIds: [c.org.id] }))

  const list = async (token: string) => json<{ collections: Coll[] }>(await taxii(app, token).get(`${ROOT}/collections/`)).collections
  const mine = await list(a.contributor.token)
  t.same(
    mine.map((x) => x.id),
    [a.org.id, AUTHORITIES_COLLECTION, COMMUNITY_COLLECTION, group.id],
    'own, authorities, community, the group',
  )
  t.ok(mine.every((x) => x.can_read && x.can_write && x.media_types.includes('application/stix+json;version=2.1')))
  t.ok(
    (await list(a.reader.token)).every((x) => x.can_read && !x.can_write),
    'a reader may not write',
  )
  const au = await orgWith(app, ['auditor'])
  t.ok(
    (await list(au.auditor.token)).every((x) => !x.can_read && !x.can_write),
    'an auditor reads the audit log, not the exchange',
  )
  isTaxiiError(t, await taxii(app, au.auditor.token).get(`${ROOT}/collections/${COMMUNITY_COLLECTION}/objects/`), 403)
  isTaxiiError(t, await taxii(app, au.auditor.token).get(`${ROOT}/collections/${COMMUNITY_COLLECTION}/manifest/`), 403)
  t.same(
    (await list(p.reader.token)).map((x) => x.id),
    [p.org.id, COMMUNITY_COLLECTION],
    'a postal operator: no authorities, no foreign group',
  )
  t.same(
    (await list(c.reader.token)).map((x) => x.id),
    [c.org.id, AUTHORITIES_COLLECTION, COMMUNITY_COLLECTION, group.id],
  )
  t.match(json(await taxii(app, a.reader.token).get(`${ROOT}/collections/${group.id}/`)), { id: group.id, title: 'JIT parcels', can_write: false })

  const P = taxii(app, p.reader.token)
  for (const id of [AUTHORITIES_COLLECTION, group.id, a.org.id, 'not-a-collection']) {
    isTaxiiError(t, await P.get(`${ROOT}/collections/${id}/`), 404)
    isTaxiiError(t, await P.get(`${ROOT}/collections/${id}/objects/`), 404)
  }
  isTaxiiError(t, await taxii(app, p.contributor.token).post(`${ROOT}/collections/${AUTHORITIES_COLLECTION}/objects/`, { objects: [] }), 404)
  isTaxiiError(t, await taxii(app, a.reader.token).post(`${ROOT}/collections/${COMMUNITY_COLLECTION}/objects/`, { objects: [] }), 403)

  const A = as(app, a.contributor.token)
  const mk = async (value: string, body: object) => `indicator--${json<{ id: string }>(await A.post('/v1/indicators', { type: 'domain', value, ...body })).id}`
  const orgOnly = await mk('taxii-org.example', { distribution: 'organisation' })
  const auth = await mk('taxii-auth.example', { distribution: 'authorities' })
  const comm = await mk('taxii-comm.example', { distribution: 'community', tlp: 'green' })
  const grp = await mk('taxii-group.example', { distribution: 'sharing_group', sharingGroupId: group.id, tlp: 'red' })
  const all = [orgOnly, auth, comm, grp].join(',')
  const seen = async (token: string, collection: string, want: number) => {
    const res = await eventually(
      () => taxii(app, token).get(`${ROOT}/collections/${collection}/objects/?match[id]=${all}`),
      (r) => (json<Env>(r).objects ?? []).length >= want,
      40,
    )
    return (json<Env>(res).objects ?? []).map((o) => o.id)
  }
  t.same(await seen(a.contributor.token, a.org.id, 1), [orgOnly], "own collection: the organisation's items only")
  t.same(await seen(c.reader.token, AUTHORITIES_COLLECTION, 1), [auth], 'authorities: the authorities item')
  t.same(await seen(c.reader.token, group.id, 1), [grp], 'the group collection: the group item, to a member')
  t.same(await seen(p.reader.token, COMMUNITY_COLLECTION, 1), [comm], 'community: the community item only')
  t.same(await seen(c.reader.token, COMMUNITY_COLLECTION, 1), [comm])
})
