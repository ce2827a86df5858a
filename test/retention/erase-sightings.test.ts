// Erasure reaches the sighting reports about an erased indicator: every organisation's note (free
// text that may repeat the value) is wiped, the reports themselves (who, when, count, outcome)
// stay. Row-level security lets the service wipe a note only on an erased indicator its
// organisation owns: not on a live one, not on another organisation's.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { as, buildTestApp, json, orgWith } from '../helper.js'
import { withActor } from '../../src/access/visibility.js'
import { rows } from '../../src/db/client.js'
import { actorFor } from '../exchange/fixtures.js'
import { postIndicator, stored } from './support.js'

const app = await buildTestApp(t)
const owner = await orgWith(app, ['contributor', 'reader'], { sector: 'police' })
const reporter = await orgWith(app, ['contributor', 'reader'], { sector: 'customs' })

const report = async (token: string, id: string, note: string) => {
  const res = await as(app, token).post(`/v1/indicators/${id}/sightings`, { seenAt: new Date().toISOString(), outcome: 'seized', count: 2, note })
  if (res.statusCode !== 201) throw new Error(`sighting fixture: ${res.statusCode} ${res.body}`)
}
const notesOf = (id: string) =>
  stored(app, sql`select organisation_id, note, outcome, count from sightings where indicator_id = ${id}::uuid order by organisation_id`)

t.test("erasing an indicator wipes every organisation's sighting notes about it, and keeps the reports", async (t) => {
  const ind = await postIndicator(app, owner.contributor.token)
  const value = String(ind.value)
  await report(reporter.contributor.token, ind.id, `parcel addressed to ${value}`)
  await report(owner.contributor.token, ind.id, `our own note on ${value}`)
  const erased = await as(app, owner.contributor.token).post(`/v1/indicators/${ind.id}/review`, { decision: 'erase', reason: 'purpose ended' })
  t.equal(erased.statusCode, 200, erased.body)
  t.equal(json(erased).status, 'erased')
  const rows = await notesOf(ind.id)
  t.equal(rows.length, 2, 'both reports stay')
  t.ok(
    rows.every((r) => r.note === null && r.outcome === 'seized' && Number(r.count) === 2),
    'notes wiped; outcome and count kept',
  )
  const [leak] = await stored(app, sql`select count(*)::int as n from sightings where row_to_json(sightings)::text like ${`%${value}%`}`)
  t.equal(Number(leak?.n), 0, 'the value is nowhere in the sightings table')
})

t.test('the database lets the service wipe a sighting note only on an erased indicator its organisation owns', async (t) => {
  const wipe = (org: typeof owner.org, id: string, set = sql`note = null`) =>
    withActor(app.db, actorFor(org, ['contributor']), (tx) => rows(tx, sql`update sightings set ${set} where indicator_id = ${id}::uuid returning id`))
  const live = await postIndicator(app, owner.contributor.token)
  await report(reporter.contributor.token, live.id, 'a note that stays')
  t.same(await wipe(owner.org, live.id), [], 'a live indicator: no row')
  const erased = await postIndicator(app, owner.contributor.token)
  await report(reporter.contributor.token, erased.id, 'kept until the owner erases')
  // Erased behind the API's back, so that its sightings still hold their notes.
  await stored(app, sql`update indicators set status = 'erased' where id = ${erased.id}::uuid`)
  t.same(await wipe(reporter.org, erased.id), [], 'another organisation (the reporter itself): no row')
  await t.rejects(wipe(owner.org, erased.id, sql`note = 'rewritten'`), 'the owner may not rewrite a note, only wipe it')
  await t.rejects(wipe(owner.org, erased.id, sql`outcome = 'seen'`), 'nor change anything else')
  t.same(
    [...(await notesOf(live.id)), ...(await notesOf(erased.id))].map((r) => r.note),
    ['a note that stays', 'kept until the owner erases'],
  )
  t.equal((await wipe(owner.org, erased.id)).length, 1, 'the owner of the erased indicator: wiped')
})
