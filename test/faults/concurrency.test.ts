// Concurrency at 50: 50 simultaneous updates of one item with the same If-Match give exactly one
// winner per version (for every resource with an ETag); 50 updates without If-Match lose none
// (versions 2…51, each handed out once); 50 simultaneous retries of one Idempotency-Key create
// one item (indicators, bulk, notes, sharing groups, sightings); and after all of it the audit hash
// chain verifies unbroken. On PostgreSQL the requests truly overlap — on a server of this file's
// own, with a connection for each of them, so neither another file's open transaction (which
// would hold the chain back: transaction ids are server-wide) nor a queue for the pool decides
// the outcome; on PGlite they are serialised, and the rules must hold all the same.
// (The 20-way idempotency race on one indicator is in test/exchange/idempotency.test.ts.)
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { as, createAccount, createOrg, unique } from '../helper.js'
import { ownServerApp, poll } from './support.js'

const N = 50
// N requests at once, each with a connection (plus a few for the chainer and the fixtures).
const app = await ownServerApp(t, { DCX_DB_POOL_SIZE: String(N + 5) }, { maxConnections: N + 20 })
const org = await createOrg(app, { sector: 'police' })
const other = await createOrg(app, { sector: 'customs', country: 'DE' })
const contributor = await createAccount(app, org.id, ['contributor'])
const admin = await createAccount(app, org.id, ['org_admin'])
const platform = await createAccount(app, other.id, ['platform_admin'])
const auditor = await createAccount(app, other.id, ['auditor'])
const spare = await createAccount(app, org.id, ['reader'])

const c = as(app, contributor.token)
const a = as(app, admin.token)
const p = as(app, platform.token)

async function created(res: Promise<LightMyRequestResponse>): Promise<string> {
  const r = await res
  if (r.statusCode !== 201) throw new Error(`fixture: ${r.statusCode} ${r.body}`)
  return (r.json() as { id: string }).id
}

interface Target {
  name: string
  path: string
  patch: (i: number) => unknown
  client: ReturnType<typeof as>
}
const targets: Target[] = [
  {
    name: 'indicator',
    path: `/v1/indicators/${await created(c.post('/v1/indicators', { type: 'vendor_alias', value: unique('race'), distribution: 'community' }))}`,
    patch: (i) => ({ confidence: i }),
    client: c,
  },
  {
    name: 'note',
    path: `/v1/notes/${await created(c.post('/v1/notes', { title: unique('race'), summary: 's', body: 'b', topics: ['training'] }))}`,
    patch: (i) => ({ summary: `summary ${i}` }),
    client: c,
  },
  {
    name: 'sharing group',
    path: `/v1/sharing-groups/${await created(a.post('/v1/sharing-groups', { name: unique('race'), organisationIds: [] }))}`,
    patch: (i) => ({ name: `group ${i} ${unique('g')}` }),
    client: a,
  },
  { name: 'organisation', path: `/v1/organisations/${org.id}`, patch: (i) => ({ contact: { hours: `shift ${i}` } }), client: p },
  { name: 'account', path: `/v1/accounts/${spare.id}`, patch: (i) => ({ name: `account ${i}` }), client: a },
]

// These services read the row, then update WHERE version = read version, without a row lock: on
// PostgreSQL, concurrent updates that sent no If-Match lose the race and get a 412 for a
// precondition they never set. Indicators and notes lock the row (SELECT … FOR UPDATE) and are fine.
const UNLOCKED = new Set<string>()
const UNLOCKED_TODO =
  'a PATCH without If-Match answers 412 under concurrency (no row lock in sharing-groups / organisations / accounts services) — reported to the lead'

const version = (res: LightMyRequestResponse) => Number(String(res.headers.etag ?? '').replaceAll('"', ''))

for (const target of targets) {
  t.test(`${target.name}: ${N} concurrent updates with one If-Match → exactly one winner per version`, async (t) => {
    let current = version(await target.client.get(target.path))
    t.ok(current >= 1, `starts at version ${current}`)
    for (let round = 0; round < 2; round++) {
      const all = await Promise.all(Array.from({ length: N }, (_, i) => target.client.patch(target.path, target.patch(i), { 'if-match': `"${current}"` })))
      const winners = all.filter((r) => r.statusCode === 200)
      const losers = all.filter((r) => r.statusCode === 412)
      t.equal(winners.length, 1, `round ${round + 1}: exactly one 200 (statuses: ${[...new Set(all.map((r) => r.statusCode))].join(', ')})`)
      t.equal(losers.length, N - 1, `round ${round + 1}: the other ${N - 1} get 412`)
      const next = version(winners[0] as LightMyRequestResponse)
      t.equal(next, current + 1, `round ${round + 1}: the winner made version ${current + 1}`)
      t.ok(
        losers.every((r) => version(r) >= next),
        'each 412 carries a current ETag',
      )
      const now = await target.client.get(target.path)
      t.equal(version(now), next, 'the stored version is the winner’s')
      current = next
    }

    // Without If-Match nobody is refused, and no update is lost: versions current+1 … current+N, each once.
    const all = await Promise.all(Array.from({ length: N }, (_, i) => target.client.patch(target.path, target.patch(50 + i))))
    const done = all.filter((r) => r.statusCode === 200)
    t.same(
      [...new Set(all.map((r) => r.statusCode))],
      [200],
      `all ${N} unconditional updates succeed (${[...new Set(all.map((r) => r.statusCode))].join(', ')})`,
      UNLOCKED.has(target.name) ? { todo: UNLOCKED_TODO } : {},
    )
    const versions = done.map(version).sort((x, y) => x - y)
    t.same(
      versions,
      Array.from({ length: done.length }, (_, i) => current + 1 + i),
      'no update lost: every version handed out exactly once',
    )
    t.equal(version(await target.client.get(target.path)), current + done.length, `final version ${current + done.length}`)
  })
}

