// The visibility rule as a table: one owner (customs), one item per distribution plus a match_only and a
// revoked one, four viewers — and every read path checked for every (viewer, item) pair.
import t from 'tap'
import { as, buildTestApp, orgWith } from '../helper.js'
import { createGroup, ids, keysDeep, postIndicator, word, type Indicator } from './fixtures.js'

const app = await buildTestApp(t)

type ViewerKey = 'O' | 'G' | 'P' | 'N'
const O = await orgWith(app, ['reader', 'contributor', 'org_admin'], { sector: 'customs' })
const G = await orgWith(app, ['reader', 'contributor'], { sector: 'postal' }) // group member, not an authority
const P = await orgWith(app, ['reader', 'contributor'], { sector: 'police' }) // authority, not in the group
const N = await orgWith(app, ['reader', 'contributor'], { sector: 'industry' }) // neither
const viewers = { O, G, P, N }
const group = await createGroup(app, O.org_admin.token, word('group'), [G.org.id])

interface Row {
  key: string
  body: Record<string, unknown>
  /** Readable on get / list / q / related / sightings. */
  readable: ViewerKey[]
  /** Returned by POST /v1/indicators/match. */
  matched: ViewerKey[]
  revoke?: boolean
}

const ALL: ViewerKey[] = ['O', 'G', 'P', 'N']
const table: Row[] = [
  { key: 'organisation', body: { distribution: 'organisation' }, readable: ['O'], matched: ['O'] },
  { key: 'sharing_group', body: { distribution: 'sharing_group', sharingGroupId: group.id }, readable: ['O', 'G'], matched: ['O', 'G'] },
  { key: 'authorities', body: { distribution: 'authorities' }, readable: ['O', 'P'], matched: ['O', 'P'] },
  { key: 'community', body: { distribution: 'community' }, readable: ALL, matched: ALL },
  { key: 'match_only community', body: { distribution: 'community', valueVisibility: 'match_only' }, readable: ['O'], matched: ALL },
  { key: 'revoked community', body: { distribution: 'community' }, readable: ALL, matched: [], revoke: true },
]

// The items, each with a unique value and a unique word in its description (for q=).
const items = new Map<string, { row: Row; ind: Indicator; word: string }>()
for (const row of table) {
  const w = word('matrix')
  const ind = await postIndicator(app, O.contributor.token, {
    type: 'vendor_alias',
    value: `Vendor ${word('v')}`,
    description: `matrix item ${w}`,
    tlp: 'amber',
    ...row.body,
  })
  if (row.revoke) {
    const res = await as(app, O.contributor.token).delete(`/v1/indicators/${ind.id}`)
    if (res.statusCode !== 200) throw new Error(res.body)
  }
  // A sighting by the owner, so the sightings summary has something to show.
  const s = await as(app, O.contributor.token).post(`/v1/indicators/${ind.id}/sightings`, { seenAt: new Date().toISOString(), outcome: 'seized' })
  if (s.statusCode !== 201) throw new Error(s.body)
  items.set(row.key, { row, ind, word: w })
}

// Each viewer other than the owner holds a twin (own organisation only) of every item: the
// starting point for /related. (Related lists *other* organisations' items, so the owner has none.)
const twins = new Map<string, string>() // `${viewer}:${itemKey}` -> twin id
for (const v of ['G', 'P', 'N'] as const) {
  const list = [...items.values()]
  const res = await as(app, viewers[v].contributor.token).post('/v1/indicators/bulk', {
    items: list.map(({ ind }) => ({ type: ind.type, value: ind.value.toUpperCase(), distribution: 'organisation', tlp: 'amber' })),
  })
  const results = (res.json() as { results: { status: string; id: string }[] }).results
  list.forEach(({ row }, i) => {
    if (results[i]?.status !== 'created') throw new Error(`twin ${v}:${row.key} ${JSON.stringify(results[i])}`)
    twins.set(`${v}:${row.key}`, results[i].id)
  })
}

