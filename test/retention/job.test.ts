// The retention job (DESIGN §7): an item left 30 days past its review-by date is erased
// automatically, with the same erasure as the owner's decision, audited as an erasure by the
// service itself; idempotent; safe on every node at once (an advisory lock). Tests drive it
// with runOnce() (DCX_RETENTION_JOB is off in tests): no timers, no sleeping. On a shared
// PostgreSQL database the job sees every test's items, so each assertion looks at its own.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { as, buildTestApp, json, orgWith } from '../helper.js'
import { RetentionJob, RETENTION_CLIENT_ID } from '../../src/modules/retention/retention.job.js'
import { backdate, postIndicator, postNote, stored } from './support.js'

const app = await buildTestApp(t)
const O = await orgWith(app, ['reader', 'contributor'], { sector: 'police' })
const X = await orgWith(app, ['reader', 'contributor'], { sector: 'customs' })

const erasures = async (id: string) =>
  (await stored(
    app,
    sql`select account_id, organisation_id, client_id, request_id, details from audit_events where resource_id = ${id} and action like '%.erase' order by id`,
  )) as {
    account_id: string | null
    organisation_id: string
    client_id: string
    request_id: string
    details: Record<string, unknown>
  }[]

t.test('erases what is more than 30 days past its date, and only that', async (t) => {
  const old = await postIndicator(app, O.contributor.token, { description: 'old intelligence' })
  const young = await postIndicator(app, O.contributor.token)
  const revoked = await postIndicator(app, X.contributor.token)
  const note = await postNote(app, X.contributor.token)
  const future = await postNote(app, O.contributor.token)
  await backdate(app, 'indicator', old.id, 31)
  await backdate(app, 'indicator', young.id, 29)
  await backdate(app, 'indicator', revoked.id, 45)
  await backdate(app, 'note', note.id, 31)
  await as(app, X.contributor.token).delete(`/v1/indicators/${revoked.id}`)

  const run = await app.retentionJob.runOnce()
  t.equal(run.locked, false)
  const erased = new Set(run.erased.map((e) => e.id))
  t.ok(erased.has(old.id) && erased.has(revoked.id) && erased.has(note.id), 'the three past 30 days, the revoked one too (it still holds its value)')
  t.notOk(erased.has(young.id) || erased.has(future.id), 'not one 29 days past, nor one not yet due')

  const [row] = await stored(app, sql`select value, description, status, version from indicators where id = ${old.id}::uuid`)
  t.same(row, { value: '', description: '', status: 'erased', version: 2 })
  const [n] = await stored(app, sql`select title, body, status from notes where id = ${note.id}::uuid`)
  t.same(n, { title: '', body: '', status: 'erased' })
  const [rev] = await stored(app, sql`select count(*)::int as n from note_revisions where note_id = ${note.id}::uuid and body <> ''`)
  t.equal(rev?.n, 0, 'the note’s revisions wiped')
  t.match(json(await as(app, O.reader.token).get(`/v1/indicators/${young.id}`)), { status: 'active', reviewStatus: 'review_due' }, 'the young one is only due')

  // Audited as an erasure by the service itself, for the owner organisation.
  t.match(await erasures(old.id), [
    { account_id: null, organisation_id: O.org.id, client_id: RETENTION_CLIENT_ID, details: { trigger: 'retention', previousStatus: 'active', version: 2 } },
  ])
  t.match(await erasures(revoked.id), [{ organisation_id: X.org.id, details: { trigger: 'retention', previousStatus: 'revoked' } }])

  // Idempotent: a second run erases none of them again.
  const again = await app.retentionJob.runOnce()
  t.notOk(
    again.erased.some((e) => [old.id, revoked.id, note.id].includes(e.id)),
    'nothing erased twice',
  )
  t.equal((await erasures(old.id)).length, 1, 'one erasure event')
})

t.test('an extension before the job runs saves the item', async (t) => {
  const ind = await postIndicator(app, O.contributor.token)
  await backdate(app, 'indicator', ind.id, 40)
  const ext = await as(app, O.contributor.token).post(`/v1/indicators/${ind.id}/review`, {
    decision: 'extend',
    reviewBy: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    reason: 'investigation ongoing',
  })
  t.equal(ext.statusCode, 200)
  const run = await app.retentionJob.runOnce()
  t.notOk(
    run.erased.some((e) => e.id === ind.id),
    'not erased',
  )
  t.equal(json(await as(app, O.reader.token).get(`/v1/indicators/${ind.id}`)).status, 'active')
})

t.test('two nodes at once: each item erased once, one erasure event each', async (t) => {
  const ids: string[] = []
  for (let i = 0; i < 6; i++) {
    const ind = await postIndicator(app, O.contributor.token)
    await backdate(app, 'indicator', ind.id, 60)
    ids.push(ind.id)
  }
  const nodes = [new RetentionJob(app.db, app.log, 2), new RetentionJob(app.db, app.log, 2)]
  const runs = await Promise.all(nodes.map((n) => n.runOnce()))
  // Whichever ran, or one after the other: the items are erased, and only once.
  const all = runs.flatMap((r) => r.erased.map((e) => e.id)).filter((id) => ids.includes(id))
  t.same([...all].sort(), [...ids].sort(), 'every item erased exactly once across the two nodes')
  for (const id of ids) t.equal((await erasures(id)).length, 1, `${id}: one erasure event`)
})

t.test(
  'a node that does not get the lock does nothing',
  { skip: app.database.kind === 'pglite' && 'PGlite has one session: there is no other node' },
  async (t) => {
    const ind = await postIndicator(app, O.contributor.token)
    await backdate(app, 'indicator', ind.id, 60)
    // Another node holds the lock, in its own transaction, while this one runs.
    await app.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${0x64637812})`)
      const run = await app.retentionJob.runOnce()
      t.equal(run.locked, true, 'locked out')
      t.same(run.erased, [])
    })
    t.equal(json(await as(app, O.reader.token).get(`/v1/indicators/${ind.id}`)).status, 'active', 'left for the next run')
    const run = await app.retentionJob.runOnce()
    t.ok(
      run.erased.some((e) => e.id === ind.id),
      'the next run erases it',
    )
  },
)

t.test('the interval is configuration; the job is on by default and off in tests', async (t) => {
  const { loadConfig } = await import('../../src/config.js')
  t.match(loadConfig({}), { retentionJob: true, retentionIntervalMs: 3_600_000 })
  t.match(loadConfig({ DCX_RETENTION_JOB: 'false', DCX_RETENTION_INTERVAL_MS: '60000' }), { retentionJob: false, retentionIntervalMs: 60_000 })
  t.throws(() => loadConfig({ DCX_RETENTION_INTERVAL_MS: '10' }), /DCX_RETENTION_INTERVAL_MS/)
  t.equal(app.config.retentionJob, false)
})
