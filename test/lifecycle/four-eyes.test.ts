// Four-eyes publication (DESIGN §7): with the owner's fourEyes on, TLP red, personal-data and
// match_only indicators and TLP red notes start as drafts on every way in; drafts are the own
// organisation's only, never matched, never in the change feed, STIX export or TAXII; another
// account (contributor+, not the author) approves or sends back; a PATCH that would need review
// on a published item is 409 while the setting is on.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { as, buildTestApp, createAccount, json, orgWith, unique } from '../helper.js'
import { problem } from '../foundation/support.js'
import { eventsOf } from './support.js'
import { taxii } from '../interop/support.js'

const app = await buildTestApp(t)
const O = await orgWith(app, ['reader', 'contributor', 'org_admin'], { sector: 'police', fourEyes: true })
const second = await createAccount(app, O.org.id, ['contributor'])
const X = await orgWith(app, ['reader', 'contributor'], { sector: 'customs' })
const author = as(app, O.contributor.token)
const reviewer = as(app, second.token)

type Item = { id: string; status: string; version: number; review: null | { sentBackReason: string; sentBackBy: string; sentBackAt: string } }

const ind = (extra: Record<string, unknown> = {}) => ({ type: 'vendor_alias', value: unique('fe'), distribution: 'community', tlp: 'green', ...extra })

t.test('the default is on; what starts as a draft and what does not', async (t) => {
  const cases: [Record<string, unknown>, string][] = [
    [ind(), 'active'],
    [ind({ tlp: 'red', distribution: 'organisation' }), 'draft'],
    [ind({ valueVisibility: 'match_only' }), 'draft'],
    [{ type: 'email', value: `${unique('p')}@example.org`, distribution: 'community' }, 'draft'],
    [{ type: 'person_name', value: unique('Jan Jansen'), distribution: 'community' }, 'draft'],
    [ind({ tlp: 'amber' }), 'active'],
  ]
  for (const [body, want] of cases) {
    const res = await author.post('/v1/indicators', body)
    t.equal(res.statusCode, 201, res.body)
    t.equal(json(res).status, want, `${body.type} tlp=${body.tlp ?? 'amber'} ${body.valueVisibility ?? 'full'}: ${want}`)
  }
  const bulk = json<{ results: { id: string }[] }>(
    await author.post('/v1/indicators/bulk', { items: [ind({ tlp: 'red', distribution: 'organisation' }), ind()] }),
  )
  t.same(
    await Promise.all(bulk.results.map(async (r) => json<Item>(await author.get(`/v1/indicators/${r.id}`)).status)),
    ['draft', 'active'],
    'bulk: the same decision per item',
  )
  const stix = json<{ results: { indicatorId: string }[] }>(
    await author.post('/v1/import/stix?distribution=community', {
      type: 'bundle',
      id: `bundle--${randomUUID()}`,
      objects: [
        {
          type: 'indicator',
          spec_version: '2.1',
          id: `indicator--${randomUUID()}`,
          created: '2026-01-01T00:00:00.000Z',
          modified: '2026-01-01T00:00:00.000Z',
          pattern: `[email-addr:value = '${unique('s')}@example.org']`,
          pattern_type: 'stix',
          valid_from: '2026-01-01T00:00:00.000Z',
        },
      ],
    }),
  )
  t.equal(json<Item>(await author.get(`/v1/indicators/${stix.results[0]?.indicatorId}`)).status, 'draft', 'STIX import: a personal-data type is a draft')

  const note = (tlp: string) =>
    author.post('/v1/notes', { title: unique('n'), summary: 's', body: 'b', topics: ['training'], tlp, distribution: 'organisation' })
  t.equal(json(await note('red')).status, 'draft', 'a TLP red note is a draft')
  t.equal(json(await note('amber')).status, 'published')

  // The setting off: everything publishes at once.
  const off = await orgWith(app, ['contributor'], { fourEyes: false })
  t.equal(json(await as(app, off.contributor.token).post('/v1/indicators', ind({ tlp: 'red', distribution: 'organisation' }))).status, 'active')
})

