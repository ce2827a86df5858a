import t from 'tap'
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { as, buildTestApp, isProblem, json, orgWith } from '../helper.js'

interface Change {
  kind: string
  id: string
  action: string
  version: number
}
interface ChangePage {
  items: Change[]
  nextCursor: string | null
  hasMore: boolean
}

// One app for the file: each case starts from the feed's current head and makes its own items.
const app = await buildTestApp(t)

t.test('feed: created, updated, revoked in order; cursor only moves forward', async (t) => {
  const owner = await orgWith(app, ['contributor'], { sector: 'customs' })
  const viewer = await orgWith(app, ['reader'], { sector: 'postal' })
  const A = as(app, owner.contributor.token)
  const V = as(app, viewer.reader.token)

  // Start from the current head so other test files' items do not matter.
  let head = json<ChangePage>(await V.get('/v1/changes?limit=1000'))
  while (head.hasMore) head = json<ChangePage>(await V.get(`/v1/changes?limit=1000&cursor=${head.nextCursor}`))
  const start = head.nextCursor

  const shared = json<{ id: string }>(await A.post('/v1/indicators', { type: 'domain', value: 'feed-shared.example', distribution: 'community', tlp: 'green' }))
  const hidden = json<{ id: string }>(await A.post('/v1/indicators', { type: 'domain', value: 'feed-hidden.example', distribution: 'organisation' }))
  const noteRes = await A.post('/v1/notes', { title: 'Feed note', summary: 's', body: 'b', topics: ['training'], distribution: 'community', tlp: 'clear' })
  t.equal(noteRes.statusCode, 201, noteRes.body)
  await A.patch(`/v1/indicators/${shared.id}`, { confidence: 90 })
  await A.delete(`/v1/indicators/${shared.id}`)

  const ours = (p: ChangePage) => p.items.filter((c) => c.id === shared.id || c.id === hidden.id || c.id === json<{ id: string }>(noteRes).id)
  // On a shared PostgreSQL, other files' open transactions may hold the horizon back briefly.
  let page = json<ChangePage>(await V.get(`/v1/changes${start ? `?cursor=${start}` : ''}`))
  for (let i = 0; i < 100 && ours(page).length < 2; i++) {
    await new Promise((r) => setTimeout(r, 100))
    page = json<ChangePage>(await V.get(`/v1/changes${start ? `?cursor=${start}` : ''}`))
  }
  const mine = ours(page)
  t.same(
    mine.map((c) => `${c.kind}:${c.action}`),
    ['note:created', 'indicator:revoked'],
    'the feed shows each visible item once, at its latest change; the hidden item never',
  )
  t.notOk(
    page.items.some((c) => c.id === hidden.id),
    'organisation-only item absent',
  )
  const again = json<ChangePage>(await V.get(`/v1/changes?cursor=${page.nextCursor}`))
  t.notOk(
    again.items.some((c) => c.id === shared.id),
    'nothing repeats after the cursor',
  )
  t.equal(again.nextCursor, page.nextCursor, 'an empty poll keeps the cursor')

  isProblem(t, await V.get('/v1/changes?cursor=bogus'), 400)
})

