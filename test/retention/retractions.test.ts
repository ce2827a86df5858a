// Retraction (DESIGN §7): every organisation that received an item (read, listed, matched,
// fetched from the feed) gets a notice when it is revoked, erased, narrowed or switched to
// match_only; it acknowledges; the owner sees who was told and who acknowledged.
import t from 'tap'
import { as, buildTestApp, isProblem, json, orgWith, unique } from '../helper.js'
import { backdate, postIndicator, postNote } from './support.js'

const app = await buildTestApp(t)
const O = await orgWith(app, ['reader', 'contributor'], { sector: 'police' })
const X = await orgWith(app, ['reader', 'contributor'], { sector: 'customs' })
const Y = await orgWith(app, ['reader'], { sector: 'border' })
const owner = as(app, O.contributor.token)

interface Notice {
  id: string
  kind: string
  itemId: string
  ownerId: string
  organisationId: string
  reason: string
  itemVersion: number
  acknowledgedAt: string | null
}
const pending = async (token: string, itemId: string) =>
  json<{ items: Notice[] }>(await as(app, token).get('/v1/retractions?limit=500')).items.filter((n) => n.itemId === itemId)

t.test('a read, then a revocation: the reader’s organisation is told; the owner and those who never received it are not', async (t) => {
  const ind = await postIndicator(app, O.contributor.token)
  t.equal((await as(app, X.reader.token).get(`/v1/indicators/${ind.id}`)).statusCode, 200)
  t.equal((await owner.get(`/v1/indicators/${ind.id}`)).statusCode, 200, 'the owner reads it too')
  // A change that retracts nothing sends nothing.
  await owner.patch(`/v1/indicators/${ind.id}`, { description: 'more detail' })
  t.same(await pending(X.reader.token, ind.id), [], 'no notice for an edit that narrows nothing')
  const rev = await owner.delete(`/v1/indicators/${ind.id}`)
  t.equal(rev.statusCode, 200)
  t.match(await pending(X.reader.token, ind.id), [
    { kind: 'indicator', ownerId: O.org.id, organisationId: X.org.id, reason: 'revoked', itemVersion: 3, acknowledgedAt: null },
  ])
  t.same(await pending(O.reader.token, ind.id), [], 'the owner gets none')
  t.same(await pending(Y.reader.token, ind.id), [], 'an organisation that never received it gets none')
})

t.test('listed, then narrowed (stricter TLP); matched, then made match_only', async (t) => {
  const listed = await postIndicator(app, O.contributor.token, { tags: [unique('rt')] })
  const tag = (listed.tags as string[])[0] as string
  t.equal(json<{ items: unknown[] }>(await as(app, X.reader.token).get(`/v1/indicators?tag=${tag}`)).items.length, 1)
  await owner.patch(`/v1/indicators/${listed.id}`, { tlp: 'amber' })
  t.match(await pending(X.reader.token, listed.id), [{ reason: 'narrowed', itemVersion: 2 }])

  const value = unique('Matched Vendor')
  const matched = await postIndicator(app, O.contributor.token, { value })
  const m = json<{ results: { matches: unknown[] }[] }>(
    await as(app, Y.reader.token).post('/v1/indicators/match', { values: [{ type: 'vendor_alias', value }] }),
  )
  t.equal(m.results[0]?.matches.length, 1)
  await owner.patch(`/v1/indicators/${matched.id}`, { valueVisibility: 'match_only' })
  t.match(await pending(Y.reader.token, matched.id), [{ reason: 'match_only' }])
  t.same(await pending(X.reader.token, matched.id), [])

  // Narrowed by distribution: community → authorities; the postal operator is told even though the item is now out of its reach.
  const P = await orgWith(app, ['reader'], { sector: 'postal' })
  const wide = await postIndicator(app, O.contributor.token)
  await as(app, P.reader.token).get(`/v1/indicators/${wide.id}`)
  await owner.patch(`/v1/indicators/${wide.id}`, { distribution: 'authorities' })
  t.equal((await as(app, P.reader.token).get(`/v1/indicators/${wide.id}`)).statusCode, 404, 'no longer visible to it')
  t.match(await pending(P.reader.token, wide.id), [{ reason: 'narrowed' }])
})

