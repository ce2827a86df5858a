// POST /v1/import/stix at its limit: one 10,000-object bundle (more than the 8 MiB bulk and match
// allow) with valid indicators, objects repeated within the bundle (same id, or same value under
// another id), objects the organisation already holds, unsupported types and patterns, invalid
// values and ids. Statuses are those of importing the objects one after another; the rows in the
// database are exactly the created ones. No timing is asserted here (scripts/bench-ingest.ts
// measures it).
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { as, buildTestApp, isProblem, json, orgWith } from '../helper.js'
import { countAs, rowsAs, word } from '../exchange/fixtures.js'
import type { ImportResult as Result } from '../../src/modules/stix/stix.import.js'

interface ImportOut {
  results: Result[]
  counts: Record<string, number>
}

const N = 10_000
const app = await buildTestApp(t)

const bundleOf = (objects: object[]) => ({ type: 'bundle', id: `bundle--${randomUUID()}`, objects })
// About 1 kB an object, as a DCX export's are: 10,000 of them are more than 8 MiB.
const filler = 'Seen on several marketplaces; reshipped through parcel lockers; paid in XMR. '.repeat(8)
const indicator = (id: string, pattern: string, extra: object = {}) => ({
  type: 'indicator',
  spec_version: '2.1',
  id,
  created: '2026-01-01T00:00:00.000Z',
  modified: '2026-01-01T00:00:00.000Z',
  name: 'large import',
  description: filler,
  pattern,
  pattern_type: 'stix',
  valid_from: '2026-01-01T00:00:00Z',
  labels: ['large-import'],
  confidence: 70,
  ...extra,
})

