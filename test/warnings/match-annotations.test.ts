// What a match says beyond who holds a value (DESIGN §8): `warning: { list, listId, reason }` when
// the value is on a warning list the caller may see, `overCorrelated: true` when more than 20 items
// the caller may see hold it (counted over visible items only), and over-correlated values left
// out of GET /v1/indicators/{id}/related. annotateMatches (the screening resolve's entry) agrees.
import t from 'tap'
import { as, buildTestApp, json, orgWith, unique } from '../helper.js'
import { forMatching, withActor } from '../../src/access/visibility.js'
import { annotateMatches } from '../../src/modules/warning-lists/annotate.js'
import { actorFor, word } from '../exchange/fixtures.js'

const app = await buildTestApp(t)
const A = await orgWith(app, ['contributor', 'reader', 'org_admin'], { sector: 'police' })
const B = await orgWith(app, ['contributor'], { sector: 'customs' })
const V = await orgWith(app, ['reader', 'org_admin'], { sector: 'postal' }) // the screening operator
const P = await orgWith(app, ['platform_admin'], { sector: 'police' })
const run = word('wl')

type Match = { id: string; organisationId: string; warning?: { list: string; listId: string; reason: string }; overCorrelated?: true }
type Result = { value: string; matches: Match[] }

async function bulk(token: string, items: Record<string, unknown>[]): Promise<string[]> {
  const res = await as(app, token).post('/v1/indicators/bulk', { items: items.map((i) => ({ tlp: 'green', distribution: 'community', ...i })) })
  const out = json<{ results: { status: string; id?: string }[] }>(res).results
  if (res.statusCode !== 200 || out.some((r) => r.status !== 'created')) throw new Error(`fixture: ${res.body.slice(0, 300)}`)
  return out.map((r) => r.id as string)
}
async function match(token: string, values: { type?: string; value: string }[]): Promise<Result[]> {
  const res = await as(app, token).post('/v1/indicators/match', { values })
  if (res.statusCode !== 200) throw new Error(`match: ${res.statusCode} ${res.body}`)
  return json<{ results: Result[] }>(res).results
}
async function list(token: string, body: Record<string, unknown>): Promise<{ id: string; name: string }> {
  const res = await as(app, token).post('/v1/warning-lists', { name: unique('list'), reason: 'shared', ...body })
  if (res.statusCode !== 201) throw new Error(`fixture: ${res.body}`)
  return json(res)
}

const locker = `locker-${run}.example`
const forwarder = `${run} forwarder`
const both = `both-${run}.example`
await bulk(A.contributor.token, [
  { type: 'domain', value: locker },
  { type: 'vendor_alias', value: forwarder },
  { type: 'domain', value: both },
])
const platform = await list(P.platform_admin.token, {
  scope: 'platform',
  reason: 'Parcel locker bank: thousands of senders',
  entries: [
    { type: 'domain', value: locker.toUpperCase() },
    { type: 'domain', value: both },
  ],
})
const ofA = await list(A.org_admin.token, {
  reason: 'Our forwarding address',
  entries: [
    { type: 'vendor_alias', value: forwarder },
    { type: 'domain', value: both },
  ],
})

t.test('a match on a listed value carries the warning of a list the caller may see', async (t) => {
  const [l, f, b] = await match(V.reader.token, [
    { type: 'domain', value: `${locker.toUpperCase()}.` },
    { type: 'vendor_alias', value: forwarder.toUpperCase() },
    { value: both },
  ])
  t.match(l?.matches[0], {
    organisationId: A.org.id,
    warning: { list: platform.name, listId: platform.id, reason: 'Parcel locker bank: thousands of senders' },
  })
  t.equal(f?.matches.length, 1, 'matched')
  t.notOk(f?.matches[0]?.warning, "A's own list is not V's: no warning")
  t.equal(b?.matches[0]?.warning?.listId, platform.id, 'V sees the platform warning')

  const [f2, b2] = await match(A.reader.token, [
    { type: 'vendor_alias', value: forwarder },
    { type: 'domain', value: both },
  ])
  t.equal(f2?.matches[0]?.warning?.listId, ofA.id, "A's member sees its organisation's warning")
  t.equal(b2?.matches[0]?.warning?.listId, ofA.id, "on several lists: the organisation's own list first")
  const [plain] = await match(A.reader.token, [{ type: 'domain', value: `plain-${run}.example` }])
  t.same(plain?.matches, [], 'no match, nothing to annotate')
})

t.test('over-correlation counts the items the caller may see', async (t) => {
  const shared = `${run} hot wallet`
  // 20 community holders (A and B) and one A keeps to itself: A sees 21, V sees 20.
  await bulk(
    A.contributor.token,
    Array.from({ length: 10 }, () => ({ type: 'vendor_alias', value: shared })),
  )
  await bulk(
    B.contributor.token,
    Array.from({ length: 10 }, () => ({ type: 'vendor_alias', value: shared })),
  )
  const [seenByV] = await match(V.reader.token, [{ type: 'vendor_alias', value: shared }])
  t.equal(seenByV?.matches.length, 20)
  t.notOk(
    seenByV?.matches.some((m) => m.overCorrelated),
    '20 holders: not over-correlated',
  )
  const [privateOne] = await bulk(A.contributor.token, [{ type: 'vendor_alias', value: shared, distribution: 'organisation', tlp: 'amber' }])
  const [again] = await match(V.reader.token, [{ type: 'vendor_alias', value: shared }])
  t.notOk(
    again?.matches.some((m) => m.overCorrelated),
    "A's private item does not count for V",
  )
  const [seenByA] = await match(A.reader.token, [{ type: 'vendor_alias', value: shared }])
  t.equal(seenByA?.matches.length, 21)
  t.ok(
    seenByA?.matches.every((m) => m.overCorrelated === true),
    '21 visible holders: every match over-correlated',
  )

  // The screening resolve's entry point says the same, in a matching transaction.
  const n = (await import('../../src/modules/indicators/normalize.js')).normalizeIndicator('vendor_alias', shared)
  if (!n.ok) throw new Error('fixture')
  const [forA] = await withActor(app.db, actorFor(A.org), async (tx) => {
    await forMatching(tx)
    return annotateMatches(tx, [{ type: 'vendor_alias', normalizedValue: n.normalizedValue }])
  })
  t.same(forA, { overCorrelated: true })
  const forV = await withActor(app.db, actorFor(V.org), async (tx) => {
    await forMatching(tx)
    return annotateMatches(tx, [
      { type: 'vendor_alias', normalizedValue: n.normalizedValue },
      { type: 'domain', normalizedValue: locker },
    ])
  })
  t.same(forV, [{}, { warning: { list: platform.name, listId: platform.id, reason: 'Parcel locker bank: thousands of senders' } }])

  // Related: an over-correlated value relates nothing; an ordinary one still does.
  const rel = await as(app, A.reader.token).get(`/v1/indicators/${privateOne}/related`)
  t.equal(rel.statusCode, 200)
  t.same(json(rel), { items: [], nextCursor: null }, 'over-correlated: left out of related')
  const ordinary = `${run} ordinary`
  const [mine] = await bulk(A.contributor.token, [{ type: 'vendor_alias', value: ordinary }])
  await bulk(B.contributor.token, [{ type: 'vendor_alias', value: ordinary }])
  const rel2 = json<{ items: { organisationId: string }[] }>(await as(app, A.reader.token).get(`/v1/indicators/${mine}/related`))
  t.same(
    rel2.items.map((i) => i.organisationId),
    [B.org.id],
    'an ordinary value still relates',
  )
})
