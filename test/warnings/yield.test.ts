// Yield (DESIGN §8): per indicator, matches (counted in the match transaction) and sightings by
// outcome, yield = seized / (seized + nothing_found + false_positive), shown to the owner only
// (others 404); the counts are readable by their owner only and written only through
// dcx_count_matches(), which counts only what the caller may see.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { as, buildTestApp, json, orgWith } from '../helper.js'
import { rows } from '../../src/db/client.js'
import { forMatching, withActor } from '../../src/access/visibility.js'
import { actorFor, word } from '../exchange/fixtures.js'

const app = await buildTestApp(t)
const A = await orgWith(app, ['contributor', 'reader'], { sector: 'police' })
const B = await orgWith(app, ['contributor'], { sector: 'customs' })
const V = await orgWith(app, ['reader', 'org_admin'], { sector: 'postal' })
const P = await orgWith(app, ['platform_admin'], { sector: 'police' })
const run = word('yl')

async function bulk(token: string, items: Record<string, unknown>[]): Promise<string[]> {
  const res = await as(app, token).post('/v1/indicators/bulk', { items: items.map((i) => ({ tlp: 'green', distribution: 'community', ...i })) })
  const out = json<{ results: { status: string; id?: string }[] }>(res).results
  if (res.statusCode !== 200 || out.some((r) => r.status !== 'created')) throw new Error(`fixture: ${res.body.slice(0, 300)}`)
  return out.map((r) => r.id as string)
}
async function match(token: string, values: { type?: string; value: string }[]) {
  const res = await as(app, token).post('/v1/indicators/match', { values })
  if (res.statusCode !== 200) throw new Error(`match: ${res.statusCode} ${res.body}`)
}

t.test('yield: matches and sightings by outcome, to the owner only', async (t) => {
  const value = `${run} yield vendor`
  const [id, quiet] = await bulk(A.contributor.token, [
    { type: 'vendor_alias', value },
    { type: 'vendor_alias', value: `${run} quiet` },
  ])
  const [hidden] = await bulk(B.contributor.token, [{ type: 'vendor_alias', value: `${run} hidden`, distribution: 'organisation', tlp: 'amber' }])
  const [matchOnly] = await bulk(B.contributor.token, [{ type: 'email', value: `${run}@example.org`, valueVisibility: 'match_only', tlp: 'amber' }])

  // Two values of one call match it, then one more call: 3 matches.
  await match(V.reader.token, [{ type: 'vendor_alias', value }, { value: value.toUpperCase() }, { type: 'email', value: `${run}@EXAMPLE.org` }])
  await match(B.contributor.token, [{ type: 'vendor_alias', value }])
  const report = async (outcome: string, count: number) => {
    const res = await as(app, V.org_admin.token).post(`/v1/indicators/${id}/sightings`, { seenAt: new Date().toISOString(), outcome, count })
    t.equal(res.statusCode, 201, res.body)
  }
  await report('seized', 2)
  await report('nothing_found', 1)
  await report('false_positive', 1)
  await report('seen', 5)

  const res = await as(app, A.reader.token).get(`/v1/indicators/${id}/yield`)
  t.equal(res.statusCode, 200, res.body)
  const y = json<{ matches: number; lastMatchedAt: string | null; sightings: Record<string, number>; sightingReports: number; yield: number | null }>(res)
  t.equal(y.matches, 3, 'each value that returned it counts')
  t.ok(y.lastMatchedAt && Date.parse(y.lastMatchedAt) > 0)
  t.same(y.sightings, { seen: 5, seized: 2, nothing_found: 1, controlled_delivery: 0, false_positive: 1 })
  t.equal(y.sightingReports, 4)
  t.equal(y.yield, 0.5, 'seized / (seized + nothing_found + false_positive)')

  const none = json<{ matches: number; lastMatchedAt: null; yield: null }>(await as(app, A.contributor.token).get(`/v1/indicators/${quiet}/yield`))
  t.match(none, { matches: 0, lastMatchedAt: null, yield: null }, 'never matched, no outcomes: 0 and null')

  // Others who can see the item, others who cannot, an unknown id: all 404.
  for (const [who, ind] of [
    [V.reader.token, id],
    [B.contributor.token, id],
    [A.reader.token, hidden],
    [A.reader.token, '00000000-0000-4000-8000-000000000000'],
  ] as const) {
    const r = await as(app, who).get(`/v1/indicators/${ind}/yield`)
    t.equal(r.statusCode, 404, `404: ${r.body.slice(0, 80)}`)
  }
  t.equal((await as(app, P.platform_admin.token).get(`/v1/indicators/${id}/yield`)).statusCode, 403, 'not a reader: 403')
  t.equal((await as(app, undefined).get(`/v1/indicators/${id}/yield`)).statusCode, 401)

  // A match_only holding matched by another organisation is counted for its owner.
  const mo = json<{ matches: number }>(await as(app, B.contributor.token).get(`/v1/indicators/${matchOnly}/yield`))
  t.equal(mo.matches, 1, "a match_only holding's matches reach its owner")
})