t.test('erased: by review and by the retention job; notes alike', async (t) => {
  const ind = await postIndicator(app, O.contributor.token)
  await as(app, X.reader.token).get(`/v1/indicators/${ind.id}`)
  await owner.post(`/v1/indicators/${ind.id}/review`, { decision: 'erase', reason: 'done' })
  t.match(await pending(X.reader.token, ind.id), [{ reason: 'erased', itemVersion: 2 }])

  const note = await postNote(app, O.contributor.token)
  await as(app, X.reader.token).get(`/v1/notes/${note.id}`)
  await backdate(app, 'note', note.id, 40)
  const run = await app.retentionJob.runOnce()
  t.ok(run.erased.some((e) => e.id === note.id))
  t.match(await pending(X.reader.token, note.id), [{ kind: 'note', reason: 'erased' }])

  const listedNote = await postNote(app, O.contributor.token, { title: unique('Listed note') })
  const ls = json<{ items: { id: string }[] }>(await as(app, Y.reader.token).get(`/v1/notes?organisationId=${O.org.id}&limit=500`))
  t.ok(ls.items.some((n) => n.id === listedNote.id))
  await owner.delete(`/v1/notes/${listedNote.id}`)
  t.match(await pending(Y.reader.token, listedNote.id), [{ kind: 'note', reason: 'revoked' }])
})

