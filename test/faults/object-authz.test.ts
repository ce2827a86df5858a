// OWASP API1 (broken object-level authorisation): every route with an id, for indicators, notes
// and sharing groups, called by every role of three other organisations — a member of the
// owner's sharing group, an authority outside it, an industry partner outside everything.
//
// - An item the caller may not see answers exactly like an id that does not exist: same status,
//   byte-identical body (the request id is pinned), same headers — including for writes with a
//   stale If-Match, which must not turn into a 412 that would confirm the item and its version.
// - An item the caller may see but not write answers 404 or 403, and nothing changes.
// - Count paths (stats, change feed) do not move when hidden items and their sightings appear.
// Runs on a private database so that counts are exact. (Per-viewer read paths — list, q=, value=,
// match, related — are in test/exchange/visibility-matrix.test.ts; org/account routes in
// test/foundation/roles-matrix.test.ts.)
import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import type { Role } from '../../src/core/roles.js'
import { ROLES } from '../../src/core/roles.js'
import { createAccount, createOrg, unique, type TestAccount, type TestOrg } from '../helper.js'
import { holds, operationFor, privateApp } from './support.js'

const app: FastifyInstance = await privateApp(t)

async function call(token: string, method: InjectOptions['method'], url: string, body?: unknown, headers: Record<string, string> = {}) {
  return app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, ...headers },
    ...(body !== undefined ? { payload: body as InjectOptions['payload'] } : {}),
  })
}
async function ok<T = { id: string; version: number }>(res: Promise<LightMyRequestResponse>, status = 201): Promise<T> {
  const r = await res
  if (r.statusCode !== status) throw new Error(`fixture: ${r.statusCode} ${r.body}`)
  return r.json() as T
}

type Viewer = 'member' | 'authority' | 'outsider'
const owner = await createOrg(app, { sector: 'customs' })
const ownerContributor = await createAccount(app, owner.id, ['contributor'])
const ownerAdmin = await createAccount(app, owner.id, ['org_admin'])
const orgs: Record<Viewer, TestOrg> = {
  member: await createOrg(app, { sector: 'postal' }),
  authority: await createOrg(app, { sector: 'police', country: 'BE' }),
  outsider: await createOrg(app, { sector: 'industry', country: 'FR' }),
}
const callers: Record<Viewer, Record<Role, TestAccount>> = { member: {}, authority: {}, outsider: {} } as never
for (const v of Object.keys(orgs) as Viewer[]) for (const r of ROLES) callers[v][r] = await createAccount(app, orgs[v].id, [r])

const group = await ok(call(ownerAdmin.token, 'POST', '/v1/sharing-groups', { name: unique('bola group'), organisationIds: [orgs.member.id] }))
const lonelyGroup = await ok(call(ownerAdmin.token, 'POST', '/v1/sharing-groups', { name: unique('bola lonely'), organisationIds: [] }))

interface Item {
  kind: 'indicator' | 'note' | 'group'
  key: string
  id: string
  /** Who may read it (get, related, sightings summary, revisions). */
  readable: Viewer[]
  /** Whose distribution reaches it (a sighting may be reported against it). */
  reachable: Viewer[]
  /** Secret text that must never appear in an answer to someone who cannot read it. */
  secret: string
}

const placements = [
  { key: 'organisation', body: { distribution: 'organisation' }, readable: [] as Viewer[], reachable: [] as Viewer[] },
  {
    key: 'sharing_group',
    body: { distribution: 'sharing_group', sharingGroupId: group.id },
    readable: ['member'] as Viewer[],
    reachable: ['member'] as Viewer[],
  },
  { key: 'authorities', body: { distribution: 'authorities' }, readable: ['authority'] as Viewer[], reachable: ['authority'] as Viewer[] },
  {
    key: 'community',
    body: { distribution: 'community' },
    readable: ['member', 'authority', 'outsider'] as Viewer[],
    reachable: ['member', 'authority', 'outsider'] as Viewer[],
  },
]