t.test('10,000 objects in one bundle: statuses as sequential import, rows exactly the created ones', async (t) => {
  const { org, contributor } = await orgWith(app, ['contributor'])
  const A = as(app, contributor.token)
  const run = word('big')
  const domain = (i: number) => `${run}-${i}.example`

  // Per index, by i % 10: 0–5 a new indicator; 6 the object at i − 6 again (same id); 7 the value
  // of i − 7 in capitals under a new id (the same once normalised); 8 unsupported (a malware
  // object, or a YARA pattern); 9 a pattern no DCX type maps to, or an invalid postal item
  // number, or an id that is no indicator--<UUID>.
  const objects: Record<string, unknown>[] = []
  for (let i = 0; i < N; i++) {
    const k = i % 10
    if (k <= 5) objects.push(indicator(`indicator--${randomUUID()}`, `[domain-name:value = '${domain(i)}']`))
    else if (k === 6) objects.push(objects[i - 6] as Record<string, unknown>)
    else if (k === 7) objects.push(indicator(`indicator--${randomUUID()}`, `[domain-name:value = '${domain(i - 7).toUpperCase()}']`))
    else if (k === 8)
      objects.push(
        i % 20 === 8
          ? { type: 'malware', spec_version: '2.1', id: `malware--${randomUUID()}`, name: 'x', is_family: false }
          : indicator(`indicator--${randomUUID()}`, 'rule x { condition: true }', { pattern_type: 'yara' }),
      )
    else if (i % 30 === 9) objects.push(indicator(`indicator--${randomUUID()}`, `[domain-name:value = '${domain(i)}' OR domain-name:value = 'b.example']`))
    else if (i % 30 === 19) objects.push(indicator(`indicator--${randomUUID()}`, "[dcx-postal-item:value = 'RR123456780DE']"))
    else objects.push(indicator(`indicator-${i}`, `[domain-name:value = '${domain(i)}']`))
  }

  // The first 60 new ones are imported first: in the large bundle they (and their repeats) are
  // duplicates of rows already stored.
  const early = objects.slice(0, 100).filter((_, i) => i % 10 <= 5)
  const first = json<ImportOut>(await A.post('/v1/import/stix?distribution=community&tlp=green', bundleOf(early)))
  t.same(first.counts, { created: 60, duplicate: 0, kept: 0, unsupported: 0, invalid: 0 })
  const storedId = new Map(first.results.map((r) => [(r as Result).id, r.indicatorId as string]))

  const body = JSON.stringify(bundleOf(objects))
  t.ok(body.length > 8 * 1024 * 1024, `the bundle is ${(body.length / 1048576).toFixed(1)} MiB`)
  const res = await app.inject({
    method: 'POST',
    url: '/v1/import/stix?distribution=community&tlp=green',
    headers: { authorization: `Bearer ${contributor.token}`, 'content-type': 'application/stix+json' },
    payload: body,
  })
  t.equal(res.statusCode, 200, res.statusCode === 200 ? 'ok' : res.body.slice(0, 300))
  const out = json<ImportOut>(res)
  t.equal(out.results.length, N)
  t.ok(
    out.results.every((r, i) => r.index === i),
    'one result per object, in order',
  )
  t.same(out.counts, { created: 5940, duplicate: 2060, kept: 0, unsupported: 1334, invalid: 666 })

  // Each result against what importing the objects one after another gives.
  const wrong: string[] = []
  const expect = (i: number, ok: boolean, what: string) => {
    if (!ok && wrong.length < 20) wrong.push(`${i}: ${what}: ${JSON.stringify(out.results[i])}`)
  }
  for (const [i, r] of out.results.entries()) {
    const k = i % 10
    const origin = k === 6 ? i - 6 : k === 7 ? i - 7 : i
    if (k <= 7) {
      const stored = storedId.get((objects[origin] as { id: string }).id)
      if (k <= 5 && !stored) expect(i, r.status === 'created' && !!r.indicatorId && !!r.version, 'created')
      else {
        // A duplicate names the item it duplicates: the stored one, or the one made from the
        // object at `origin` earlier in this bundle, and the version that one exports with.
        const of = stored ?? out.results[origin]?.indicatorId
        expect(i, r.status === 'duplicate' && r.indicatorId === of && !!of, `duplicate of ${of}`)
        if (!stored) expect(i, r.version === out.results[origin]?.version, 'the version of the item it duplicates')
      }
    } else if (k === 8) expect(i, r.status === 'unsupported', 'unsupported')
    else if (i % 30 === 9) expect(i, r.status === 'unsupported' && /single comparison/.test(r.reason ?? ''), 'unsupported pattern')
    else if (i % 30 === 19) expect(i, r.status === 'invalid' && /check digit|S10|not valid/i.test(r.reason ?? ''), 'invalid value')
    else expect(i, r.status === 'invalid' && /indicator--<UUID>/.test(r.reason ?? ''), 'invalid id')
  }
  t.same(wrong, [], 'every result is the sequential one')

  // The database holds exactly the created items (and the 60 from before), each with its value.
  t.equal(await countAs(app, org, sql`select count(*) as n from indicators where organisation_id = ${org.id}`), 6000, '6,000 rows for the organisation')
  const stored = await rowsAs<{ id: string; normalized_value: string; tlp: string; distribution: string; created_by: string | null }>(
    app,
    org,
    sql`select id, normalized_value, tlp, distribution, created_by from indicators where organisation_id = ${org.id}`,
  )
  const byId = new Map(stored.map((r) => [r.id, r]))
  const created = out.results.filter((r) => r.status === 'created')
  t.ok(
    created.every((r) => byId.get(r.indicatorId as string)?.normalized_value === domain(r.index)),
    'every created id holds the value of its own object',
  )
  t.ok(
    stored.every((r) => r.tlp === 'green' && r.distribution === 'community' && r.created_by === contributor.id),
    'placement from the request; created by the caller',
  )

  // The same bundle again: nothing new, every former creation now a duplicate of itself.
  const again = await app.inject({
    method: 'POST',
    url: '/v1/import/stix?distribution=community&tlp=green',
    headers: { authorization: `Bearer ${contributor.token}`, 'content-type': 'application/json' },
    payload: body,
  })
  const second = json<ImportOut>(again)
  t.same(second.counts, { created: 0, duplicate: 8000, kept: 0, unsupported: 1334, invalid: 666 })
  t.ok(
    created.every((r) => second.results[r.index]?.indicatorId === r.indicatorId),
    're-imported objects name the items they made',
  )
  t.equal(await countAs(app, org, sql`select count(*) as n from indicators where organisation_id = ${org.id}`), 6000, 'still 6,000 rows')
})

t.test('more than 10,000 objects, or more than 32 MiB: refused whole, nothing written', async (t) => {
  const { org, contributor } = await orgWith(app, ['contributor'])
  const A = as(app, contributor.token)
  const objects = Array.from({ length: N + 1 }, (_, i) => indicator(`indicator--${randomUUID()}`, `[domain-name:value = 'over-${i}.example']`))
  isProblem(t, await A.post('/v1/import/stix', bundleOf(objects)), 400)
  const huge = JSON.stringify(
    bundleOf([indicator(`indicator--${randomUUID()}`, "[domain-name:value = 'huge.example']", { name: 'x'.repeat(32 * 1024 * 1024) })]),
  )
  isProblem(
    t,
    await app.inject({
      method: 'POST',
      url: '/v1/import/stix',
      headers: { authorization: `Bearer ${contributor.token}`, 'content-type': 'application/json' },
      payload: huge,
    }),
    413,
  )
  t.equal(await countAs(app, org, sql`select count(*) as n from indicators where organisation_id = ${org.id}`), 0)
})
