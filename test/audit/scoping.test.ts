// Who reads the audit trail, and how: org_admins see their own organisation's events only;
// auditors and platform admins see everyone's; filters and keyset paging; reading is audited.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import type { AuditEvent } from '../../src/modules/audit/audit.service.js'
import { as, buildTestApp, createAccount, createOrg, isProblem, json, orgWith, unique } from '../helper.js'

interface Page {
  items: AuditEvent[]
  nextCursor: string | null
}

t.test('audit reading: scope by role, filters, paging', async (t) => {
  const app = await buildTestApp(t)
  const a = await orgWith(app, ['org_admin', 'contributor', 'reader'], { sector: 'police' })
  const b = await orgWith(app, ['org_admin', 'contributor'], { sector: 'customs' })
  const home = await createOrg(app)
  const auditor = await createAccount(app, home.id, ['auditor'])
  const platform = await createAccount(app, home.id, ['platform_admin'])

  // Some history in both organisations.
  const indicatorOf = async (token: string) =>
    json<{ id: string }>(
      await as(app, token).post('/v1/indicators', { type: 'domain', value: `${unique('sc')}.example`, distribution: 'community', tlp: 'green' }),
    ).id
  const aInd = await indicatorOf(a.contributor.token)
  const bInds: string[] = []
  for (let i = 0; i < 6; i++) bInds.push(await indicatorOf(b.contributor.token))
  for (const id of bInds) await as(app, b.contributor.token).get(`/v1/indicators/${id}`)
  await as(app, b.contributor.token).get(`/v1/indicators/${randomUUID()}`) // 404: denied
  await as(app, a.reader.token).get(`/v1/indicators/${bInds[0]}`)

  const get = async (token: string, query = '') => {
    const res = await as(app, token).get(`/v1/audit/events${query ? `?${query}` : ''}`)
    t.equal(res.statusCode, 200, res.body.slice(0, 200))
    return json<Page>(res)
  }

  // org_admin: own organisation only, whatever the filter says.
  const own = await get(a.org_admin.token, 'limit=1000')
  t.ok(own.items.length >= 2, "org_admin sees its organisation's events")
  t.ok(
    own.items.every((e) => e.organisationId === a.org.id),
    'and only those',
  )
  t.ok(own.items.some((e) => e.accountId === a.contributor.id && e.action === 'indicator.create'))
  const sneaky = await get(a.org_admin.token, `organisationId=${b.org.id}`)
  t.ok(
    sneaky.items.every((e) => e.organisationId === a.org.id),
    'a filter for another organisation yields nothing of it',
  )
  t.equal(sneaky.items.length, 0)
  t.same((await get(a.org_admin.token, `accountId=${b.contributor.id}`)).items, [], "nor another organisation's account")
  const ownExport = await as(app, a.org_admin.token).get(`/v1/audit/export?organisationId=${b.org.id}`)
  t.equal(ownExport.statusCode, 200)
  t.equal(ownExport.body.trim(), '', 'the export is scoped the same way')
  const ownAll = (await as(app, a.org_admin.token).get('/v1/audit/export')).body
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditEvent)
  t.ok(ownAll.length > 0 && ownAll.every((e) => e.organisationId === a.org.id), 'export: own organisation only')

  // Readers and contributors: refused, nothing streamed.
  for (const [who, token] of [
    ['reader', a.reader.token],
    ['contributor', a.contributor.token],
  ] as const) {
    isProblem(t, await as(app, token).get('/v1/audit/events'), 403)
    isProblem(t, await as(app, token).get('/v1/audit/export'), 403)
    isProblem(t, await as(app, token).get('/v1/audit/verify'), 403)
    isProblem(t, await as(app, token).get('/v1/audit/checkpoints'), 403)
    t.pass(`${who} refused`)
  }
  isProblem(t, await as(app, a.org_admin.token).get('/v1/audit/verify'), 403)
  isProblem(t, await as(app, a.org_admin.token).get('/v1/audit/checkpoints'), 403)
  isProblem(t, await as(app, undefined).get('/v1/audit/events'), 401)

  // Auditor and platform admin: any organisation.
  for (const token of [auditor.token, platform.token]) {
    const ofB = await get(token, `organisationId=${b.org.id}&limit=1000`)
    t.ok(ofB.items.length >= 13 && ofB.items.every((e) => e.organisationId === b.org.id), 'events of another organisation')
    const ofA = await get(token, `organisationId=${a.org.id}&limit=1000`)
    t.ok(ofA.items.some((e) => e.accountId === a.reader.id))
    t.equal((await as(app, token).get('/v1/audit/verify')).statusCode, 200)
    const cps = await as(app, token).get('/v1/audit/checkpoints?limit=2')
    t.equal(cps.statusCode, 200)
  }

  // Filters.
  const A = (q: string) => get(auditor.token, q)
  const byAccount = await A(`accountId=${b.contributor.id}&limit=1000`)
  t.ok(byAccount.items.length >= 13 && byAccount.items.every((e) => e.accountId === b.contributor.id), 'accountId')
  const creates = await A(`accountId=${b.contributor.id}&action=indicator.create`)
  t.equal(creates.items.length, 6, 'action')
  t.ok(creates.items.every((e) => e.action === 'indicator.create'))
  const one = await A(`resourceType=indicator&resourceId=${bInds[0]}`)
  t.same(new Set(one.items.map((e) => e.accountId)), new Set([b.contributor.id, a.reader.id]), 'resourceType + resourceId')
  t.ok(one.items.every((e) => e.resourceId === bInds[0] && e.resourceType === 'indicator'))
  const denied = await A(`accountId=${b.contributor.id}&outcome=denied`)
  t.equal(denied.items.length, 1, 'outcome')
  t.match(denied.items[0], { action: 'indicator.read', status: 404 })
  t.equal((await A(`organisationId=${a.org.id}&resourceId=${aInd}&action=indicator.read`)).items.length, 0, 'filters combine')

  // from (inclusive) and to (exclusive), taken from the events' own times.
  const sorted = [...byAccount.items].sort((x, y) => x.id - y.id)
  const mid = sorted[6] as AuditEvent
  const from = await A(`accountId=${b.contributor.id}&from=${encodeURIComponent(mid.time)}&limit=1000`)
  t.ok(from.items.every((e) => e.time >= mid.time) && from.items.some((e) => e.id === mid.id), 'from is inclusive')
  const to = await A(`accountId=${b.contributor.id}&to=${encodeURIComponent(mid.time)}&limit=1000`)
  t.ok(to.items.every((e) => e.time < mid.time) && !to.items.some((e) => e.id === mid.id), 'to is exclusive')
  t.equal(from.items.length + to.items.length, byAccount.items.length, 'from and to partition the events')
  isProblem(t, await as(app, auditor.token).get('/v1/audit/events?from=yesterday'), 400)
  isProblem(t, await as(app, auditor.token).get('/v1/audit/events?outcome=maybe'), 400)

  // Keyset paging, newest first, five at a time.
  const seen: number[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const page: Page = await A(`accountId=${b.contributor.id}&limit=5${cursor ? `&cursor=${cursor}` : ''}`)
    t.ok(page.items.length <= 5)
    seen.push(...page.items.map((e) => e.id))
    cursor = page.nextCursor
    pages++
  } while (cursor && pages < 50)
  t.equal(new Set(seen).size, seen.length, 'no duplicates across pages')
  t.same(
    seen,
    [...seen].sort((x, y) => y - x),
    'newest first',
  )
  t.same(
    seen,
    byAccount.items.map((e) => e.id),
    'the pages together are the whole list',
  )
  t.equal(pages, Math.ceil(seen.length / 5))
  isProblem(t, await as(app, auditor.token).get('/v1/audit/events?cursor=bogus'), 400)

  // Reading the audit trail is itself audited, with its filters.
  const read = await as(app, auditor.token).get(`/v1/audit/events?accountId=${b.contributor.id}&outcome=denied`)
  const rid = read.headers['x-request-id'] as string
  const trail = await A(`accountId=${auditor.id}&action=audit.event.list&limit=1000`)
  const mine = trail.items.find((e) => e.requestId === rid)
  t.match(mine, {
    action: 'audit.event.list',
    resourceType: 'audit',
    outcome: 'ok',
    organisationId: home.id,
    details: { filters: { accountId: b.contributor.id, outcome: 'denied' } },
  })
  const exportTrail = await A(`accountId=${a.org_admin.id}&action=audit.export`)
  t.equal(exportTrail.items.length, 2, 'exports are audited too')
  const refusedTrail = await A(`accountId=${a.reader.id}&outcome=denied`)
  t.ok(
    ['audit.event.list', 'audit.export', 'audit.verify', 'audit.checkpoint.list'].every((x) =>
      refusedTrail.items.some((e) => e.action === x && e.status === 403),
    ),
    'refused audit reads are audited',
  )
})