const items: Item[] = []
for (const p of placements) {
  const secret = unique('secretvalue')
  const ind = await ok(
    call(ownerContributor.token, 'POST', '/v1/indicators', { type: 'vendor_alias', value: secret, description: `desc ${secret}`, tlp: 'amber', ...p.body }),
  )
  items.push({ kind: 'indicator', key: `indicator ${p.key}`, id: ind.id, readable: p.readable, reachable: p.reachable, secret })
  const noteSecret = unique('secretnote')
  const note = await ok(
    call(ownerContributor.token, 'POST', '/v1/notes', { title: noteSecret, summary: 's', body: 'b', topics: ['detection'], tlp: 'amber', ...p.body }),
  )
  items.push({ kind: 'note', key: `note ${p.key}`, id: note.id, readable: p.readable, reachable: p.reachable, secret: noteSecret })
}
{
  const secret = unique('secretmatchonly')
  const ind = await ok(
    call(ownerContributor.token, 'POST', '/v1/indicators', {
      type: 'vendor_alias',
      value: secret,
      valueVisibility: 'match_only',
      distribution: 'community',
      tlp: 'amber',
    }),
  )
  items.push({ kind: 'indicator', key: 'indicator match_only community', id: ind.id, readable: [], reachable: ['member', 'authority', 'outsider'], secret })
}
items.push({ kind: 'group', key: 'group with member', id: group.id, readable: ['member'], reachable: ['member'], secret: 'bola group' })
items.push({ kind: 'group', key: 'group without members', id: lonelyGroup.id, readable: [], reachable: [], secret: 'bola lonely' })
// Each item gets a sighting by its owner, so a leak through the summary would show.
for (const it of items) {
  if (it.kind === 'indicator')
    await ok(call(ownerContributor.token, 'POST', `/v1/indicators/${it.id}/sightings`, { seenAt: new Date().toISOString(), outcome: 'seized', count: 7 }))
}

interface Probe {
  name: string
  kinds: Item['kind'][]
  method: InjectOptions['method']
  path: (id: string) => string
  body?: unknown
  headers?: Record<string, string>
  write: boolean
  /** Which visibility governs: read paths need readable, a sighting report only reachable. */
  needs: 'readable' | 'reachable'
}

const probes: Probe[] = [
  { name: 'GET', kinds: ['indicator', 'note', 'group'], method: 'GET', path: (id) => id, write: false, needs: 'readable' },
  { name: 'PATCH', kinds: ['indicator'], method: 'PATCH', path: (id) => id, body: { confidence: 1 }, write: true, needs: 'readable' },
  { name: 'PATCH', kinds: ['note'], method: 'PATCH', path: (id) => id, body: { summary: 'defaced' }, write: true, needs: 'readable' },
  { name: 'PATCH', kinds: ['group'], method: 'PATCH', path: (id) => id, body: { name: 'defaced' }, write: true, needs: 'readable' },
  {
    name: 'PATCH stale If-Match',
    kinds: ['indicator'],
    method: 'PATCH',
    path: (id) => id,
    body: { confidence: 1 },
    headers: { 'if-match': '"999"' },
    write: true,
    needs: 'readable',
  },
  {
    name: 'PATCH current If-Match',
    kinds: ['indicator', 'note'],
    method: 'PATCH',
    path: (id) => id,
    body: { tlp: 'red', distribution: 'organisation' },
    headers: { 'if-match': '"1"' },
    write: true,
    needs: 'readable',
  },
  { name: 'DELETE', kinds: ['indicator', 'note', 'group'], method: 'DELETE', path: (id) => id, write: true, needs: 'readable' },
  {
    name: 'DELETE stale If-Match',
    kinds: ['indicator', 'note'],
    method: 'DELETE',
    path: (id) => id,
    headers: { 'if-match': '"999"' },
    write: true,
    needs: 'readable',
  },
  { name: 'GET related', kinds: ['indicator'], method: 'GET', path: (id) => `${id}/related`, write: false, needs: 'readable' },
  { name: 'GET sightings', kinds: ['indicator'], method: 'GET', path: (id) => `${id}/sightings`, write: false, needs: 'readable' },
  {
    name: 'POST sightings',
    kinds: ['indicator'],
    method: 'POST',
    path: (id) => `${id}/sightings`,
    body: { seenAt: '2026-01-01T00:00:00Z', outcome: 'seen' },
    write: false,
    needs: 'reachable',
  },
  { name: 'GET revisions', kinds: ['note'], method: 'GET', path: (id) => `${id}/revisions`, write: false, needs: 'readable' },
]
const base = { indicator: '/v1/indicators/', note: '/v1/notes/', group: '/v1/sharing-groups/' }
const mayWrite: Record<Item['kind'], Role[]> = { indicator: ['contributor', 'org_admin'], note: ['contributor', 'org_admin'], group: ['org_admin'] }