t.test(`${N} concurrent retries of one Idempotency-Key create one item`, async (t) => {
  const indicator = await created(c.post('/v1/indicators', { type: 'vendor_alias', value: unique('sighted'), distribution: 'community' }))
  const cases: { name: string; client: ReturnType<typeof as>; url: string; body: unknown; count: () => Promise<number>; status: number }[] = [
    {
      name: 'POST /v1/indicators',
      client: c,
      url: '/v1/indicators',
      body: { type: 'vendor_alias', value: unique('idem'), tags: ['idem-race'] },
      count: async () => (await c.get('/v1/indicators?tag=idem-race&limit=500')).json().items.length,
      status: 201,
    },
    {
      name: 'POST /v1/indicators/bulk',
      client: c,
      url: '/v1/indicators/bulk',
      body: { items: Array.from({ length: 10 }, (_, i) => ({ type: 'vendor_alias', value: unique(`bulk${i}`), tags: ['idem-bulk-race'] })) },
      count: async () => (await c.get('/v1/indicators?tag=idem-bulk-race&limit=500')).json().items.length / 10,
      status: 200,
    },
    {
      name: 'POST /v1/notes',
      client: c,
      url: '/v1/notes',
      body: { title: 'idem-note-race', summary: 's', body: 'b', topics: ['cooperation'] },
      count: async () => (await c.get('/v1/notes?q=idem-note-race&limit=500')).json().items.length,
      status: 201,
    },
    {
      name: 'POST /v1/sharing-groups',
      client: a,
      url: '/v1/sharing-groups',
      body: { name: 'idem-group-race', organisationIds: [] },
      count: async () => (await a.get('/v1/sharing-groups')).json().items.filter((g: { name: string }) => g.name === 'idem-group-race').length,
      status: 201,
    },
    {
      name: 'POST /v1/indicators/:id/sightings',
      client: c,
      url: `/v1/indicators/${indicator}/sightings`,
      body: { seenAt: '2026-03-01T00:00:00Z', outcome: 'seized', count: 2 },
      count: async () => (await c.get(`/v1/indicators/${indicator}/sightings`)).json().own.length,
      status: 201,
    },
  ]
  for (const k of cases) {
    const key = unique('race-key')
    const all = await Promise.all(Array.from({ length: N }, () => k.client.post(k.url, k.body, { 'idempotency-key': key })))
    t.same([...new Set(all.map((r) => r.statusCode))], [k.status], `${k.name}: all ${N} answer ${k.status}`)
    t.equal(new Set(all.map((r) => r.body)).size, 1, `${k.name}: all ${N} carry the same result`)
    t.equal(all.filter((r) => r.headers['idempotent-replayed'] === 'true').length, N - 1, `${k.name}: ${N - 1} replays`)
    t.equal(await k.count(), 1, `${k.name}: exactly one created`)
  }
})

t.test('after all that concurrency the audit hash chain is unbroken', async (t) => {
  const auditorClient = as(app, auditor.token)
  // Chain everything committed; verify chains first too, and reports what is still pending
  // (events of transactions that were still open): ask again (bounded) until nothing is.
  await app.chainer.chainNow()
  const settled = await poll(async () => {
    const v = (await auditorClient.get('/v1/audit/verify')).json() as { ok: boolean; pending: number }
    return v.pending === 0 ? v : undefined
  }, 30)
  const v = (await auditorClient.get('/v1/audit/verify')).json() as {
    ok: boolean
    checked: number
    firstInvalid: number | null
    chainedThrough: number
    pending: number
  }
  t.ok(settled, 'the chainer caught up')
  t.equal(v.ok, true, `verify ok (checked ${v.checked}, chained through ${v.chainedThrough})`)
  t.equal(v.firstInvalid, null)
  t.equal(v.checked, v.chainedThrough, 'every chained event checked')
  t.ok(v.checked > targets.length * N * 3, `the chain covers the concurrent writes (${v.checked} events)`)
  const page = (await auditorClient.get('/v1/audit/events?limit=1000')).json() as { items: { sequence: number | null }[] }
  const seqs = page.items
    .map((e) => e.sequence)
    .filter((s): s is number => s !== null)
    .sort((x, y) => x - y)
  t.same(
    seqs,
    Array.from({ length: seqs.length }, (_, i) => (seqs[0] as number) + i),
    'sequences are gap-free',
  )
})
