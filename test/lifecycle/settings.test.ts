// Organisation settings (DESIGN §7): four-eyes publication and retention periods, read and
// changed by that organisation's org_admin or a platform admin; audited with before and after;
// ETag/If-Match like the other PATCHes; bad input is a 400 naming the field. The role ×
// organisation matrix is in test/foundation/roles-matrix.test.ts.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { as, buildTestApp, createAccount, json, orgWith, unique } from '../helper.js'
import { problem } from '../foundation/support.js'
import { eventsOf } from './support.js'
import { rowsAs } from '../exchange/fixtures.js'

const app = await buildTestApp(t)

t.test('defaults, a change, and what the change does to new items', async (t) => {
  // Onboarded through the API, so the service's own defaults apply.
  const { platform_admin } = await orgWith(app, ['platform_admin'])
  const onboarded = await as(app, platform_admin.token).post('/v1/organisations', {
    name: unique('Settings org'),
    sector: 'police',
    country: 'NL',
    contact: { email: 'desk@example.org' },
  })
  const org = { id: json<{ id: string }>(onboarded).id, name: 'onboarded', sector: 'police' as const }
  const org_admin = await createAccount(app, org.id, ['org_admin'])
  const contributor = await createAccount(app, org.id, ['contributor'])
  const admin = as(app, org_admin.token)
  const url = `/v1/organisations/${org.id}/settings`

  const first = await admin.get(url)
  t.equal(first.statusCode, 200)
  t.same(json(first), { fourEyes: true, retention: { personalDataMonths: 12, otherMonths: 36 } }, 'defaults: four-eyes on, 12 and 36 months')
  const tag = first.headers.etag as string
  t.match(tag, /^"\d+"$/)

  const changed = await admin.patch(url, { fourEyes: false, retention: { personalDataMonths: 6 } }, { 'if-match': tag })
  t.equal(changed.statusCode, 200, changed.body)
  t.same(json(changed), { fourEyes: false, retention: { personalDataMonths: 6, otherMonths: 36 } }, 'only the fields sent change')
  t.not(changed.headers.etag, tag, 'a new ETag')
  t.same(json(await admin.get(url)), json(changed), 'read back')

  const [event] = await eventsOf(app, changed)
  t.match(event, {
    action: 'organisation.settings.update',
    resourceType: 'organisation',
    resourceId: org.id,
    outcome: 'ok',
    details: {
      changed: ['fourEyes', 'retention'],
      before: { fourEyes: true, retention: { personalDataMonths: 12, otherMonths: 36 } },
      after: { fourEyes: false, retention: { personalDataMonths: 6, otherMonths: 36 } },
    },
  })

  const stale = await admin.patch(url, { fourEyes: true }, { 'if-match': tag })
  problem(t, stale, 412)
  t.equal(json(await admin.get(url)).fourEyes, false, 'a stale If-Match changes nothing')

  // A new personal-data item's review-by date comes from the new period.
  const created = await as(app, contributor.token).post('/v1/indicators', { type: 'email', value: `${unique('p')}@example.org`, distribution: 'organisation' })
  t.equal(created.statusCode, 201, created.body)
  const [row] = await rowsAs<{ months: number }>(
    app,
    org,
    sql`select (extract(year from age(review_by, created_at)) * 12 + extract(month from age(review_by, created_at)))::int as months from indicators where id = ${json(created).id as string}`,
  )
  t.equal(row?.months, 6, 'review-by = creation + 6 months')
})

t.test('bad input: 400 naming the field; nothing changes', async (t) => {
  const { org, org_admin } = await orgWith(app, ['org_admin'], { fourEyes: true })
  const admin = as(app, org_admin.token)
  const url = `/v1/organisations/${org.id}/settings`
  problem(t, await admin.patch(url, { retention: { personalDataMonths: 0 } }), 400, ['body.retention.personalDataMonths'])
  problem(t, await admin.patch(url, { retention: { otherMonths: 61 } }), 400, ['body.retention.otherMonths'])
  problem(t, await admin.patch(url, { retention: { otherMonths: 1.5 } }), 400, ['body.retention.otherMonths'])
  problem(t, await admin.patch(url, { fourEyes: 'yes' }), 400, ['body.fourEyes'])
  problem(t, await admin.patch(url, { version: 9 }), 400)
  problem(t, await admin.patch(url, {}), 400)
  problem(t, await admin.patch(url, { retention: {} }), 400)
  problem(t, await admin.patch(url, { fourEyes: false }, { 'if-match': 'soon' }), 400, ['header.if-match'])
  t.same(json(await admin.get(url)), { fourEyes: true, retention: { personalDataMonths: 12, otherMonths: 36 } }, 'unchanged')
})

t.test("a platform admin changes another organisation's settings; its org_admin sees the change", async (t) => {
  const { org, org_admin } = await orgWith(app, ['org_admin'], { fourEyes: true })
  const { platform_admin } = await orgWith(app, ['platform_admin'])
  const res = await as(app, platform_admin.token).patch(`/v1/organisations/${org.id}/settings`, { retention: { otherMonths: 60 } })
  t.equal(res.statusCode, 200, res.body)
  t.same(json(await as(app, org_admin.token).get(`/v1/organisations/${org.id}/settings`)).retention, { personalDataMonths: 12, otherMonths: 60 })
  const refused = await as(app, org_admin.token).patch(`/v1/organisations/${platform_admin.organisationId}/settings`, { fourEyes: false })
  const body = problem(t, refused, 403)
  t.match(body.detail, /org_admin/)
  const [event] = await eventsOf(app, refused)
  t.match(event, { action: 'organisation.settings.update', outcome: 'denied', status: 403 })
})