const READERS: Role[] = ['reader', 'contributor', 'org_admin']
const REQUEST_ID = 'bola-probe-00000001'
const comparable = (res: LightMyRequestResponse) => {
  // The date and the caller's own rate-limit counters differ between any two requests.
  const { date: _d, 'x-ratelimit-remaining': _r, 'x-ratelimit-reset': _s, ...headers } = res.headers
  return { status: res.statusCode, headers, body: res.body }
}

async function snapshot() {
  const out: Record<string, unknown> = {}
  for (const it of items) {
    const path = base[it.kind] + it.id
    out[it.key] = (await call(it.kind === 'group' ? ownerAdmin.token : ownerContributor.token, 'GET', path)).json()
  }
  return out
}
const before = await snapshot()

for (const viewer of Object.keys(orgs) as Viewer[]) {
  t.test(`${viewer} organisation (${orgs[viewer].id.slice(0, 8)})`, async (t) => {
    for (const role of ROLES) {
      const token = callers[viewer][role].token
      const missingCache = new Map<string, ReturnType<typeof comparable>>()
      for (const it of items) {
        for (const p of probes.filter((p) => p.kinds.includes(it.kind))) {
          const headers = { 'x-request-id': REQUEST_ID, ...(p.headers ?? {}) }
          const label = `${role} → ${p.name} ${it.key}`
          const res = await call(token, p.method, base[it.kind] + p.path(it.id), p.body, headers)
          const route = `${base[it.kind]}:id${p.path('X').slice(1)}`
          holds(t, res, operationFor(p.method as string, route), label)
          const visible = (p.needs === 'readable' ? it.readable : it.reachable).includes(viewer)
          if (!visible) {
            const cacheKey = `${it.kind} ${p.name} ${JSON.stringify(p.body ?? null)}`
            let missing = missingCache.get(cacheKey)
            if (!missing) {
              missing = comparable(await call(token, p.method, base[it.kind] + p.path(randomUUID()), p.body, headers))
              missingCache.set(cacheKey, missing)
            }
            t.ok([403, 404].includes(res.statusCode), `${label}: hidden → ${res.statusCode}`)
            t.same(comparable(res), missing, `${label}: answers exactly like a missing id`)
            t.notMatch(res.body, it.secret, `${label}: nothing of the item in the body`)
            t.notOk(res.headers.etag, `${label}: no ETag`)
          } else if (p.write) {
            const expected = mayWrite[it.kind].includes(role) ? (it.kind === 'group' ? 403 : 404) : 403
            t.equal(res.statusCode, expected, `${label}: visible, not writable → ${expected} (${res.statusCode})`)
            t.notOk(res.headers.etag, `${label}: no ETag`)
          } else if (p.name === 'POST sightings') {
            t.equal(res.statusCode, mayWrite.indicator.includes(role) ? 201 : 403, `${label}: reachable → report allowed by role only`)
          } else {
            // Content reads need the reader role (reader, contributor, org_admin): auditor and platform_admin get 403.
            const expected = READERS.includes(role) ? 200 : 403
            t.equal(res.statusCode, expected, `${label}: visible → ${expected} (${res.body.slice(0, 120)})`)
          }
        }
      }
    }
  })
}

