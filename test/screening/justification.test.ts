// Screening personal data is a consultation (DESIGN §7, "Justification"): evaluate and resolve of a
// personal-data type need a DCX-Justification header or the account's default, else 428 with
// nothing evaluated and no quota used; the justification given is in the audit event and in the
// owner's disclosure notice. A non-personal type needs none.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { prepareScreening } from '../../src/screening/client.js'
import type { KeysEntry } from '../../src/screening/wire.js'
import { as, buildTestApp, createAccount, isProblem, json, orgWith, unique } from '../helper.js'

const app = await buildTestApp(t)
const postal = await orgWith(app, ['reader'], { sector: 'postal' })
const bare = await createAccount(app, postal.org.id, ['reader'], { defaultJustification: null })
const key = json<{ current: KeysEntry } & KeysEntry>(await as(app, bare.token).get('/v1/screening/keys'))
const epoch = (key.current ?? key).epoch

const quotaUsed = async () => {
  const [row] = await app.database.asOwner((q) => q(sql`select coalesce(sum(used), 0)::int as n from screening_quota where organisation_id = ${postal.org.id}`))
  return Number(row?.n)
}

t.test('evaluate of a personal-data type: 428 without a justification, nothing counted', async (t) => {
  const batch = prepareScreening('phone', ['+49 30 1234567'])
  const res = await as(app, bare.token).post('/v1/screening/evaluate', batch.request(epoch))
  isProblem(t, res, 428)
  t.match(json(res).detail, /DCX-Justification/)
  t.notOk('evaluated' in json(res), 'nothing evaluated')
  t.equal(await quotaUsed(), 0, 'no quota used')
})

t.test('with the header: evaluated, and the justification is audited', async (t) => {
  const reason = `case ${unique('ref')}`
  const batch = prepareScreening('phone', ['+49 30 1234567'])
  const res = await as(app, bare.token).post('/v1/screening/evaluate', batch.request(epoch), { 'dcx-justification': reason })
  t.equal(res.statusCode, 200, res.body)
  const [event] = await app.database.asOwner((q) =>
    q(sql`select details from audit_events where action = 'screening.evaluate' and request_id = ${res.headers['x-request-id'] as string}`),
  )
  t.equal((event?.details as { justification?: string } | undefined)?.justification, reason)
})

t.test('resolve of a personal-data type: 428 without a justification', async (t) => {
  const res = await as(app, bare.token).post('/v1/screening/resolve', { epoch, type: 'email', tags: ['AAAAAAAAAAA'] })
  isProblem(t, res, 428)
})

t.test('a non-personal type needs no justification', async (t) => {
  const batch = prepareScreening('vendor_alias', ['some-vendor'])
  const res = await as(app, bare.token).post('/v1/screening/evaluate', batch.request(epoch))
  t.equal(res.statusCode, 200, res.body)
})