t.test('the counts are the owner’s: row-level security and no direct writes', async (t) => {
  const counted = (org: typeof A.org) =>
    withActor(app.db, actorFor(org), (tx) => rows<{ n: string | number }>(tx, sql`select count(*) as n from indicator_match_counts`))
  t.ok(Number((await counted(A.org))[0]?.n) > 0, 'the owner reads its counts')
  t.equal(Number((await counted(V.org))[0]?.n), 0, 'the matcher reads none')
  const ids = await bulk(A.contributor.token, [{ type: 'vendor_alias', value: `${run} direct` }])
  await t.rejects(
    withActor(app.db, actorFor(A.org), (tx) =>
      rows(tx, sql`insert into indicator_match_counts (indicator_id, organisation_id, matches) values (${ids[0]}, ${A.org.id}, 1000)`),
    ),
    'the service role cannot write the counts directly',
  )
  // dcx_count_matches counts only what the caller may see: B's private item stays at 0.
  const [hidden] = await bulk(B.contributor.token, [{ type: 'vendor_alias', value: `${run} hidden2`, distribution: 'organisation', tlp: 'amber' }])
  await withActor(app.db, actorFor(V.org), async (tx) => {
    await forMatching(tx)
    await rows(tx, sql`select dcx_count_matches(${`{${hidden}}`}::uuid[], '{5}'::int[])`)
  })
  const y = json<{ matches: number }>(await as(app, B.contributor.token).get(`/v1/indicators/${hidden}/yield`))
  t.equal(y.matches, 0, 'an item the caller cannot see is not counted')
})

t.test('matches are appended, folded on a timer and before every read: the count is exact either way', async (t) => {
  const value = `${run} folded`
  const [id] = await bulk(A.contributor.token, [{ type: 'vendor_alias', value }])
  // Concurrent calls over the same indicator: each appends its own row, none waits on another.
  await Promise.all([0, 1, 2, 3].map(() => match(V.reader.token, [{ type: 'vendor_alias', value }])))
  t.ok((await app.matchCountFolder.runOnce()) >= 1, 'the fold writes the counts')
  await match(B.contributor.token, [{ type: 'vendor_alias', value }, { value }])
  const y = json<{ matches: number; lastMatchedAt: string | null }>(await as(app, A.reader.token).get(`/v1/indicators/${id}/yield`))
  t.equal(y.matches, 6, 'folded (4) and not yet folded (2) are both counted')
  t.equal(await app.matchCountFolder.runOnce(), 0, 'the read folded what was left')
  const again = json<{ matches: number }>(await as(app, A.reader.token).get(`/v1/indicators/${id}/yield`))
  t.equal(again.matches, 6, 'a fold never counts a row twice')
  await t.rejects(
    withActor(app.db, actorFor(V.org), (tx) => rows(tx, sql`select count(*) from indicator_match_events`)),
    'the service role cannot read the appended rows (who screened what)',
  )
})
