// Warning lists (DESIGN §8): platform lists (platform_admin writes, every account reads) and an
// organisation's lists (its org_admin writes, its members read, other organisations: 404). Role ×
// organisation matrix over every operation, entries normalised (an invalid one: a 400 naming it),
// the size limits, and what the audit log keeps (counts, never a listed value).
import t from 'tap'
import type { Role } from '../../src/core/roles.js'
import { rows, sql } from '../../src/db/client.js'
import { as, buildTestApp, createAccount, createOrg, isProblem, json, unique, type TestAccount } from '../helper.js'

const app = await buildTestApp(t)
const ROLES: Role[] = ['reader', 'contributor', 'org_admin', 'auditor', 'platform_admin']
const orgA = await createOrg(app, { sector: 'police' })
const orgB = await createOrg(app, { sector: 'postal', country: 'DE' })
const A = {} as Record<Role, TestAccount>
const B = {} as Record<Role, TestAccount>
for (const r of ROLES) {
  A[r] = await createAccount(app, orgA.id, [r])
  B[r] = await createAccount(app, orgB.id, [r])
}

type List = { id: string; scope: string; organisationId?: string; entryCount: number; version: number; entries: { type: string; value: string }[] }

async function newList(by: TestAccount, scope: 'platform' | 'organisation', entries: { type: string; value: string }[] = []): Promise<List> {
  const res = await as(app, by.token).post('/v1/warning-lists', { name: unique('list'), scope, reason: 'shared infrastructure', entries })
  if (res.statusCode !== 201) throw new Error(`fixture: ${res.statusCode} ${res.body}`)
  return json<List>(res)
}

t.test('create: the scope decides the role; entries come back normalised', async (t) => {
  const own = await as(app, A.org_admin.token).post('/v1/warning-lists', {
    name: unique('lockers'),
    reason: 'Parcel lockers: many senders, one address',
    entries: [
      { type: 'domain', value: 'WWW.Example.COM.' },
      { type: 'email', value: ' Desk@Example.ORG' },
      { type: 'domain', value: 'www.example.com' },
    ],
  })
  t.equal(own.statusCode, 201, own.body)
  const body = json<List>(own)
  t.equal(body.scope, 'organisation', 'organisation is the default scope')
  t.equal(body.organisationId, orgA.id, "the caller's own organisation")
  t.equal(body.entryCount, 2, 'the duplicate spelling is one entry')
  t.same(
    body.entries.map((e) => e.type),
    ['domain', 'email'],
  )
  t.notOk(
    body.entries.some((e) => /[A-Z ]/.test(e.value)),
    'values normalised',
  )
  t.match(own.headers.location, `/v1/warning-lists/${body.id}`)

  const platform = await as(app, A.platform_admin.token).post('/v1/warning-lists', {
    name: unique('hosting'),
    scope: 'platform',
    reason: 'Large hosting domain',
  })
  t.equal(platform.statusCode, 201, platform.body)
  t.equal(json<List>(platform).scope, 'platform')
  t.notOk('organisationId' in json(platform), 'a platform list has no organisation')

  for (const [who, scope] of [
    [A.org_admin, 'platform'],
    [A.platform_admin, 'organisation'],
    [A.contributor, 'organisation'],
    [A.reader, 'organisation'],
    [A.auditor, 'platform'],
  ] as const) {
    const res = await as(app, who.token).post('/v1/warning-lists', { name: unique('x'), scope, reason: 'r' })
    t.match(isProblem(t, res, 403).detail, /role/, `${who.roles[0]} may not create a ${scope} list`)
  }
  isProblem(t, await as(app, undefined).post('/v1/warning-lists', { name: 'x', reason: 'r' }), 401)
})