t.test('a draft: own organisation only, never matched, not in feed or exports — not even for the owner', async (t) => {
  const value = unique('never')
  const draft = json<Item>(await author.post('/v1/indicators', { type: 'vendor_alias', value, valueVisibility: 'match_only', distribution: 'community' }))
  t.equal(draft.status, 'draft')
  t.equal((await as(app, O.reader.token).get(`/v1/indicators/${draft.id}`)).statusCode, 200, 'the own organisation reads it')
  problem(t, await as(app, X.reader.token).get(`/v1/indicators/${draft.id}`), 404)
  for (const who of [X.reader.token, O.reader.token]) {
    const m = json<{ results: { matches: unknown[] }[] }>(await as(app, who).post('/v1/indicators/match', { values: [{ type: 'vendor_alias', value }] }))
    t.same(m.results[0]?.matches, [], 'never matched')
  }
  const exported = (await as(app, O.reader.token).get(`/v1/export/stix?organisationId=${O.org.id}`)).body
  t.notOk(exported.includes(draft.id), 'not in the owner’s own STIX export')

  // TAXII: the organisation's own collection serves its published items, never its drafts.
  const shown = json<Item>(await author.post('/v1/indicators', ind({ distribution: 'organisation' })))
  const hidden = json<Item>(await author.post('/v1/indicators', ind({ distribution: 'organisation', tlp: 'red' })))
  t.equal(hidden.status, 'draft')
  let served: string[] = []
  for (let i = 0; i < 100 && !served.includes(`indicator--${shown.id}`); i++) {
    const r = await taxii(app, O.reader.token).get(`/taxii2/dcx/collections/${O.org.id}/objects/?match[type]=indicator`)
    served = ((r.json() as { objects?: { id: string }[] }).objects ?? []).map((o) => o.id)
    if (!served.includes(`indicator--${shown.id}`)) await new Promise((res) => setTimeout(res, 100))
  }
  t.ok(served.includes(`indicator--${shown.id}`), 'TAXII serves the published item')
  t.notOk(served.includes(`indicator--${hidden.id}`), 'TAXII never serves the draft, not even to its owner')

  // The feed, from its head: the draft never; once approved, it appears.
  type Page = { items: { id: string; indicator?: Item }[]; nextCursor: string | null; hasMore: boolean }
  let head = json<Page>(await as(app, O.reader.token).get('/v1/changes?limit=1000'))
  while (head.hasMore) head = json<Page>(await as(app, O.reader.token).get(`/v1/changes?limit=1000&cursor=${head.nextCursor}`))
  const marker = json<Item>(await author.post('/v1/indicators', ind()))
  const other = json<Item>(await author.post('/v1/indicators', ind({ tlp: 'red', distribution: 'organisation' })))
  let page: Page = { items: [], nextCursor: null, hasMore: false }
  for (let i = 0; i < 100; i++) {
    page = json<Page>(await as(app, O.reader.token).get(`/v1/changes?limit=1000${head.nextCursor ? `&cursor=${head.nextCursor}` : ''}`))
    if (page.items.some((c) => c.id === marker.id)) break
    await new Promise((r) => setTimeout(r, 100))
  }
  t.ok(
    page.items.some((c) => c.id === marker.id),
    'the published item is in the feed',
  )
  t.notOk(
    page.items.some((c) => c.id === other.id),
    'the draft is not, even for its owner',
  )
  t.equal((await reviewer.post(`/v1/indicators/${other.id}/approve`, {})).statusCode, 200)
  let found = false
  for (let i = 0; i < 100 && !found; i++) {
    const p = json<Page>(await as(app, O.reader.token).get(`/v1/changes?limit=1000${head.nextCursor ? `&cursor=${head.nextCursor}` : ''}`))
    found = p.items.some((c) => c.id === other.id && c.indicator?.status === 'active')
    if (!found) await new Promise((r) => setTimeout(r, 100))
  }
  t.ok(found, 'approved: now in the feed, active')
})