t.test('nothing any other organisation sent changed an item', async (t) => {
  const after = await snapshot()
  for (const it of items) {
    const a = after[it.key] as Record<string, unknown>
    const b = before[it.key] as Record<string, unknown>
    t.same({ ...a, updatedAt: undefined }, { ...b, updatedAt: undefined }, `${it.key}: unchanged`)
  }
})

t.test('count paths: stats and the change feed do not move for hidden items and their sightings', async (t) => {
  type Stats = Record<string, unknown>
  interface Page {
    items: { id: string }[]
    nextCursor: string | null
    hasMore: boolean
  }
  const viewers = Object.keys(orgs) as Viewer[]
  const stats = async (v: Viewer) => (await call(callers[v].reader.token, 'GET', '/v1/stats')).json() as Stats
  const head = async (v: Viewer) => {
    let page = (await call(callers[v].reader.token, 'GET', '/v1/changes?limit=1000')).json() as Page
    while (page.hasMore) page = (await call(callers[v].reader.token, 'GET', `/v1/changes?limit=1000&cursor=${page.nextCursor}`)).json() as Page
    return page.nextCursor
  }
  const statsBefore = Object.fromEntries(await Promise.all(viewers.map(async (v) => [v, await stats(v)] as const)))
  const heads = Object.fromEntries(await Promise.all(viewers.map(async (v) => [v, await head(v)] as const)))

  // New items hidden from everyone (or from all but the named viewer), with sightings, and a revocation.
  const hidden: { id: string; readableBy: Viewer[] }[] = []
  for (const p of placements.filter((p) => p.key !== 'community')) {
    for (let i = 0; i < 3; i++) {
      const ind = await ok(
        call(ownerContributor.token, 'POST', '/v1/indicators', {
          type: 'file_hash',
          value: randomUUID().replaceAll('-', ''),
          tlp: 'amber',
          countries: ['LU'],
          ...p.body,
        }),
      )
      await ok(
        call(ownerContributor.token, 'POST', `/v1/indicators/${ind.id}/sightings`, {
          seenAt: new Date().toISOString(),
          outcome: 'controlled_delivery',
          count: 3,
        }),
      )
      hidden.push({ id: ind.id, readableBy: p.readable })
    }
    const note = await ok(
      call(ownerContributor.token, 'POST', '/v1/notes', { title: unique('hidden'), summary: 's', body: 'b', topics: ['legislation'], tlp: 'amber', ...p.body }),
    )
    hidden.push({ id: note.id, readableBy: p.readable })
  }
  const mo = await ok(
    call(ownerContributor.token, 'POST', '/v1/indicators', {
      type: 'file_hash',
      value: randomUUID().replaceAll('-', ''),
      valueVisibility: 'match_only',
      distribution: 'community',
      tlp: 'amber',
    }),
  )
  await ok(call(ownerContributor.token, 'DELETE', `/v1/indicators/${mo.id}`), 200)
  hidden.push({ id: mo.id, readableBy: [] })

  for (const v of viewers) {
    const expectedNew = hidden.filter((h) => h.readableBy.includes(v)).map((h) => h.id)
    const seen: string[] = []
    let cursor = heads[v]
    for (let i = 0; i < 20; i++) {
      const page = (await call(callers[v].reader.token, 'GET', `/v1/changes?limit=1000${cursor ? `&cursor=${cursor}` : ''}`)).json() as Page
      seen.push(...page.items.map((c) => c.id))
      cursor = page.nextCursor
      if (!page.hasMore) break
    }
    t.same(seen.filter((id) => hidden.some((h) => h.id === id)).sort(), [...expectedNew].sort(), `${v}: the change feed carries only what it may read`)
    if (expectedNew.length === 0) t.same(await stats(v), statsBefore[v], `${v}: stats identical after hidden items and sightings appeared`)
    else t.not(JSON.stringify(await stats(v)), JSON.stringify(statsBefore[v]), `${v}: stats do move for what it may read (control)`)
  }
})