t.test('bad input: 400 naming the field, never a 500', async (t) => {
  const bad = await as(app, A.org_admin.token).post('/v1/warning-lists', {
    name: unique('bad'),
    reason: 'r',
    entries: [
      { type: 'domain', value: 'fine.example' },
      { type: 'email', value: 'not an address' },
      { type: 'postal_item', value: 'XX' },
    ],
  })
  const p = isProblem(t, bad, 400)
  t.same(
    p.errors?.map((e) => e.name),
    ['body.entries.1.value', 'body.entries.2.value'],
    'each invalid entry named',
  )
  const listed = json<{ items: { name: string }[] }>(await as(app, A.org_admin.token).get('/v1/warning-lists'))
  t.notOk(
    listed.items.some((l) => l.name.startsWith('bad-')),
    'nothing created when an entry is invalid',
  )
  isProblem(t, await as(app, A.org_admin.token).post('/v1/warning-lists', { name: '', reason: 'r' }), 400)
  isProblem(t, await as(app, A.org_admin.token).post('/v1/warning-lists', { name: 'n', reason: 'r', scope: 'world' }), 400)
  isProblem(t, await as(app, A.org_admin.token).post('/v1/warning-lists', { name: 'n', reason: 'r', organisationId: orgB.id }), 400)
  isProblem(t, await as(app, A.org_admin.token).post('/v1/warning-lists', { name: 'n', reason: 'r', entries: [{ type: 'nope', value: 'x' }] }), 400)
  const tooMany = Array.from({ length: 1001 }, (_, i) => ({ type: 'domain', value: `d${i}.example` }))
  isProblem(t, await as(app, A.org_admin.token).post('/v1/warning-lists', { name: 'n', reason: 'r', entries: tooMany }), 400)
  const list = await newList(A.org_admin, 'organisation')
  isProblem(t, await as(app, A.org_admin.token).post(`/v1/warning-lists/${list.id}/entries`, { entries: [] }), 400)
  const e = isProblem(t, await as(app, A.org_admin.token).post(`/v1/warning-lists/${list.id}/entries`, { entries: [{ type: 'phone', value: 'abc' }] }), 400)
  t.equal(e.errors?.[0]?.name, 'body.entries.0.value')
  isProblem(t, await as(app, A.org_admin.token).patch(`/v1/warning-lists/${list.id}`, {}), 400)
  isProblem(t, await as(app, A.org_admin.token).get('/v1/warning-lists/not-a-uuid'), 400)
})

t.test('who sees which list', async (t) => {
  const platform = await newList(A.platform_admin, 'platform')
  const ofA = await newList(A.org_admin, 'organisation')
  const ofB = await newList(B.org_admin, 'organisation')
  for (const r of ROLES) {
    const seen = json<{ items: { id: string }[] }>(await as(app, A[r].token).get('/v1/warning-lists')).items.map((l) => l.id)
    t.ok(seen.includes(platform.id), `${r} of A lists the platform list`)
    t.ok(seen.includes(ofA.id), `${r} of A lists A's list`)
    t.notOk(seen.includes(ofB.id), `${r} of A never lists B's list`)
    t.equal((await as(app, A[r].token).get(`/v1/warning-lists/${platform.id}`)).statusCode, 200, `${r}: platform list 200`)
    t.equal((await as(app, A[r].token).get(`/v1/warning-lists/${ofA.id}`)).statusCode, 200, `${r}: own list 200`)
    isProblem(t, await as(app, A[r].token).get(`/v1/warning-lists/${ofB.id}`), 404)
  }
  isProblem(t, await as(app, undefined).get('/v1/warning-lists'), 401)
  isProblem(t, await as(app, undefined).get(`/v1/warning-lists/${platform.id}`), 401)
})

// Each write × each role of organisation A × the list's owner (A, B, the platform).
type Target = 'own' | 'other' | 'platform'
const WRITES: { op: string; call: (who: TestAccount, id: string) => ReturnType<ReturnType<typeof as>['get']>; ok: number }[] = [
  { op: 'PATCH', call: (w, id) => as(app, w.token).patch(`/v1/warning-lists/${id}`, { reason: unique('reason') }), ok: 200 },
  {
    op: 'POST entries',
    call: (w, id) => as(app, w.token).post(`/v1/warning-lists/${id}/entries`, { entries: [{ type: 'domain', value: `${unique('d')}.example` }] }),
    ok: 200,
  },
  {
    op: 'DELETE entries',
    call: (w, id) =>
      app.inject({
        method: 'DELETE',
        url: `/v1/warning-lists/${id}/entries`,
        headers: { authorization: `Bearer ${w.token}` },
        payload: { entries: [{ type: 'domain', value: 'listed.example' }] },
      }),
    ok: 200,
  },
  { op: 'DELETE', call: (w, id) => as(app, w.token).delete(`/v1/warning-lists/${id}`), ok: 204 },
]
const EXPECTED: Record<Role, Record<Target, 'ok' | 403 | 404>> = {
  reader: { own: 403, other: 403, platform: 403 },
  contributor: { own: 403, other: 403, platform: 403 },
  auditor: { own: 403, other: 403, platform: 403 },
  org_admin: { own: 'ok', other: 404, platform: 403 },
  platform_admin: { own: 403, other: 404, platform: 'ok' },
}

