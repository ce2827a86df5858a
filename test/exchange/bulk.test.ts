// Bulk ingest: up to 1,000 items, one result per item in order; valid items are committed even
// when others are invalid, each invalid one names its field as items.N.field.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { as, buildTestApp, isProblem, orgWith } from '../helper.js'
import { countAs, createGroup, rowsAs, word } from './fixtures.js'

const app = await buildTestApp(t)

interface Result {
  index: number
  status: 'created' | 'invalid'
  id?: string
  problem?: { detail: string; errors: { name: string; reason: string }[] }
}

t.test('1,000 items, every 10th invalid: 900 created, 100 named problems, in order', async (t) => {
  const { org, contributor } = await orgWith(app, ['contributor'], { sector: 'customs' })
  const other = await orgWith(app, ['org_admin'], { sector: 'police' })
  const foreignGroup = await createGroup(app, other.org_admin.token, word('g'), [])
  const run = word('bulk')
  // The invalid kinds cycle; each names the field it is about.
  const invalidKinds: [Record<string, unknown>, string][] = [
    [{ type: 'email', value: 'no-at-sign' }, 'value'],
    [{ type: 'vendor_alias', value: 'x', tlp: 'purple' }, 'tlp'],
    [{ type: 'vendor_alias', value: 'x', tlp: 'red', distribution: 'community' }, 'tlp'],
    [{ type: 'vendor_alias', value: 'x', countries: ['DE', 'XX'] }, 'countries.1'],
    [{ type: 'vendor_alias', value: 'x', organisationId: other.org.id }, 'organisationId'],
    [{ type: 'vendor_alias', value: 'x', distribution: 'sharing_group', sharingGroupId: foreignGroup.id }, 'sharingGroupId'],
    [{ type: 'vendor_alias', value: 'x', confidence: 101 }, 'confidence'],
    [{ type: 'carrier_pigeon', value: 'x' }, 'type'],
    [{ type: 'postal_item', value: 'RR123456784DE' }, 'value'],
    [{ type: 'vendor_alias', value: 'x', validFrom: '2026-02-01T00:00:00Z', validUntil: '2026-01-01T00:00:00Z' }, 'validUntil'],
  ]
  const items = Array.from({ length: 1000 }, (_, i) => {
    if (i % 10 === 9) return invalidKinds[((i - 9) / 10) % invalidKinds.length]?.[0]
    return { type: 'vendor_alias', value: `${run} item ${i}`, tlp: 'green', distribution: 'community', tags: [run], countries: ['NL'] }
  })

  const res = await as(app, contributor.token).post('/v1/indicators/bulk', { items })
  t.equal(res.statusCode, 200, res.statusCode === 200 ? 'ok' : res.body.slice(0, 300))
  const { results } = res.json() as { results: Result[] }
  t.equal(results.length, 1000)
  t.ok(
    results.every((r, i) => r.index === i),
    'results are in item order',
  )
  const created = results.filter((r) => r.status === 'created')
  const invalid = results.filter((r) => r.status === 'invalid')
  t.equal(created.length, 900)
  t.equal(invalid.length, 100)
  t.ok(
    created.every((r) => typeof r.id === 'string' && !r.problem),
    'created ones carry an id, no problem',
  )
  t.equal(new Set(created.map((r) => r.id)).size, 900, 'distinct ids')
  for (const r of invalid) {
    const field = invalidKinds[((r.index - 9) / 10) % invalidKinds.length]?.[1]
    t.equal(r.index % 10, 9)
    t.notOk(r.id)
    t.ok(
      r.problem?.errors.some((e) => e.name === `items.${r.index}.${field}`),
      `item ${r.index}: names items.${r.index}.${field}`,
    )
    t.ok(
      r.problem?.errors.every((e) => e.name.startsWith(`items.${r.index}.`) && e.reason.length > 0),
      `item ${r.index}: every error is about this item`,
    )
    t.match(r.problem?.detail, new RegExp(`^items\\.${r.index}\\.`))
  }

  t.equal(await countAs(app, org, sql`select count(*) as n from indicators where organisation_id = ${org.id}`), 900, 'exactly 900 rows for the organisation')
  // Each id holds the item at its index (ids come back from multi-row inserts).
  const stored = await rowsAs<{ id: string; value: string }>(app, org, sql`select id, value from indicators where organisation_id = ${org.id}`)
  const byId = new Map(stored.map((r) => [r.id, r.value]))
  t.ok(
    created.every((r) => byId.get(r.id as string) === `${run} item ${r.index}`),
    'every id holds the value of its own item',
  )
  const listed = await as(app, contributor.token).get(`/v1/indicators?tag=${run}&limit=500`)
  t.equal(listed.json().items.length, 500)
  t.equal(listed.json().nextCursor === null, false, 'more than one page')
})

t.test('limits and shape', async (t) => {
  const { org, contributor } = await orgWith(app, ['contributor'], { sector: 'customs' })
  const c = as(app, contributor.token)
  const item = () => ({ type: 'vendor_alias', value: word('v') })
  const tooMany = isProblem(t, await c.post('/v1/indicators/bulk', { items: Array.from({ length: 1001 }, item) }), 400)
  t.match(tooMany.errors, [{ name: 'body.items' }])
  for (const body of [{ items: 'not an array' }, { items: { 0: item() } }, { items: [] }, {}, { items: [item()], extra: 1 }, []]) {
    const p = isProblem(t, await c.post('/v1/indicators/bulk', body), 400)
    t.ok(
      p.errors?.some((e) => e.name.startsWith('body')),
      `${JSON.stringify(body).slice(0, 40)}: names the body`,
    )
  }
  t.equal(await countAs(app, org, sql`select count(*) as n from indicators where organisation_id = ${org.id}`), 0, 'nothing stored')

  // Items that are not objects are per-item problems, not a failed request.
  const odd = await c.post('/v1/indicators/bulk', { items: [null, 'text', 7, [], item()] })
  t.equal(odd.statusCode, 200)
  const r = (odd.json() as { results: Result[] }).results
  t.strictSame(
    r.map((x) => x.status),
    ['invalid', 'invalid', 'invalid', 'invalid', 'created'],
  )
  t.ok(r.slice(0, 4).every((x, i) => x.problem?.errors[0]?.name.startsWith(`items.${i}`)))

  // Exactly 1,000 is allowed; all invalid is a 200 with 1,000 problems and no rows.
  const allBad = await c.post('/v1/indicators/bulk', { items: Array.from({ length: 1000 }, () => ({ type: 'email', value: 'nope' })) })
  t.equal(allBad.statusCode, 200)
  t.ok((allBad.json() as { results: Result[] }).results.every((x) => x.status === 'invalid'))
  t.equal(await countAs(app, org, sql`select count(*) as n from indicators where organisation_id = ${org.id}`), 1)
})