t.test('cursors are opaque and unforgeable; bound to the caller; hidden writes leave no trace', async (t) => {
  const app = await buildTestApp(t)
  const owner = await orgWith(app, ['contributor'], { sector: 'customs' })
  const viewer = await orgWith(app, ['reader'], { sector: 'postal' })
  const other = await orgWith(app, ['reader'], { sector: 'police' })
  const A = as(app, owner.contributor.token)
  const V = as(app, viewer.reader.token)
  let head = json<ChangePage>(await V.get('/v1/changes?limit=1000'))
  while (head.hasMore) head = json<ChangePage>(await V.get(`/v1/changes?limit=1000&cursor=${head.nextCursor}`))

  const post = async (distribution: string) => {
    const res = await A.post('/v1/indicators', { type: 'vendor_alias', value: `feed ${randomUUID()}`, distribution, tlp: 'green' })
    t.equal(res.statusCode, 201, res.body)
    return json<{ id: string }>(res).id
  }
  const pollUntil = async (cursor: string | null, id: string) => {
    let page = json<ChangePage>(await V.get(`/v1/changes?limit=1000${cursor ? `&cursor=${cursor}` : ''}`))
    for (let i = 0; i < 100 && !page.items.some((c) => c.id === id); i++) {
      await new Promise((r) => setTimeout(r, 100))
      page = json<ChangePage>(await V.get(`/v1/changes?limit=1000${cursor ? `&cursor=${cursor}` : ''}`))
    }
    t.ok(
      page.items.some((c) => c.id === id),
      'the visible change arrives',
    )
    return page
  }
  const first = await pollUntil(head.nextCursor, await post('community'))
  // Hidden writes (organisation-only) between two visible ones.
  for (let i = 0; i < 5; i++) await post('organisation')
  const second = await pollUntil(first.nextCursor, await post('community'))
  const c1 = first.nextCursor as string
  const c2 = second.nextCursor as string

  for (const c of [c1, c2]) {
    t.match(c, /^[A-Za-z0-9_-]+$/, 'base64url')
    t.throws(() => JSON.parse(Buffer.from(c, 'base64url').toString('utf8')), 'no readable position inside')
  }
  t.equal(c1.length, c2.length, 'the same length wherever the feed stands: nothing to count')

  const problemAt = async (cursor: string, who = V) => {
    const p = isProblem(t, await who.get(`/v1/changes?cursor=${encodeURIComponent(cursor)}`), 400)
    t.match(p.errors, [{ name: 'query.cursor' }])
  }
  // The former readable form, with any position a caller might make up.
  const plain = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  for (const forged of [plain(['0', 0]), plain(['1', 1]), plain(['99999999999', 5])]) await problemAt(forged)
  // Any altered byte.
  const bytes = Buffer.from(c2, 'base64url')
  for (const i of [0, 1, Math.floor(bytes.length / 2), bytes.length - 1]) {
    const altered = Buffer.from(bytes)
    altered[i] = (altered[i] ?? 0) ^ 0x01
    await problemAt(altered.toString('base64url'))
  }
  await problemAt(c2.slice(0, -2))
  await problemAt(c2 + 'AA')
  // Another organisation cannot use (or learn from) this caller's cursor.
  await problemAt(c2, as(app, other.reader.token))
  // The genuine one still works and only moves forward.
  const again = json<ChangePage>(await V.get(`/v1/changes?cursor=${c2}`))
  t.equal(again.nextCursor, c2, 'an empty poll keeps the cursor')
  t.equal(json<ChangePage>(await V.get(`/v1/changes?cursor=${c1}&limit=1000`)).items.length >= 1, true, 'an older genuine cursor replays from there')
})

// Needs two concurrent transactions: a real PostgreSQL server.
t.test('a transaction that commits late is never skipped', { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL (PostgreSQL)' }, async (t) => {
  const owner = await orgWith(app, ['contributor'], { sector: 'customs' })
  const viewer = await orgWith(app, ['reader'], { sector: 'police' })
  const V = as(app, viewer.reader.token)
  let head = json<ChangePage>(await V.get('/v1/changes?limit=1000'))
  while (head.hasMore) head = json<ChangePage>(await V.get(`/v1/changes?limit=1000&cursor=${head.nextCursor}`))

  // T1 starts first and writes first, but commits last.
  const slow = new pg.Client({ connectionString: process.env.DATABASE_URL, options: '-c role=dcx_app' })
  await slow.connect()
  t.teardown(() => slow.end())
  await slow.query('BEGIN')
  await slow.query("select set_config('dcx.org_id', $1, true)", [owner.org.id])
  const { rows } = await slow.query(
    `insert into indicators (organisation_id, type, value, normalized_value, tlp, distribution)
     values ($1, 'domain', 'late.example', 'late.example', 'green', 'community') returning id`,
    [owner.org.id],
  )
  const lateId = rows[0].id as string

  const fast = json<{ id: string }>(
    await as(app, owner.contributor.token).post('/v1/indicators', { type: 'domain', value: 'early.example', distribution: 'community', tlp: 'green' }),
  )
  const before = json<ChangePage>(await V.get(`/v1/changes?cursor=${head.nextCursor}&limit=1000`))
  t.notOk(
    before.items.some((c) => c.id === fast.id),
    'the later commit is held back while an older transaction is open',
  )

  await slow.query('COMMIT')
  // Other test files' transactions may hold the horizon back a moment longer: poll, as a partner would.
  let ids: string[] = []
  for (let i = 0; i < 100 && !(ids.includes(lateId) && ids.includes(fast.id)); i++) {
    if (i) await new Promise((r) => setTimeout(r, 100))
    ids = json<ChangePage>(await V.get(`/v1/changes?cursor=${before.nextCursor ?? head.nextCursor}&limit=1000`)).items.map((c) => c.id)
  }
  t.ok(ids.includes(lateId), 'the late commit is delivered')
  t.ok(ids.includes(fast.id), 'the early commit is delivered')
  t.ok(ids.indexOf(lateId) < ids.indexOf(fast.id), 'in transaction order')
})