t.test('writes: role × organisation', async (t) => {
  for (const w of WRITES) {
    for (const r of ROLES) {
      for (const target of ['own', 'other', 'platform'] as const) {
        const entries = [{ type: 'domain', value: 'listed.example' }]
        const list =
          target === 'own'
            ? await newList(A.org_admin, 'organisation', entries)
            : target === 'other'
              ? await newList(B.org_admin, 'organisation', entries)
              : await newList(A.platform_admin, 'platform', entries)
        const res = await w.call(A[r], list.id)
        const want = EXPECTED[r][target] === 'ok' ? w.ok : (EXPECTED[r][target] as number)
        t.equal(res.statusCode, want, `${w.op} by ${r} on ${target} list: ${want} (${res.body.slice(0, 120)})`)
        if (want >= 400) isProblem(t, res, want)
        if (want === 403) t.match(json<{ detail: string }>(res).detail, /role|platform_admin|org_admin/)
        // Unchanged unless allowed: the list's version and entries.
        const after = await as(app, target === 'other' ? B.reader.token : A.reader.token).get(`/v1/warning-lists/${list.id}`)
        if (want >= 400) t.equal(json<List>(after).version, list.version, 'refused: unchanged')
      }
    }
    const anon = await w.call({ token: '' } as TestAccount, (await newList(A.org_admin, 'organisation')).id)
    t.equal(anon.statusCode, 401, `${w.op} without a token: 401`)
  }
})

t.test('entries: add (duplicates left alone), remove, version, If-Match', async (t) => {
  const list = await newList(A.org_admin, 'organisation', [{ type: 'domain', value: 'a.example' }])
  const adm = as(app, A.org_admin.token)
  const add = await adm.post(`/v1/warning-lists/${list.id}/entries`, {
    entries: [
      { type: 'domain', value: 'A.EXAMPLE' },
      { type: 'domain', value: 'b.example' },
      { type: 'crypto_address', value: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq' },
    ],
  })
  t.equal(add.statusCode, 200, add.body)
  t.same(json(add), { added: 2, entryCount: 3, version: list.version + 1 })
  const del = await app.inject({
    method: 'DELETE',
    url: `/v1/warning-lists/${list.id}/entries`,
    headers: { authorization: `Bearer ${A.org_admin.token}` },
    payload: {
      entries: [
        { type: 'domain', value: 'B.example.' },
        { type: 'domain', value: 'never.example' },
      ],
    },
  })
  t.equal(del.statusCode, 200, del.body)
  t.same(json(del), { removed: 1, entryCount: 2, version: list.version + 2 })
  const got = json<List>(await adm.get(`/v1/warning-lists/${list.id}`))
  t.same(
    got.entries.map((e) => e.value),
    ['bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq', 'a.example'],
    'ordered by type, then value',
  )
  isProblem(t, await adm.patch(`/v1/warning-lists/${list.id}`, { name: 'stale' }, { 'if-match': '"1"' }), 412)
  const ok = await adm.patch(`/v1/warning-lists/${list.id}`, { name: 'renamed' }, { 'if-match': `"${got.version}"` })
  t.equal(ok.statusCode, 200, ok.body)
  t.equal(json<{ name: string }>(ok).name, 'renamed')
  t.equal((await adm.delete(`/v1/warning-lists/${list.id}`)).statusCode, 204)
  isProblem(t, await adm.get(`/v1/warning-lists/${list.id}`), 404)
})

t.test('a list holds at most 10,000 entries (422, nothing added)', async (t) => {
  const list = await newList(A.platform_admin, 'platform')
  const adm = as(app, A.platform_admin.token)
  for (let k = 0; k < 10; k++) {
    const entries = Array.from({ length: 1000 }, (_, i) => ({ type: 'domain', value: `h${k}-${i}.example` }))
    t.equal((await adm.post(`/v1/warning-lists/${list.id}/entries`, { entries })).statusCode, 200)
  }
  const over = await adm.post(`/v1/warning-lists/${list.id}/entries`, { entries: [{ type: 'domain', value: 'one-more.example' }] })
  isProblem(t, over, 422)
  t.equal(json<List>(await adm.get(`/v1/warning-lists/${list.id}`)).entryCount, 10_000)
})

t.test('the audit log keeps counts, never a listed value', async (t) => {
  const value = `${unique('secretlocker')}.example`
  const list = await newList(A.org_admin, 'organisation', [{ type: 'domain', value }])
  await as(app, A.org_admin.token).post(`/v1/warning-lists/${list.id}/entries`, { entries: [{ type: 'domain', value: `x${value}` }] })
  const rs = await rows<{ action: string; details: string }>(
    app.db,
    sql`select action, details::text as details from audit_events where resource_id = ${list.id} order by id`,
  )
  t.same(
    rs.map((r) => r.action),
    ['warning_list.create', 'warning_list.entries.add'],
  )
  t.notOk(
    rs.some((r) => r.details.includes('secretlocker')),
    'no value in the audit details',
  )
})
