// reviewBy (DESIGN §7, "Review and retention"): in every indicator and note, defaulted from the
// owner's retention settings (personal-data types 12 months, others 36), settable on create and
// update when in the future and at most 60 months ahead (400 naming the field otherwise, nothing
// stored), and reviewStatus "review_due" once it has passed, status unchanged.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { as, buildTestApp, isProblem, json, orgWith } from '../helper.js'
import { monthsAfter } from '../../src/modules/retention/review-by.js'
import { backdate, inDays, postIndicator, postNote, stored } from './support.js'

const app = await buildTestApp(t)
const O = await orgWith(app, ['reader', 'contributor'], { sector: 'police' })
const X = await orgWith(app, ['reader'], { sector: 'customs' })
const owner = as(app, O.contributor.token)

const near = (t: Tap, actual: string, expected: Date, what: string) =>
  t.ok(Math.abs(new Date(actual).getTime() - expected.getTime()) < 5_000, `${what}: ${actual} ≈ ${expected.toISOString()}`)
type Tap = { ok: (v: unknown, m: string) => unknown }

t.test('the default comes from the retention settings: 12 months for personal data, 36 otherwise', async (t) => {
  const alias = await postIndicator(app, O.contributor.token)
  near(t, alias.reviewBy, monthsAfter(new Date(alias.createdAt as string), 36), 'vendor_alias: 36 months')
  t.equal(alias.reviewStatus, 'current')
  const person = await postIndicator(app, O.contributor.token, { type: 'person_name', value: 'Jan de Vries', distribution: 'organisation', tlp: 'amber' })
  near(t, person.reviewBy, monthsAfter(new Date(person.createdAt as string), 12), 'person_name: 12 months')
  const note = await postNote(app, O.contributor.token)
  near(t, note.reviewBy, monthsAfter(new Date(note.createdAt as string), 36), 'note: 36 months')
  t.equal(note.reviewStatus, 'current')
  // In every read: get, list, another organisation's view, the bulk path.
  t.equal(json(await owner.get(`/v1/indicators/${alias.id}`)).reviewBy, alias.reviewBy)
  t.equal(json(await as(app, X.reader.token).get(`/v1/indicators/${alias.id}`)).reviewBy, alias.reviewBy)
  const listed = json<{ items: { id: string; reviewBy: string }[] }>(await owner.get(`/v1/indicators?organisationId=${O.org.id}&limit=5`))
  t.ok(listed.items.every((i) => typeof i.reviewBy === 'string'))
  t.equal(json(await owner.get(`/v1/notes/${note.id}`)).reviewBy, note.reviewBy)
})

t.test('a writer may set it: on create, bulk and update', async (t) => {
  const at = inDays(90)
  const ind = await postIndicator(app, O.contributor.token, { reviewBy: at })
  t.equal(ind.reviewBy, at)
  const note = await postNote(app, O.contributor.token, { reviewBy: at })
  t.equal(note.reviewBy, at)

  const bulk = await owner.post('/v1/indicators/bulk', {
    items: [
      { type: 'domain', value: 'review-by-bulk-one.example', reviewBy: at },
      { type: 'domain', value: 'review-by-bulk-two.example' },
      { type: 'domain', value: 'review-by-bulk-three.example', reviewBy: inDays(-1) },
    ],
  })
  t.equal(bulk.statusCode, 200)
  const results = json<{ results: { status: string; id?: string; problem?: { errors: { name: string }[] } }[] }>(bulk).results
  t.same(
    results.map((r) => r.status),
    ['created', 'created', 'invalid'],
  )
  t.same(
    results[2]?.problem?.errors.map((e) => e.name),
    ['items.2.reviewBy'],
  )
  t.equal(json(await owner.get(`/v1/indicators/${results[0]?.id}`)).reviewBy, at)
  t.ok(
    new Date(json<{ reviewBy: string }>(await owner.get(`/v1/indicators/${results[1]?.id}`)).reviewBy) > new Date(inDays(1000)),
    'default filled on the bulk path',
  )

  const later = inDays(400)
  const patched = await owner.patch(`/v1/indicators/${ind.id}`, { reviewBy: later })
  t.equal(patched.statusCode, 200)
  t.match(patched.json(), { reviewBy: later, version: 2 })
  const notePatched = await owner.patch(`/v1/notes/${note.id}`, { reviewBy: later })
  t.equal(notePatched.statusCode, 200)
  t.match(notePatched.json(), { reviewBy: later, version: 2 })
})

