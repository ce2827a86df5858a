// Role × organisation matrix for every foundation route, generated against the route table:
// a new /v1 route under /v1/me, /v1/organisations, /v1/accounts or /v1/auth fails this file
// until it is added to MATRIX below.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { Role } from '../../src/core/roles.js'
import { as, buildTestApp, createAccount, createOrg, routeTable, unique, type TestAccount } from '../helper.js'
import { problem } from './support.js'

type Actor = Role | 'anon'
type Target = 'own' | 'other' | 'none'
const ACTORS: Actor[] = ['reader', 'contributor', 'org_admin', 'auditor', 'platform_admin', 'anon']

interface Ctx {
  orgA: string
  orgB: string
  acctA: string
  acctB: string
}

interface Row {
  /** The org or account the request names, for own (actor's org) and other. */
  path: (c: Ctx, target: Exclude<Target, 'none'>) => string
  body?: () => unknown
  /** Status per actor; a pair is [own org, other org]; a number applies to both / to none. */
  expect: Partial<Record<Actor, number | [number, number]>>
  targets: 'both' | 'none'
}

const everyone = (status: number) => ({ reader: status, contributor: status, org_admin: status, auditor: status, platform_admin: status })
const only = (allowed: Partial<Record<Role, number | [number, number]>>, otherwise = 403) => ({ ...everyone(otherwise), ...allowed })

// Routes this file covers: the single list the route-table check compares against.
const MATRIX: Record<string, Row> = {
  'GET /v1/me': { targets: 'none', path: () => '/v1/me', expect: everyone(200) },
  'GET /v1/organisations': { targets: 'none', path: () => '/v1/organisations?limit=5', expect: everyone(200) },
  'POST /v1/organisations': {
    targets: 'none',
    path: () => '/v1/organisations',
    body: () => ({ name: unique('Matrix org'), sector: 'customs', country: 'BE', contact: { email: 'desk@example.org' } }),
    expect: only({ platform_admin: 201 }),
  },
  'GET /v1/organisations/:id': { targets: 'both', path: (c, w) => `/v1/organisations/${w === 'own' ? c.orgA : c.orgB}`, expect: everyone(200) },
  'PATCH /v1/organisations/:id': {
    targets: 'both',
    path: (c, w) => `/v1/organisations/${w === 'own' ? c.orgA : c.orgB}`,
    body: () => ({ contact: { hours: `24/7 ${randomUUID().slice(0, 4)}` } }),
    expect: only({ platform_admin: 200 }),
  },
  // Lifecycle settings: the directory shows every organisation, so another's settings are 403, not 404.
  'GET /v1/organisations/:id/settings': {
    targets: 'both',
    path: (c, w) => `/v1/organisations/${w === 'own' ? c.orgA : c.orgB}/settings`,
    expect: only({ org_admin: [200, 403], platform_admin: 200 }),
  },
  'PATCH /v1/organisations/:id/settings': {
    targets: 'both',
    path: (c, w) => `/v1/organisations/${w === 'own' ? c.orgA : c.orgB}/settings`,
    body: () => ({ fourEyes: true }),
    expect: only({ org_admin: [200, 403], platform_admin: 200 }),
  },
  'GET /v1/organisations/:id/accounts': {
    targets: 'both',
    path: (c, w) => `/v1/organisations/${w === 'own' ? c.orgA : c.orgB}/accounts`,
    // The other organisation is visible in the directory, just not manageable: 403, not 404.
    expect: only({ org_admin: [200, 403], platform_admin: 200 }),
  },
  'POST /v1/organisations/:id/accounts': {
    targets: 'both',
    path: (c, w) => `/v1/organisations/${w === 'own' ? c.orgA : c.orgB}/accounts`,
    body: () => ({ name: unique('matrix account'), roles: ['reader'] }),
    expect: only({ org_admin: [201, 403], platform_admin: 201 }),
  },
  'GET /v1/accounts/:id': {
    targets: 'both',
    path: (c, w) => `/v1/accounts/${w === 'own' ? c.acctA : c.acctB}`,
    // Another organisation's account is invisible to an org_admin: 404.
    expect: only({ org_admin: [200, 404], platform_admin: 200 }),
  },
  'PATCH /v1/accounts/:id': {
    targets: 'both',
    path: (c, w) => `/v1/accounts/${w === 'own' ? c.acctA : c.acctB}`,
    body: () => ({ name: unique('renamed') }),
    expect: only({ org_admin: [200, 404], platform_admin: 200 }),
  },
  'POST /v1/accounts/:id/secret': {
    targets: 'both',
    path: (c, w) => `/v1/accounts/${w === 'own' ? c.acctA : c.acctB}/secret`,
    expect: only({ org_admin: [200, 404], platform_admin: 200 }),
  },
}

