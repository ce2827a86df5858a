// OWASP API3 (broken object-property-level authorisation / mass assignment): every writable body
// that test/exchange/writes.test.ts (indicators) and test/foundation (two account fields) do not
// already cover — notes, sharing groups, sightings, organisations, accounts, the token request —
// with each server-owned or privileged property added: refused with a 400 naming it, and nothing
// applied. Prototype-pollution keys are refused for every body. Responses are scanned for
// properties no caller may see (secret hashes, private keys).
import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { as, buildTestApp, createAccount, isProblem, orgWith, unique } from '../helper.js'
import { keysDeep, NEVER_KEYS } from './support.js'

const app = await buildTestApp(t)
const A = await orgWith(app, ['reader', 'contributor', 'org_admin'], { sector: 'customs' })
const B = await orgWith(app, ['contributor', 'org_admin'], { sector: 'police' })
const PA = await orgWith(app, ['platform_admin'], { sector: 'international' })

async function post<T = { id: string }>(token: string, url: string, body: unknown, status = 201): Promise<T> {
  const res = await as(app, token).post(url, body)
  if (res.statusCode !== status) throw new Error(`fixture ${url}: ${res.statusCode} ${res.body}`)
  return res.json() as T
}

const indicator = await post(A.contributor.token, '/v1/indicators', { type: 'vendor_alias', value: unique('Vendor'), distribution: 'community', tlp: 'green' })
const note = await post(A.contributor.token, '/v1/notes', { title: unique('note'), summary: 's', body: 'b', topics: ['training'] })
const group = await post(A.org_admin.token, '/v1/sharing-groups', { name: unique('group'), organisationIds: [] })
const spare = await createAccount(app, A.org.id, ['reader'])

// Values aimed at another organisation, a privileged state, or the server's bookkeeping.
const FORGED: Record<string, unknown> = {
  id: randomUUID(),
  organisationId: B.org.id,
  status: 'revoked',
  version: 99,
  createdAt: '2000-01-01T00:00:00Z',
  updatedAt: '2000-01-01T00:00:00Z',
  roles: ['platform_admin'],
  normalizedValue: 'forged',
  createdBy: B.contributor.id,
  secretHash: 'scrypt$1$1$1$x$y',
  clientId: 'dcx_forged',
  clientSecret: 'forged-secret-forged-secret-forged',
  indicatorId: randomUUID(),
  noteId: randomUUID(),
  editedBy: B.contributor.id,
  disabled: false,
  sector: 'police',
}

interface Case {
  name: string
  token: () => string
  method: InjectOptions['method']
  url: () => string
  valid: () => Record<string, unknown>
  /** Properties of FORGED this body must refuse (those it legitimately accepts are left out). */
  refuse: string[]
  /** Read back what the request could have changed (for PATCH) or count what it could have made. */
  state: () => Promise<unknown>
  okStatus: number
}

const get = async (token: string, url: string) => (await as(app, token).get(url)).json() as Record<string, unknown>
const count = async (token: string, url: string) => ((await as(app, token).get(url)).json() as { items: unknown[] }).items.length