t.test('fetched from the change feed, then revoked', async (t) => {
  const admin = await orgWith(app, ['org_admin'], { sector: 'police' })
  const F = await orgWith(app, ['reader'], { sector: 'prosecution' })
  const group = json<{ id: string }>(await as(app, admin.org_admin.token).post('/v1/sharing-groups', { name: unique('rt group'), organisationIds: [F.org.id] }))
  const { createAccount } = await import('../helper.js')
  const writer = await createAccount(app, admin.org.id, ['contributor'])
  const ind = await postIndicator(app, writer.token, { distribution: 'sharing_group', sharingGroupId: group.id, tlp: 'amber' })
  let cursor: string | null = null
  let seen = false
  for (let i = 0; i < 500 && !seen; i++) {
    const page: { items: { id: string }[]; nextCursor: string | null; hasMore: boolean } = json(
      await as(app, F.reader.token).get(`/v1/changes?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
    )
    seen = page.items.some((c) => c.id === ind.id)
    cursor = page.nextCursor
    if (!page.hasMore) break
  }
  t.ok(seen, 'the feed delivered it')
  await as(app, writer.token).delete(`/v1/indicators/${ind.id}`)
  t.match(await pending(F.reader.token, ind.id), [{ reason: 'revoked' }])

  // Erased: the feed carries a tombstone, without any of the content.
  await as(app, writer.token).post(`/v1/indicators/${ind.id}/review`, { decision: 'erase', reason: 'feed tombstone' })
  let tomb: Record<string, unknown> | undefined
  for (let i = 0; i < 500 && !tomb; i++) {
    const page: { items: Record<string, unknown>[]; nextCursor: string | null; hasMore: boolean } = json(
      await as(app, F.reader.token).get(`/v1/changes?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
    )
    tomb = page.items.find((c) => c.id === ind.id)
    cursor = page.nextCursor
    if (!page.hasMore && !tomb) break
  }
  t.same(tomb && { ...tomb, changedAt: 'x' }, {
    kind: 'retracted',
    id: ind.id,
    action: 'retracted',
    itemKind: 'indicator',
    reason: 'erased',
    version: 3,
    changedAt: 'x',
  })

  // STIX (and TAXII, which serves the same objects) serve it as revoked.
  const stix = json<{ objects: { type: string; id: string; revoked?: boolean }[] }>(
    await as(app, F.reader.token).get(`/v1/export/stix?organisationId=${admin.org.id}`),
  )
  t.match(
    stix.objects.find((o) => o.id === `indicator--${ind.id}`),
    { revoked: true },
    'an erased item is a revoked STIX object',
  )
})

t.test('acknowledge; the owner sees who was told and who acknowledged; nobody else does', async (t) => {
  const ind = await postIndicator(app, O.contributor.token)
  await as(app, X.reader.token).get(`/v1/indicators/${ind.id}`)
  await as(app, Y.reader.token).get(`/v1/indicators/${ind.id}`)
  await owner.delete(`/v1/indicators/${ind.id}`)
  const [nx] = await pending(X.reader.token, ind.id)
  const [ny] = await pending(Y.reader.token, ind.id)
  t.ok(nx && ny)
  if (!nx || !ny) return
  isProblem(t, await as(app, Y.reader.token).post(`/v1/retractions/${nx.id}/ack`), 404)
  isProblem(t, await owner.post(`/v1/retractions/${nx.id}/ack`), 404)
  isProblem(t, await as(app, X.reader.token).post('/v1/retractions/not-a-uuid/ack'), 400)
  const ack = await as(app, X.reader.token).post(`/v1/retractions/${nx.id}/ack`)
  t.equal(ack.statusCode, 200)
  t.match(ack.json(), { id: nx.id, acknowledgedBy: X.reader.id })
  t.ok(json(ack).acknowledgedAt)
  const again = await as(app, X.reader.token).post(`/v1/retractions/${nx.id}/ack`)
  t.equal(json(again).acknowledgedAt, json(ack).acknowledgedAt, 'the first acknowledgement stands')
  t.same(await pending(X.reader.token, ind.id), [], 'no longer pending')

  const sent = json<{ items: (Notice & { organisationName: string })[] }>(await as(app, O.reader.token).get(`/v1/indicators/${ind.id}/retractions`))
  const byOrg = new Map(sent.items.map((i) => [i.organisationId, i]))
  t.same([...byOrg.keys()].sort(), [X.org.id, Y.org.id].sort(), 'told: the two that received it')
  t.ok(byOrg.get(X.org.id)?.acknowledgedAt, 'X acknowledged')
  t.equal(byOrg.get(Y.org.id)?.acknowledgedAt, null, 'Y not yet')
  t.equal(byOrg.get(X.org.id)?.organisationName, X.org.name)
  isProblem(t, await as(app, X.reader.token).get(`/v1/indicators/${ind.id}/retractions`), 404)
  isProblem(t, await as(app, X.reader.token).get(`/v1/notes/${ind.id}/retractions`), 404)
  const note = await postNote(app, O.contributor.token)
  t.same(json(await owner.get(`/v1/notes/${note.id}/retractions`)).items, [])
})

t.test('pulled through TAXII, or exported as STIX, then revoked', async (t) => {
  const { taxii } = await import('../interop/support.js')
  const { COMMUNITY_COLLECTION } = await import('../../src/modules/taxii/taxii.collections.js')
  const pulled = await postIndicator(app, O.contributor.token)
  const one = await taxii(app, X.reader.token).get(`/taxii2/dcx/collections/${COMMUNITY_COLLECTION}/objects/indicator--${pulled.id}/`)
  t.equal(one.statusCode, 200, one.body.slice(0, 200))
  await owner.delete(`/v1/indicators/${pulled.id}`)
  t.match(await pending(X.reader.token, pulled.id), [{ reason: 'revoked' }], 'the TAXII puller is told')

  const exported = await postIndicator(app, O.contributor.token)
  const ex = await as(app, Y.reader.token).get(`/v1/export/stix?organisationId=${O.org.id}`)
  t.equal(ex.statusCode, 200)
  t.ok(ex.body.includes(exported.id))
  await owner.delete(`/v1/indicators/${exported.id}`)
  t.match(await pending(Y.reader.token, exported.id), [{ reason: 'revoked' }], 'the exporter is told')
})