// Public by design: no bearer token, its own tests (test/modules/auth).
const PUBLIC = new Set(['POST /v1/auth/token'])
// Its role × organisation matrix is in test/access/signing-keys.test.ts (a rotation changes every node's key).
const COVERED_ELSEWHERE = new Set(['POST /v1/auth/signing-key'])
// Only these prefixes are checked: other modules' routes belong to their own matrices.
const CHECKED_PREFIXES = ['/v1/me', '/v1/organisations', '/v1/accounts', '/v1/auth']

t.test('role × organisation matrix', async (t) => {
  const app = await buildTestApp(t)

  t.test('every foundation route is in the matrix, and every matrix route exists', async (t) => {
    const routes = routeTable(app)
    t.ok(routes.includes('POST /v1/accounts/:id/secret'), 'the route table parses nested routes')
    t.ok(routes.includes('GET /v1/organisations/:id/accounts'), 'the route table parses deeply nested routes')
    const foundation = routes.filter((r) => CHECKED_PREFIXES.some((p) => (r.split(' ')[1] ?? '').startsWith(p)))
    const uncovered = foundation.filter((r) => !(r in MATRIX) && !PUBLIC.has(r) && !COVERED_ELSEWHERE.has(r))
    t.same(uncovered, [], 'routes without a row in MATRIX')
    for (const key of Object.keys(MATRIX)) {
      const [method, url] = key.split(' ') as [string, string]
      t.ok(app.hasRoute({ method: method as 'GET', url }), `${key} is registered`)
    }
  })

  const orgA = await createOrg(app)
  const orgB = await createOrg(app, { sector: 'postal', country: 'DE' })
  const actors = {} as Record<Role, TestAccount>
  for (const role of ACTORS) if (role !== 'anon') actors[role] = await createAccount(app, orgA.id, [role])
  const ctx: Ctx = {
    orgA: orgA.id,
    orgB: orgB.id,
    acctA: (await createAccount(app, orgA.id, ['reader'])).id,
    acctB: (await createAccount(app, orgB.id, ['reader'])).id,
  }

  for (const [key, row] of Object.entries(MATRIX)) {
    const method = key.split(' ')[0] as 'GET' | 'POST' | 'PATCH'
    t.test(key, async (t) => {
      for (const actor of ACTORS) {
        const targets: Target[] = row.targets === 'none' ? ['none'] : ['own', 'other']
        for (const target of targets) {
          const want = actor === 'anon' ? 401 : row.expect[actor]
          const expected = Array.isArray(want) ? want[target === 'other' ? 1 : 0] : want
          const url = row.path(ctx, target === 'other' ? 'other' : 'own')
          const client = as(app, actor === 'anon' ? undefined : actors[actor].token)
          const res =
            method === 'GET' ? await client.get(url) : method === 'POST' ? await client.post(url, row.body?.()) : await client.patch(url, row.body?.())
          const label = `${actor} → ${target}: ${key}`
          if (expected !== undefined && expected >= 400) {
            problem(t, res, expected)
            if (expected === 401) t.match(res.headers['www-authenticate'], /^Bearer realm="dcx"/, `${label}: www-authenticate`)
          } else {
            t.equal(res.statusCode, expected, `${label}: ${res.body.slice(0, 200)}`)
          }
        }
      }
    })
  }

  t.test('unknown ids: 404 for managers, 403 for other roles (role checks come first)', async (t) => {
    const ghost = randomUUID()
    const pa = as(app, actors.platform_admin.token)
    const oa = as(app, actors.org_admin.token)
    const rd = as(app, actors.reader.token)
    problem(t, await pa.get(`/v1/organisations/${ghost}`), 404)
    problem(t, await rd.get(`/v1/organisations/${ghost}`), 404)
    problem(t, await pa.patch(`/v1/organisations/${ghost}`, { contact: { hours: 'x' } }), 404)
    problem(t, await pa.get(`/v1/organisations/${ghost}/accounts`), 404)
    problem(t, await pa.get(`/v1/organisations/${ghost}/settings`), 404)
    problem(t, await oa.patch(`/v1/organisations/${ghost}/settings`, { fourEyes: true }), 404)
    problem(t, await oa.get(`/v1/organisations/${ghost}/accounts`), 404)
    problem(t, await oa.post(`/v1/organisations/${ghost}/accounts`, { name: 'x', roles: ['reader'] }), 404)
    problem(t, await pa.get(`/v1/accounts/${ghost}`), 404)
    problem(t, await oa.get(`/v1/accounts/${ghost}`), 404)
    problem(t, await oa.post(`/v1/accounts/${ghost}/secret`), 404)
    problem(t, await rd.get(`/v1/accounts/${ghost}`), 403)
    // An org_admin's 404 for another org's account is the same body as for a missing one.
    const hidden = (await oa.get(`/v1/accounts/${ctx.acctB}`)).json() as { detail: string }
    const missing = (await oa.get(`/v1/accounts/${ghost}`)).json() as { detail: string }
    t.equal(hidden.detail, missing.detail, 'invisible and missing answer alike')
  })
})
