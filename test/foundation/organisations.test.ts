// Organisations: create (Location, ETag), directory paging by keyset (stable under inserts),
// PATCH with If-Match, suspension, duplicate names.
import { randomInt } from 'node:crypto'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { as, buildTestApp, json, orgWith, unique } from '../helper.js'
import { problem, type Tap } from './support.js'

interface Org {
  id: string
  name: string
  sector: string
  country: string
  status: string
  contact: { email: string; phone?: string; hours?: string }
  createdAt: string
  updatedAt: string
}
interface Page {
  items: Org[]
  nextCursor: string | null
}

// Rarely used combinations, so parallel files on one database seldom share a filter.
const COUNTRIES = ['IS', 'LI', 'MC', 'SM', 'AD', 'VA', 'MT', 'LU', 'FO', 'GI', 'GL', 'AX', 'SJ', 'IM', 'JE', 'GG']
const SECTORS = ['academia', 'judiciary', 'courier', 'border', 'industry'] as const

t.test('organisations', async (t) => {
  const app: FastifyInstance = await buildTestApp(t)
  const { platform_admin: pa, org: home } = await orgWith(app, ['platform_admin'], { sector: 'international' })
  const { reader } = await orgWith(app, ['reader'])
  const admin = as(app, pa.token)
  const country = COUNTRIES[randomInt(COUNTRIES.length)] as string
  const sector = SECTORS[randomInt(SECTORS.length)] as string
  const create = (name = unique('Org')) =>
    admin.post('/v1/organisations', {
      name,
      sector,
      country,
      contact: { email: `Desk-${name.replace(/\W/g, '')}@Example.org`, phone: '+3545551234', hours: 'Mon–Fri' },
    })

  t.test('create: 201, Location, ETag; readable by every account', async (t) => {
    const name = unique('Onboarded')
    const res = await create(name)
    t.equal(res.statusCode, 201, res.body)
    const org = json<Org>(res)
    t.match(org, { name, sector, country, status: 'active', contact: { phone: '+3545551234', hours: 'Mon–Fri' } })
    t.equal(org.contact.email, org.contact.email.toLowerCase(), 'the desk email is stored lower-cased')
    t.equal(res.headers.location, `/v1/organisations/${org.id}`)
    t.equal(res.headers.etag, '"1"')
    t.ok(!Number.isNaN(Date.parse(org.createdAt)))
    const got = await as(app, reader.token).get(res.headers.location as string)
    t.equal(got.statusCode, 200)
    t.equal(got.headers.etag, '"1"')
    t.same(json(got), org, 'GET returns what POST returned')
  })

  t.test('duplicate name → 409 problem, nothing created', async (t) => {
    const name = unique('Twin')
    t.equal((await create(name)).statusCode, 201)
    const body = problem(t, await create(name), 409)
    t.notMatch(JSON.stringify(body), /duplicate key|violates|organisations_name/, 'no database detail')
    const patchOther = await admin.patch(`/v1/organisations/${json<Org>(await create()).id}`, { name })
    problem(t, patchOther, 409)
    const all = await walk(t, `country=${country}&sector=${sector}`, 100)
    t.equal(all.filter((o) => o.name === name).length, 1, 'exactly one organisation with that name')
  })

  /** Every item of a filtered directory listing, following nextCursor. */
  async function walk(t: Tap, filter: string, limit: number, between?: (pageNo: number) => Promise<void>) {
    const seen: Org[] = []
    let cursor: string | null = null
    let pageNo = 0
    do {
      const res = await as(app, reader.token).get(`/v1/organisations?${filter}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`)
      t.equal(res.statusCode, 200, res.body.slice(0, 200))
      const page = json<Page>(res)
      t.ok(page.items.length <= limit, 'a page holds at most limit items')
      seen.push(...page.items)
      cursor = page.nextCursor
      if (between) await between(++pageNo)
      if (pageNo > 10_000) throw new Error('paging does not terminate')
    } while (cursor)
    return seen
  }

  t.test('keyset paging: limit=2 across the directory, each organisation exactly once', async (t) => {
    const mine: string[] = []
    for (let i = 0; i < 5; i++) mine.push(json<Org>(await create(unique(`Paged ${i}`))).id)
    let inserted: string | undefined
    const seen = await walk(t, `country=${country}&sector=${sector}`, 2, async (pageNo) => {
      // A new organisation appears between the first and second page.
      if (pageNo === 1) inserted = json<Org>(await create(unique('Late'))).id
    })
    const ids = seen.map((o) => o.id)
    t.equal(new Set(ids).size, ids.length, 'no organisation appears twice')
    for (const id of mine) t.equal(ids.filter((x) => x === id).length, 1, `created ${id} appears exactly once`)
    t.equal(ids.filter((x) => x === inserted).length, 1, 'the one inserted mid-walk appears once, at the end')
    t.ok(
      seen.every((o) => o.country === country && o.sector === sector),
      'the filter holds on every page',
    )
    const order = seen.map((o) => `${o.createdAt}|${o.id}`)
    t.same(order, [...order].sort(), 'ordered by (createdAt, id)')
    const late = seen.findIndex((o) => o.id === inserted)
    t.ok(
      mine.every((id) => ids.indexOf(id) < late),
      'the late one sorts after the five',
    )
  })

  t.test('PATCH with If-Match; stale → 412; suspension', async (t) => {
    const org = json<Org>(await create())
    const v1 = await admin.patch(`/v1/organisations/${org.id}`, { contact: { hours: '24/7' } }, { 'if-match': '"1"' })
    t.equal(v1.statusCode, 200, v1.body)
    t.equal(v1.headers.etag, '"2"')
    t.match(json<Org>(v1), { contact: { hours: '24/7', phone: '+3545551234' } }, 'a partial contact patch keeps the rest')
    t.ok(json<Org>(v1).updatedAt >= org.updatedAt)
    const stale = await admin.patch(`/v1/organisations/${org.id}`, { name: unique('Stale') }, { 'if-match': '"1"' })
    problem(t, stale, 412)
    t.equal(stale.headers.etag, '"2"')
    t.equal(json<Org>(await admin.get(`/v1/organisations/${org.id}`)).name, org.name, 'the stale write changed nothing')
    // Without If-Match the write is unconditional.
    const renamed = await admin.patch(`/v1/organisations/${org.id}`, { name: unique('Renamed'), sector: 'police', country })
    t.equal(renamed.statusCode, 200)
    t.equal(renamed.headers.etag, '"3"')
    t.match(json<Org>(renamed), { sector: 'police', country })

    const suspended = await admin.patch(`/v1/organisations/${org.id}`, { status: 'suspended' }, { 'if-match': '"3"' })
    t.equal(suspended.statusCode, 200)
    t.equal(json<Org>(suspended).status, 'suspended')
    const listed = json<Page>(await admin.get(`/v1/organisations?status=suspended&country=${country}&sector=police&limit=500`))
    t.ok(
      listed.items.some((o) => o.id === org.id),
      'listed under status=suspended',
    )
    t.equal(json<Org>(await as(app, reader.token).get(`/v1/organisations/${org.id}`)).status, 'suspended', 'the directory shows it suspended')
    problem(t, await admin.patch(`/v1/organisations/${home.id}`, { status: 'suspended' }), 409)
    const back = await admin.patch(`/v1/organisations/${org.id}`, { status: 'active' })
    t.equal(json<Org>(back).status, 'active')
  })
})