for (const kind of ['indicators', 'notes'] as const) {
  t.test(`${kind}: send back, edit, approve by another account; the author may not`, async (t) => {
    const body =
      kind === 'indicators'
        ? ind({ tlp: 'red', distribution: 'organisation' })
        : { title: unique('n'), summary: 's', body: 'b', topics: ['training'], tlp: 'red', distribution: 'organisation' }
    const draft = json<Item>(await author.post(`/v1/${kind}`, body))
    t.match(draft, { status: 'draft', version: 1, review: null })

    const self = problem(t, await author.post(`/v1/${kind}/${draft.id}/approve`, {}), 403)
    t.match(self.detail, /Four-eyes rule.*not the author/, 'the 403 names the rule')
    problem(t, await author.post(`/v1/${kind}/${draft.id}/send-back`, { reason: 'mine' }), 403)
    problem(t, await as(app, O.reader.token).post(`/v1/${kind}/${draft.id}/approve`, {}), 403)
    problem(t, await as(app, X.contributor.token).post(`/v1/${kind}/${draft.id}/approve`, {}), 404)
    problem(t, await reviewer.post(`/v1/${kind}/${draft.id}/send-back`, {}), 400, ['body.reason'])

    const sent = await reviewer.post(`/v1/${kind}/${draft.id}/send-back`, { reason: 'Source grading is missing' })
    t.equal(sent.statusCode, 200, sent.body)
    t.match(json(sent), { status: 'draft', version: 2, review: { sentBackReason: 'Source grading is missing', sentBackBy: second.id, sentBackAt: String } })
    t.match((await eventsOf(app, sent))[0], {
      action: `${kind.slice(0, -1)}.send_back`,
      details: { author: O.contributor.id, reason: 'Source grading is missing' },
    })
    t.match(
      json(await as(app, O.reader.token).get(`/v1/${kind}/${draft.id}`)).review,
      { sentBackReason: 'Source grading is missing' },
      'the organisation sees why',
    )

    const edited = await author.patch(`/v1/${kind}/${draft.id}`, kind === 'indicators' ? { reliability: 'B' } : { summary: 'graded' })
    t.equal(json(edited).status, 'draft', 'an edit keeps it a draft')

    const approved = await reviewer.post(`/v1/${kind}/${draft.id}/approve`, {})
    t.equal(approved.statusCode, 200, approved.body)
    t.match(json(approved), { status: kind === 'indicators' ? 'active' : 'published', version: 4, review: null })
    t.match((await eventsOf(app, approved))[0], {
      action: `${kind.slice(0, -1)}.approve`,
      resourceId: draft.id,
      details: { author: O.contributor.id, version: 4 },
    })
    problem(t, await reviewer.post(`/v1/${kind}/${draft.id}/approve`, {}), 409)
    problem(t, await as(app, O.org_admin.token).post(`/v1/${kind}/${randomUUID()}/approve`, {}), 404)
  })
}

t.test('PATCH: a published item cannot become red or match_only while four-eyes is on', async (t) => {
  const item = json<Item>(await author.post('/v1/indicators', ind({ distribution: 'organisation' })))
  problem(t, await author.patch(`/v1/indicators/${item.id}`, { tlp: 'red' }), 409)
  problem(t, await author.patch(`/v1/indicators/${item.id}`, { valueVisibility: 'match_only' }), 409)
  const note = json<Item>(await author.post('/v1/notes', { title: unique('n'), summary: 's', body: 'b', topics: ['training'], distribution: 'organisation' }))
  problem(t, await author.patch(`/v1/notes/${note.id}`, { tlp: 'red' }), 409)
  t.equal(json(await author.get(`/v1/indicators/${item.id}`)).version, 1, 'unchanged')
  await as(app, O.org_admin.token).patch(`/v1/organisations/${O.org.id}/settings`, { fourEyes: false })
  t.teardown(() => as(app, O.org_admin.token).patch(`/v1/organisations/${O.org.id}/settings`, { fourEyes: true }))
  const red = await author.patch(`/v1/indicators/${item.id}`, { tlp: 'red' })
  t.equal(red.statusCode, 200, 'with four-eyes off, the edit is allowed')
  t.equal(json(red).status, 'active')
})

t.test('stats count what was shared: a draft is not counted until approved', async (t) => {
  const draft = json<Item>(await author.post('/v1/indicators', ind({ tlp: 'red', distribution: 'organisation', countries: ['LI'] })))
  t.equal(draft.status, 'draft')
  type Stats = { indicators: { byStatus: { key: string }[]; byCountry: { key: string; count: number }[] } }
  const stats = async () => json<Stats>(await as(app, O.reader.token).get('/v1/stats'))
  const liechtenstein = (s: Stats) => s.indicators.byCountry.find((b) => b.key === 'LI')?.count ?? 0
  const before = await stats()
  t.notOk(
    before.indicators.byStatus.some((b) => b.key === 'draft'),
    'no draft bucket, though the organisation holds drafts',
  )
  t.equal((await reviewer.post(`/v1/indicators/${draft.id}/approve`, {})).statusCode, 200)
  t.equal(liechtenstein(await stats()), liechtenstein(before) + 1, 'approved: counted')
})