const cases: Case[] = [
  {
    name: 'POST /v1/notes',
    token: () => A.contributor.token,
    method: 'POST',
    url: () => '/v1/notes',
    valid: () => ({ title: unique('mass note'), summary: 's', body: 'b', topics: ['training'] }),
    refuse: ['id', 'organisationId', 'status', 'version', 'createdAt', 'updatedAt', 'createdBy'],
    state: () => count(A.reader.token, `/v1/notes?organisationId=${A.org.id}&limit=500`),
    okStatus: 201,
  },
  {
    name: 'PATCH /v1/notes/:id',
    token: () => A.contributor.token,
    method: 'PATCH',
    url: () => `/v1/notes/${note.id}`,
    valid: () => ({ summary: 'changed' }),
    refuse: ['id', 'organisationId', 'status', 'version', 'createdAt', 'updatedAt', 'createdBy'],
    state: () => get(A.reader.token, `/v1/notes/${note.id}`),
    okStatus: 200,
  },
  {
    name: 'POST /v1/sharing-groups',
    token: () => A.org_admin.token,
    method: 'POST',
    url: () => '/v1/sharing-groups',
    valid: () => ({ name: unique('mass group'), organisationIds: [] }),
    refuse: ['id', 'organisationId', 'version', 'createdAt', 'updatedAt'],
    state: () => count(A.reader.token, '/v1/sharing-groups'),
    okStatus: 201,
  },
  {
    name: 'PATCH /v1/sharing-groups/:id',
    token: () => A.org_admin.token,
    method: 'PATCH',
    url: () => `/v1/sharing-groups/${group.id}`,
    valid: () => ({ name: unique('renamed') }),
    refuse: ['id', 'organisationId', 'version', 'createdAt', 'updatedAt'],
    state: () => get(A.reader.token, `/v1/sharing-groups/${group.id}`),
    okStatus: 200,
  },
  {
    name: 'POST /v1/indicators/:id/sightings',
    token: () => A.contributor.token,
    method: 'POST',
    url: () => `/v1/indicators/${indicator.id}/sightings`,
    valid: () => ({ seenAt: '2026-02-01T00:00:00Z', outcome: 'seen' }),
    refuse: ['id', 'organisationId', 'indicatorId', 'createdAt', 'createdBy'],
    state: () => get(A.reader.token, `/v1/indicators/${indicator.id}/sightings`),
    okStatus: 201,
  },
  {
    name: 'POST /v1/organisations',
    token: () => PA.platform_admin.token,
    method: 'POST',
    url: () => '/v1/organisations',
    valid: () => ({ name: unique('Mass org'), sector: 'postal', country: 'AT', contact: { email: 'desk@example.org' } }),
    refuse: ['id', 'status', 'version', 'createdAt', 'updatedAt'],
    state: async () => (await get(PA.platform_admin.token, '/v1/organisations?limit=500')).items,
    okStatus: 201,
  },
  {
    name: 'PATCH /v1/organisations/:id',
    token: () => PA.platform_admin.token,
    method: 'PATCH',
    url: () => `/v1/organisations/${A.org.id}`,
    valid: () => ({ contact: { hours: unique('hours') } }),
    refuse: ['id', 'version', 'createdAt', 'updatedAt'],
    state: () => get(A.reader.token, `/v1/organisations/${A.org.id}`),
    okStatus: 200,
  },
  {
    name: 'POST /v1/organisations/:id/accounts',
    token: () => A.org_admin.token,
    method: 'POST',
    url: () => `/v1/organisations/${A.org.id}/accounts`,
    valid: () => ({ name: unique('mass account'), roles: ['reader'] }),
    refuse: ['id', 'organisationId', 'version', 'createdAt', 'updatedAt', 'secretHash', 'clientId', 'clientSecret', 'disabled'],
    state: async () => ((await get(A.org_admin.token, `/v1/organisations/${A.org.id}/accounts?limit=500`)).items as unknown[]).length,
    okStatus: 201,
  },
  {
    name: 'PATCH /v1/accounts/:id',
    token: () => A.org_admin.token,
    method: 'PATCH',
    url: () => `/v1/accounts/${spare.id}`,
    valid: () => ({ name: unique('renamed account') }),
    refuse: ['id', 'organisationId', 'version', 'createdAt', 'updatedAt', 'secretHash', 'clientId', 'clientSecret'],
    state: () => get(A.org_admin.token, `/v1/accounts/${spare.id}`),
    okStatus: 200,
  },
]

for (const c of cases) {
  t.test(c.name, async (t) => {
    const send = (body: unknown, raw = false) =>
      app.inject({
        method: c.method,
        url: c.url(),
        headers: { authorization: `Bearer ${c.token()}`, ...(raw ? { 'content-type': 'application/json' } : {}) },
        payload: (raw ? body : body) as InjectOptions['payload'],
      })
    const before = await c.state()
    for (const key of c.refuse) {
      const p = isProblem(t, await send({ ...c.valid(), [key]: FORGED[key] }), 400)
      t.ok(
        (p.errors ?? []).some((e) => e.name === `body.${key}`),
        `${key}: refused, naming body.${key} (${(p.errors ?? []).map((e) => e.name).join(', ')})`,
      )
    }
    // Prototype pollution: a raw JSON body with __proto__ / constructor.prototype keys.
    for (const raw of [
      `{"__proto__":{"roles":["platform_admin"],"organisationId":"${B.org.id}"}}`,
      '{"constructor":{"prototype":{"roles":["platform_admin"]}}}',
    ]) {
      const valid = JSON.stringify(c.valid())
      const body = `${valid.slice(0, -1)}${valid.length > 2 ? ',' : ''}${raw.slice(1)}`
      isProblem(t, await send(body, true), 400)
    }
    t.same(await c.state(), before, 'nothing was applied')
    t.equal(({} as Record<string, unknown>).roles, undefined, 'Object.prototype untouched')
    // The control: the plain body is accepted.
    const okRes = await send(c.valid())
    t.equal(okRes.statusCode, c.okStatus, `the plain body is accepted (${okRes.body.slice(0, 120)})`)
  })
}