for (const v of ALL) {
  t.test(`viewer ${v} (${viewers[v].org.sector})`, async (t) => {
    const reader = as(app, viewers[v].reader.token)
    const listed = new Set(ids(await reader.get(`/v1/indicators?organisationId=${O.org.id}&limit=100`)))

    const match = await reader.post('/v1/indicators/match', {
      values: [...items.values()].map(({ ind }) => ({ type: ind.type, value: ind.value })),
    })
    t.equal(match.statusCode, 200, match.body)
    const results = (match.json() as { results: { value: string; matches: Record<string, unknown>[] }[] }).results

    ;[...items.values()].forEach(({ row, ind }, i) => {
      const r = results[i]
      t.equal(r?.value, ind.value, `${row.key}: match result ${i} lines up with its value`)
      const hit = r?.matches.find((m) => m.id === ind.id)
      t.equal(Boolean(hit), row.matched.includes(v), `${row.key}: match ${row.matched.includes(v) ? 'finds' : 'does not find'} it`)
      for (const m of r?.matches ?? []) {
        const keys = keysDeep(m)
        t.notOk(keys.has('value') || keys.has('normalizedValue'), `${row.key}: a match carries no value`)
      }
      if (hit) {
        t.equal(hit.organisationId, O.org.id)
        t.equal(hit.valueVisibility, row.body.valueVisibility ?? 'full')
      }
    })

    for (const { row, ind, word: w } of items.values()) {
      const can = row.readable.includes(v)
      const label = `${row.key} ${can ? 'visible' : 'invisible'} to ${v}`

      const get = await reader.get(`/v1/indicators/${ind.id}`)
      t.equal(get.statusCode, can ? 200 : 404, `${label}: GET`)
      if (can) {
        const body = get.json() as Indicator
        t.equal(body.value, ind.value, `${label}: GET shows the value`)
        t.equal(body.status, row.revoke ? 'revoked' : 'active', `${label}: status`)
      } else {
        t.equal(get.json().status, 404)
        t.notMatch(get.body, ind.value, `${label}: the 404 says nothing of the item`)
      }

      t.equal(listed.has(ind.id), can, `${label}: list`)

      const q = await reader.get(`/v1/indicators?q=${w}&organisationId=${O.org.id}`)
      t.equal(q.statusCode, 200)
      t.strictSame(ids(q), can ? [ind.id] : [], `${label}: q=`)

      const byValue = await reader.get(`/v1/indicators?type=vendor_alias&value=${encodeURIComponent(ind.value)}&organisationId=${O.org.id}`)
      t.strictSame(ids(byValue), can ? [ind.id] : [], `${label}: value=`)

      if (v !== 'O') {
        const twin = twins.get(`${v}:${row.key}`)
        const rel = await reader.get(`/v1/indicators/${twin}/related`)
        t.equal(rel.statusCode, 200, `${label}: related answers`)
        t.equal(ids(rel).includes(ind.id), can, `${label}: related`)
        t.notOk(ids(rel).includes(twin as string), 'related never lists the indicator itself')
      }

      // Reporting a sighting needs only that the distribution reaches the viewer (a match_only
      // id is learned from a match), so it follows the union of the two columns.
      const reportable = can || row.matched.includes(v)
      const report = await as(app, viewers[v].contributor.token).post(`/v1/indicators/${ind.id}/sightings`, { seenAt: '2026-01-01T00:00:00Z', outcome: 'seen' })
      t.equal(report.statusCode, reportable ? 201 : 404, `${label}: POST sighting`)

      const sightings = await reader.get(`/v1/indicators/${ind.id}/sightings`)
      t.equal(sightings.statusCode, can ? 200 : 404, `${label}: sightings`)
      if (can) {
        const s = sightings.json() as { items: { organisationId: string; outcome: string; count: number }[] }
        t.ok(
          s.items.some((x) => x.organisationId === O.org.id && x.outcome === 'seized' && x.count === 1),
          `${label}: sighting counts travel with it`,
        )
      }
    }
  })
}

t.test('revoked items: kept and visible, listed under status=revoked, never matched', async (t) => {
  const rev = items.get('revoked community')
  if (!rev) throw new Error('missing item')
  for (const v of ALL) {
    const reader = as(app, viewers[v].reader.token)
    const r = await reader.get(`/v1/indicators?status=revoked&organisationId=${O.org.id}`)
    t.strictSame(ids(r), [rev.ind.id], `${v}: status=revoked lists it`)
    const a = await reader.get(`/v1/indicators?status=active&organisationId=${O.org.id}`)
    t.notOk(ids(a).includes(rev.ind.id), `${v}: status=active does not`)
    const m = await reader.post('/v1/indicators/match', { values: [{ value: rev.ind.value }] })
    t.notOk(JSON.stringify(m.json()).includes(rev.ind.id), `${v}: untyped match does not find it either`)
  }
  // Revoking twice is harmless and keeps it revoked.
  const again = await as(app, O.contributor.token).delete(`/v1/indicators/${rev.ind.id}`)
  t.equal(again.statusCode, 200)
  t.equal(again.json().status, 'revoked')
})

t.test('an invisible item answers exactly like one that does not exist', async (t) => {
  const org = items.get('organisation')
  if (!org) throw new Error('missing item')
  const reader = as(app, N.reader.token)
  const invisible = await reader.get(`/v1/indicators/${org.ind.id}`)
  const missing = await reader.get('/v1/indicators/00000000-0000-4000-8000-000000000001')
  t.equal(invisible.statusCode, 404)
  t.equal(missing.statusCode, 404)
  const strip = (b: Record<string, unknown>) => ({ ...b, requestId: undefined })
  t.strictSame(strip(invisible.json()), strip(missing.json()), 'same problem body')
})
