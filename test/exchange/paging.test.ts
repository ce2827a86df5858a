// Keyset paging (the list convention): newest first by (createdAt, id); items inserted while a client
// pages land before page one, so no item is skipped or repeated. Cursors that the endpoint did
// not issue are a 400, never a 500 or an empty page.
import t from 'tap'
import { as, buildTestApp, isProblem, orgWith } from '../helper.js'
import { postIndicator, vendorAlias } from './fixtures.js'

const app = await buildTestApp(t)

interface Page {
  items: { id: string; createdAt: string }[]
  nextCursor: string | null
}

async function pageAll(reader: ReturnType<typeof as>, orgId: string, limit: number, between: () => Promise<void>) {
  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res = await reader.get(`/v1/indicators?organisationId=${orgId}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`)
    if (res.statusCode !== 200) throw new Error(res.body)
    const page = res.json() as Page
    seen.push(...page.items.map((i) => i.id))
    cursor = page.nextCursor
    pages++
    await between()
  } while (cursor && pages < 100)
  return { seen, pages }
}

for (const mode of ['one by one', 'bulk (one createdAt for all: ties broken by id)'] as const) {
  t.test(`7 items, limit 3, 3 inserted between page fetches — ${mode}`, async (t) => {
    const { org, contributor, reader } = await orgWith(app, ['contributor', 'reader'], { sector: 'police' })
    let originals: string[]
    if (mode === 'one by one') {
      originals = []
      for (let i = 0; i < 7; i++) originals.push((await postIndicator(app, contributor.token, vendorAlias({ description: `orig ${i}` }))).id)
    } else {
      const res = await as(app, contributor.token).post('/v1/indicators/bulk', { items: Array.from({ length: 7 }, () => vendorAlias()) })
      originals = (res.json() as { results: { id: string }[] }).results.map((r) => r.id)
      const all = (await as(app, reader.token).get(`/v1/indicators?organisationId=${org.id}`)).json() as Page
      t.equal(new Set(all.items.map((i) => i.createdAt)).size, 1, 'all seven share one createdAt')
    }

    const inserted: string[] = []
    let n = 0
    const { seen, pages } = await pageAll(as(app, reader.token), org.id, 3, async () => {
      if (n++ < 3) inserted.push((await postIndicator(app, contributor.token, vendorAlias({ description: 'late' }))).id)
    })
    t.equal(pages, 3, '7 items in pages of 3 (3 + 3 + 1)')
    t.equal(new Set(seen).size, seen.length, 'no item twice')
    for (const id of originals) t.equal(seen.filter((s) => s === id).length, 1, `original ${id.slice(0, 8)} exactly once`)
    t.strictSame(
      seen.filter((s) => !originals.includes(s)),
      [],
      'the late inserts are newer than the cursor, so they are not in later pages',
    )
    // Order: newest first.
    const fresh = await pageAll(as(app, reader.token), org.id, 4, async () => {})
    t.equal(fresh.seen.length, 10, 'a fresh pass sees all ten')
    t.strictSame(fresh.seen.slice(0, 3).sort(), [...inserted].sort(), 'the late ones first')
    t.equal(new Set(fresh.seen).size, 10)
  })
}

t.test('pages with filters and a revocation in between stay consistent', async (t) => {
  const { org, contributor, reader } = await orgWith(app, ['contributor', 'reader'], { sector: 'customs' })
  const items = []
  for (let i = 0; i < 5; i++) items.push(await postIndicator(app, contributor.token, vendorAlias({ tags: ['paged'] })))
  const r = as(app, reader.token)
  const p1 = (await r.get(`/v1/indicators?organisationId=${org.id}&tag=paged&limit=2`)).json() as Page
  // Revoking an item already seen changes nothing about where page two starts.
  await as(app, contributor.token).delete(`/v1/indicators/${p1.items[0]?.id}`)
  const p2 = (await r.get(`/v1/indicators?organisationId=${org.id}&tag=paged&limit=2&cursor=${p1.nextCursor}`)).json() as Page
  const p3 = (await r.get(`/v1/indicators?organisationId=${org.id}&tag=paged&limit=2&cursor=${p2.nextCursor}`)).json() as Page
  t.equal(p3.nextCursor, null)
  t.strictSame(
    [...p1.items, ...p2.items, ...p3.items].map((i) => i.id),
    items.map((i) => i.id).reverse(),
  )
})

t.test('bad cursors and limits are 400 naming the parameter', async (t) => {
  const { reader } = await orgWith(app, ['reader'])
  const r = as(app, reader.token)
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const bad = {
    garbage: 'not-a-cursor!!',
    'not JSON': Buffer.from('{{{').toString('base64url'),
    'wrong shape': enc(['2024-01-01T00:00:00.000Z']),
    'number instead of string': enc([1, 2]),
    'not a timestamp': enc(['yesterday', '00000000-0000-4000-8000-000000000000']),
    'not a uuid': enc(['2024-01-01T00:00:00.000Z', 'not-a-uuid']),
    'huge year': enc(['+275760-09-13T00:00:00.000Z', '00000000-0000-4000-8000-000000000000']),
    object: enc({ at: '2024-01-01T00:00:00.000Z' }),
  }
  for (const [what, cursor] of Object.entries(bad)) {
    const p = isProblem(t, await r.get(`/v1/indicators?cursor=${encodeURIComponent(cursor)}`), 400)
    t.match(p.errors, [{ name: 'query.cursor' }], `${what}: names query.cursor`)
  }
  isProblem(t, await r.get('/v1/indicators?cursor='), 400)
  for (const limit of ['0', '501', '-1', 'ten', '1.5']) {
    const p = isProblem(t, await r.get(`/v1/indicators?limit=${limit}`), 400)
    t.match(p.errors, [{ name: 'query.limit' }], `limit=${limit}`)
  }
  // A well-formed cursor from the far past simply ends the list.
  const past = await r.get(`/v1/indicators?cursor=${enc(['2000-01-01T00:00:00.000Z', '00000000-0000-4000-8000-000000000000'])}`)
  t.equal(past.statusCode, 200)
  t.strictSame(past.json(), { items: [], nextCursor: null })
})