t.test('a date in the past, now, more than 60 months ahead, or not a date: 400 naming reviewBy, nothing stored', async (t) => {
  const tooFar = monthsAfter(new Date(), 60)
  tooFar.setUTCDate(tooFar.getUTCDate() + 2)
  const bad = [inDays(-1), new Date().toISOString(), tooFar.toISOString(), 'tomorrow', '2027-13-01T00:00:00Z']
  const ind = await postIndicator(app, O.contributor.token)
  const note = await postNote(app, O.contributor.token)
  for (const reviewBy of bad) {
    const value = `review-by-refused-${Math.random().toString(36).slice(2)}`
    const c = isProblem(t, await owner.post('/v1/indicators', { type: 'vendor_alias', value, reviewBy }), 400)
    t.ok(
      c.errors?.some((e) => e.name.endsWith('reviewBy')),
      `create ${reviewBy}: names reviewBy`,
    )
    const [n] = await stored(app, sql`select count(*)::int as n from indicators where organisation_id = ${O.org.id}::uuid and value = ${value}`)
    t.equal(n?.n, 0, 'nothing stored')
    const p = isProblem(t, await owner.patch(`/v1/indicators/${ind.id}`, { reviewBy }), 400)
    t.ok(
      p.errors?.some((e) => e.name.endsWith('reviewBy')),
      `update ${reviewBy}: names reviewBy`,
    )
    const nc = isProblem(t, await owner.post('/v1/notes', { title: value, summary: 's', body: 'b', topics: ['training'], reviewBy }), 400)
    t.ok(
      nc.errors?.some((e) => e.name.endsWith('reviewBy')),
      `note create ${reviewBy}: names reviewBy`,
    )
    isProblem(t, await owner.patch(`/v1/notes/${note.id}`, { reviewBy }), 400)
  }
  t.equal(json(await owner.get(`/v1/indicators/${ind.id}`)).version, 1, 'the indicator is unchanged')
  t.equal(json(await owner.get(`/v1/notes/${note.id}`)).version, 1, 'the note is unchanged')
  // Exactly 60 months ahead (less a minute) is still accepted.
  const edge = monthsAfter(new Date(), 60)
  edge.setUTCMinutes(edge.getUTCMinutes() - 1)
  t.equal((await owner.patch(`/v1/indicators/${ind.id}`, { reviewBy: edge.toISOString() })).statusCode, 200, '60 months ahead is allowed')
})

t.test('past its date, an item is review_due; its status stays', async (t) => {
  const ind = await postIndicator(app, O.contributor.token)
  const note = await postNote(app, O.contributor.token)
  await backdate(app, 'indicator', ind.id, 1)
  await backdate(app, 'note', note.id, 1)
  t.match(json(await owner.get(`/v1/indicators/${ind.id}`)), { status: 'active', reviewStatus: 'review_due' })
  t.match(json(await as(app, X.reader.token).get(`/v1/indicators/${ind.id}`)), { status: 'active', reviewStatus: 'review_due' })
  t.match(json(await owner.get(`/v1/notes/${note.id}`)), { status: 'published', reviewStatus: 'review_due' })
  // A revoked item is closed: no review concerns it.
  t.match(json(await owner.delete(`/v1/indicators/${ind.id}`)), { status: 'revoked', reviewStatus: null })
})
