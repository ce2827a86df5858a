// The review queue and the owner's review decision (DESIGN §7, "Review and retention"), and
// erasure through it: GET /v1/review-queue, POST /v1/indicators/{id}/review, POST /v1/notes/{id}/review.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { as, buildTestApp, isProblem, json, orgWith, unique } from '../helper.js'
import { monthsAfter } from '../../src/modules/retention/review-by.js'
import { backdate, inDays, postIndicator, postNote, stored } from './support.js'

const app = await buildTestApp(t)
const O = await orgWith(app, ['reader', 'contributor', 'org_admin'], { sector: 'police' })
const X = await orgWith(app, ['reader', 'contributor'], { sector: 'customs' })
const owner = as(app, O.contributor.token)
const DAY = 86_400_000

interface QueueItem {
  kind: string
  id: string
  status: string
  reviewBy: string
  eraseAfter: string
  version: number
}
async function queueOf(token: string): Promise<QueueItem[]> {
  const out: QueueItem[] = []
  let cursor: string | null = null
  do {
    const res = await as(app, token).get(`/v1/review-queue?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
    if (res.statusCode !== 200) throw new Error(`queue: ${res.statusCode} ${res.body}`)
    const page = res.json() as { items: QueueItem[]; nextCursor: string | null }
    out.push(...page.items)
    cursor = page.nextCursor
  } while (cursor)
  return out
}
const events = (id: string) =>
  stored(app, sql`select action, account_id, organisation_id, client_id, details from audit_events where resource_id = ${id} order by id`) as Promise<
    { action: string; account_id: string | null; organisation_id: string; client_id: string; details: Record<string, unknown> }[]
  >

t.test('the queue: own live items past their date, oldest first, keyset-paged, with eraseAfter', async (t) => {
  const due1 = await postIndicator(app, O.contributor.token)
  const due2 = await postNote(app, O.contributor.token)
  const due3 = await postIndicator(app, O.contributor.token, { type: 'person_name', value: 'Erika Mustermann', distribution: 'organisation', tlp: 'amber' })
  const notDue = await postIndicator(app, O.contributor.token)
  const revoked = await postIndicator(app, O.contributor.token)
  const othersDue = await postIndicator(app, X.contributor.token)
  await backdate(app, 'indicator', due1.id, 3)
  await backdate(app, 'note', due2.id, 2)
  await backdate(app, 'indicator', due3.id, 1)
  await backdate(app, 'indicator', revoked.id, 3)
  await backdate(app, 'indicator', othersDue.id, 3)
  await owner.delete(`/v1/indicators/${revoked.id}`)

  const q = await queueOf(O.reader.token)
  t.same(
    q.map((i) => [i.kind, i.id]),
    [
      ['indicator', due1.id],
      ['note', due2.id],
      ['indicator', due3.id],
    ],
    'own due items, oldest date first, across pages of 2; not the future one, not the revoked one, not the other organisation’s',
  )
  for (const i of q) t.equal(new Date(i.eraseAfter).getTime() - new Date(i.reviewBy).getTime(), 30 * DAY, `${i.id}: eraseAfter = reviewBy + 30 days`)
  t.match(q[1], { status: 'published', version: 1 })
  t.notOk(q.some((i) => i.id === notDue.id))
  t.same(
    (await queueOf(X.reader.token)).map((i) => i.id),
    [othersDue.id],
    'the other organisation sees only its own',
  )
  isProblem(t, await owner.get('/v1/review-queue?cursor=not-a-cursor'), 400)
  isProblem(t, await owner.get('/v1/review-queue?limit=0'), 400)
  isProblem(t, await owner.get('/v1/review-queue?kind=note'), 400)
  const ev = await stored(
    app,
    sql`select details from audit_events where action = 'review.queue.list' and account_id = ${O.reader.id}::uuid order by id desc limit 1`,
  )
  t.match(ev[0]?.details, { limit: 2 }, 'the queue read is audited')
})

t.test('extend: a new date with a reason; out of the queue; audited', async (t) => {
  const ind = await postIndicator(app, O.contributor.token)
  await backdate(app, 'indicator', ind.id, 5)
  const at = inDays(365)
  const res = await owner.post(`/v1/indicators/${ind.id}/review`, { decision: 'extend', reviewBy: at, reason: 'case 2026/114 still open' })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { id: ind.id, status: 'active', reviewBy: at, reviewStatus: 'current', version: 2 })
  t.equal(res.headers.etag, '"2"')
  t.notOk(
    (await queueOf(O.contributor.token)).some((i) => i.id === ind.id),
    'no longer due',
  )
  const [ev] = (await events(ind.id)).filter((e) => e.action === 'indicator.review')
  t.match(ev, { account_id: O.contributor.id, details: { decision: 'extend', reason: 'case 2026/114 still open', reviewBy: at, version: 2 } })

  const note = await postNote(app, O.contributor.token)
  await backdate(app, 'note', note.id, 5)
  const n = await owner.post(`/v1/notes/${note.id}/review`, { decision: 'extend', reviewBy: at, reason: 'still the current practice' })
  t.equal(n.statusCode, 200, n.body)
  t.match(n.json(), { reviewBy: at, version: 2, title: note.title })
  const revs = json<{ items: { version: number }[] }>(await owner.get(`/v1/notes/${note.id}/revisions`))
  t.same(
    revs.items.map((r) => r.version),
    [1, 2],
    'the extended version is a revision',
  )
})

t.test('bad decisions: 400 naming the field; others 404; readers 403; closed items 409', async (t) => {
  const ind = await postIndicator(app, O.contributor.token)
  const note = await postNote(app, O.contributor.token)
  const url = `/v1/indicators/${ind.id}/review`
  const names = (b: { errors?: { name: string }[] }) => (b.errors ?? []).map((e) => e.name)
  t.same(names(isProblem(t, await owner.post(url, { decision: 'extend', reason: 'keep it' }), 400)), ['body.reviewBy'], 'extend needs a date')
  t.same(names(isProblem(t, await owner.post(url, { decision: 'extend', reviewBy: inDays(-2), reason: 'keep it' }), 400)), ['body.reviewBy'])
  const tooFar = monthsAfter(new Date(), 61).toISOString()
  t.same(names(isProblem(t, await owner.post(url, { decision: 'extend', reviewBy: tooFar, reason: 'keep it' }), 400)), ['body.reviewBy'], 'at most 60 months')
  t.same(names(isProblem(t, await owner.post(url, { decision: 'erase', reviewBy: inDays(5), reason: 'gone' }), 400)), ['body.reviewBy'])
  t.same(names(isProblem(t, await owner.post(url, { decision: 'extend', reviewBy: inDays(5) }), 400)), ['body.reason'], 'a reason is required')
  t.same(names(isProblem(t, await owner.post(url, { decision: 'extend', reviewBy: inDays(5), reason: ' ' }), 400)), ['body.reason'])
  t.same(names(isProblem(t, await owner.post(url, { decision: 'delete', reason: 'gone' }), 400)), ['body.decision'])
  isProblem(t, await owner.post(url, { decision: 'erase', reason: 'gone', extra: 1 }), 400)
  isProblem(t, await owner.post('/v1/indicators/not-a-uuid/review', { decision: 'erase', reason: 'gone' }), 400)
  t.same(names(isProblem(t, await owner.post(`/v1/notes/${note.id}/review`, { decision: 'extend', reason: 'keep it' }), 400)), ['body.reviewBy'])

  // Another organisation sees the item but may not review it; a reader may not write.
  t.equal((await as(app, X.reader.token).get(`/v1/indicators/${ind.id}`)).statusCode, 200)
  isProblem(t, await as(app, X.contributor.token).post(url, { decision: 'erase', reason: 'not yours' }), 404)
  isProblem(t, await as(app, X.contributor.token).post(`/v1/notes/${note.id}/review`, { decision: 'erase', reason: 'not yours' }), 404)
  isProblem(t, await as(app, O.reader.token).post(url, { decision: 'erase', reason: 'reader' }), 403)
  isProblem(t, await owner.post(`/v1/indicators/${crypto.randomUUID()}/review`, { decision: 'erase', reason: 'nothing' }), 404)
  t.match(json(await owner.get(`/v1/indicators/${ind.id}`)), { version: 1, status: 'active' }, 'nothing changed')

  await owner.delete(`/v1/indicators/${ind.id}`)
  isProblem(t, await owner.post(url, { decision: 'extend', reviewBy: inDays(5), reason: 'revoked already' }), 409)
})

t.test('erase an indicator: value and free text wiped, a tombstone, never matched, audited as erasure', async (t) => {
  const value = unique('Erasable Vendor')
  const ind = await postIndicator(app, O.contributor.token, { value, description: 'met at a café in Utrecht' })
  const match = async () =>
    json<{ results: { matches: unknown[] }[] }>(await as(app, X.reader.token).post('/v1/indicators/match', { values: [{ type: 'vendor_alias', value }] }))
      .results[0]?.matches.length
  t.equal(await match(), 1, 'matches before')
  const res = await as(app, O.org_admin.token).post(`/v1/indicators/${ind.id}/review`, { decision: 'erase', reason: 'no longer needed' })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { id: ind.id, status: 'erased', value: '', normalizedValue: '', description: '', tags: [], version: 2, reviewStatus: null })
  const [row] = await stored(app, sql`select value, normalized_value, description, tags, status, version from indicators where id = ${ind.id}::uuid`)
  t.same(row, { value: '', normalized_value: '', description: '', tags: [], status: 'erased', version: 2 }, 'wiped in the database')
  t.equal(await match(), 0, 'an erased indicator never matches')
  // A tombstone for its audience: still there, nothing left in it.
  t.match(json(await as(app, X.reader.token).get(`/v1/indicators/${ind.id}`)), { status: 'erased', value: '', description: '' })
  const ev = await events(ind.id)
  t.match(
    ev.filter((e) => e.action === 'indicator.erase'),
    [
      {
        account_id: O.org_admin.id,
        organisation_id: O.org.id,
        details: { trigger: 'review', reason: 'no longer needed', previousStatus: 'active', version: 2 },
      },
    ],
    'one erasure event',
  )
  t.match(
    ev.filter((e) => e.action === 'indicator.review'),
    [{ details: { decision: 'erase', reason: 'no longer needed', version: 2 } }],
  )
  // Again: the same tombstone, no second erasure.
  const again = await owner.post(`/v1/indicators/${ind.id}/review`, { decision: 'erase', reason: 'again' })
  t.equal(again.statusCode, 200)
  t.equal(json(again).version, 2)
  t.equal((await events(ind.id)).filter((e) => e.action === 'indicator.erase').length, 1, 'still one erasure event')
  isProblem(t, await owner.post(`/v1/indicators/${ind.id}/review`, { decision: 'extend', reviewBy: inDays(9), reason: 'bring it back' }), 409)
  // Nothing brings the value back through the search either.
  const found = json<{ items: unknown[] }>(await owner.get(`/v1/indicators?q=${encodeURIComponent('Utrecht')}&organisationId=${O.org.id}`))
  t.equal(found.items.length, 0, 'its description is not searchable')
})

t.test('erase a note: title, summary, body and every revision wiped', async (t) => {
  const note = await postNote(app, O.contributor.token, { body: 'the informant lives at Keizersgracht 1' })
  await owner.patch(`/v1/notes/${note.id}`, { summary: 'second version' })
  const res = await owner.post(`/v1/notes/${note.id}/review`, { decision: 'erase', reason: 'retention period over' })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { status: 'erased', title: '', summary: '', body: '', version: 3 })
  const revs = await stored(app, sql`select version, title, summary, body, status from note_revisions where note_id = ${note.id}::uuid order by version`)
  t.same(
    revs,
    [
      { version: 1, title: '', summary: '', body: '', status: 'published' },
      { version: 2, title: '', summary: '', body: '', status: 'published' },
      { version: 3, title: '', summary: '', body: '', status: 'erased' },
    ],
    'every revision wiped, the erased version recorded',
  )
  t.match(json(await as(app, X.reader.token).get(`/v1/notes/${note.id}`)), { status: 'erased', body: '' }, 'a tombstone for its audience')
  t.equal((await events(note.id)).filter((e) => e.action === 'note.erase').length, 1)
})

t.test('revisions stay append-only outside erasure: the database refuses to wipe a live note’s', async (t) => {
  const note = await postNote(app, O.contributor.token)
  const { withActor } = await import('../../src/access/visibility.js')
  const { actorFor } = await import('../exchange/fixtures.js')
  await t.rejects(
    withActor(app.db, actorFor(O.org, ['contributor']), (tx) =>
      tx.execute(sql`update note_revisions set title = '', summary = '', body = '' where note_id = ${note.id}::uuid`),
    ),
    'refused while the note is not erased',
  )
  await t.rejects(
    withActor(app.db, actorFor(O.org, ['contributor']), (tx) => tx.execute(sql`update note_revisions set status = 'erased' where note_id = ${note.id}::uuid`)),
    'no other column may change',
  )
})

t.test('an erasure interrupted half-way leaves nothing half-done', async (t) => {
  const note = await postNote(app, O.contributor.token, { body: 'must survive a failed erasure' })
  await owner.patch(`/v1/notes/${note.id}`, { summary: 'v2' })
  // A fault after the note itself is wiped: wiping its revisions fails (for this note only).
  const fn = `dcx_test_fail_${note.id.replaceAll('-', '')}`
  await app.database.asOwner(async (q) => {
    await q(sql.raw(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$`))
    await q(sql.raw(`CREATE TRIGGER ${fn} BEFORE UPDATE ON note_revisions FOR EACH ROW WHEN (OLD.note_id = '${note.id}') EXECUTE FUNCTION ${fn}()`))
  })
  try {
    const res = await owner.post(`/v1/notes/${note.id}/review`, { decision: 'erase', reason: 'will fail' })
    isProblem(t, res, 500)
  } finally {
    await app.database.asOwner(async (q) => {
      await q(sql.raw(`DROP TRIGGER ${fn} ON note_revisions`))
      await q(sql.raw(`DROP FUNCTION ${fn}()`))
    })
  }
  const [n] = await stored(app, sql`select title, body, status, version from notes where id = ${note.id}::uuid`)
  t.same(n, { title: note.title, body: 'must survive a failed erasure', status: 'published', version: 2 }, 'the note is whole')
  const revs = await stored(app, sql`select version, body from note_revisions where note_id = ${note.id}::uuid order by version`)
  t.same(
    revs,
    [
      { version: 1, body: 'must survive a failed erasure' },
      { version: 2, body: 'must survive a failed erasure' },
    ],
    'its revisions are whole',
  )
  const ev = await events(note.id)
  t.equal(ev.filter((e) => e.action === 'note.erase').length, 0, 'no erasure event')
  // With the fault gone, the same erasure completes.
  const res = await owner.post(`/v1/notes/${note.id}/review`, { decision: 'erase', reason: 'now it works' })
  t.equal(res.statusCode, 200)
  t.equal(json(res).status, 'erased')
})