t.test('the token request refuses claims and privileges in its body', async (t) => {
  const anon = as(app, undefined)
  for (const extra of [{ roles: ['platform_admin'] }, { sub: PA.platform_admin.id }, { org: B.org.id }, { aud: 'other' }, { expires_in: 999999 }]) {
    const res = await anon.post('/v1/auth/token', {
      grant_type: 'client_credentials',
      client_id: A.reader.clientId,
      client_secret: A.reader.clientSecret,
      ...extra,
    })
    t.equal(res.statusCode, 400, `${Object.keys(extra)[0]}: 400`)
    t.equal((res.json() as { error: string }).error, 'invalid_request')
  }
  // A scope parameter is accepted by the schema but grants nothing: the token carries the account's roles only.
  const res = await anon.post('/v1/auth/token', {
    grant_type: 'client_credentials',
    client_id: A.reader.clientId,
    client_secret: A.reader.clientSecret,
    scope: 'platform_admin org_admin',
  })
  if (res.statusCode === 200) {
    const token = (res.json() as { access_token: string }).access_token
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { roles: string[] }
    t.same(claims.roles, ['reader'], 'scope does not add roles')
    isProblem(
      t,
      await as(app, token).post('/v1/organisations', { name: unique('x'), sector: 'police', country: 'NL', contact: { email: 'a@example.org' } }),
      403,
    )
  } else {
    t.equal(res.statusCode, 400, 'or the scope is refused')
  }
})

t.test('filters cannot widen what a caller may read', async (t) => {
  // An org_admin reads only its own organisation's audit events, whatever organisationId it asks for.
  await as(app, B.contributor.token).get('/v1/me')
  const res = await as(app, A.org_admin.token).get(`/v1/audit/events?organisationId=${B.org.id}&limit=50`)
  t.equal(res.statusCode, 200)
  t.same((res.json() as { items: unknown[] }).items, [], "another organisation's events stay out of reach")
  const byAccount = await as(app, A.org_admin.token).get(`/v1/audit/events?accountId=${B.contributor.id}&limit=50`)
  t.same((byAccount.json() as { items: unknown[] }).items, [], '…also when asked for by one of its accounts')
  const exp = await as(app, A.org_admin.token).get(`/v1/audit/export?organisationId=${B.org.id}`)
  t.equal(exp.body.trim(), '', 'and the export is empty')
})

t.test('no response carries a secret hash or private key', async (t) => {
  const seen: [string, LightMyRequestResponse][] = [
    ['GET /v1/me', await as(app, A.org_admin.token).get('/v1/me')],
    ['GET account', await as(app, A.org_admin.token).get(`/v1/accounts/${spare.id}`)],
    ['list accounts', await as(app, PA.platform_admin.token).get(`/v1/organisations/${A.org.id}/accounts?limit=500`)],
    ['create account', await as(app, A.org_admin.token).post(`/v1/organisations/${A.org.id}/accounts`, { name: unique('x'), roles: ['reader'] })],
    ['rotate secret', await as(app, A.org_admin.token).post(`/v1/accounts/${spare.id}/secret`)],
    ['patch account', await as(app, A.org_admin.token).patch(`/v1/accounts/${spare.id}`, { name: unique('y') })],
    ['jwks', await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })],
    ['checkpoints', await as(app, PA.platform_admin.token).get('/v1/audit/checkpoints')],
    ['audit events', await as(app, PA.platform_admin.token).get('/v1/audit/events?limit=1000')],
    ['audit export', await as(app, PA.platform_admin.token).get('/v1/audit/export?format=csv')],
  ]
  for (const [name, res] of seen) {
    t.ok(res.statusCode < 300, `${name}: ${res.statusCode}`)
    t.notMatch(res.body, /scrypt\$|BEGIN [A-Z ]*PRIVATE KEY|"d":"/, `${name}: no hash, no private key`)
    if (/json/.test(String(res.headers['content-type']))) {
      const keys = keysDeep(res.json())
      for (const k of NEVER_KEYS) if (k !== 'd' || name === 'jwks' || name === 'checkpoints') t.notOk(keys.has(k), `${name}: no ${k}`)
    }
  }
  // The secret appears exactly where the credential contract says: on creation and rotation, and nowhere in the audit trail.
  const created = (seen[3]?.[1].json() ?? {}) as { clientSecret?: string }
  t.match(created.clientSecret, /^dcxs_/, 'creation returns the secret once')
  t.notMatch(seen[8]?.[1].body ?? '', created.clientSecret ?? 'x', 'not in the audit events')
  t.notMatch(seen[9]?.[1].body ?? '', created.clientSecret ?? 'x', 'not in the audit export')
})
