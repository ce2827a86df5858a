// POST /v1/import/stix: the round trip export → import → export, the OASIS examples, ids, TLP
// from markings or the request, one result per object, and the refusals.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { rows } from '../../src/db/client.js'
import { as, buildTestApp, isProblem, json, orgWith } from '../helper.js'
import { bundleErrors, eventually, readExample, SAMPLES, taxii } from './support.js'

type Obj = Record<string, unknown> & { type: string; id: string }
interface Bundle {
  type: string
  id: string
  objects: Obj[]
}
interface Result {
  index: number
  id: string | null
  type: string | null
  status: string
  indicatorId?: string
  reason?: string
}
interface ImportOut {
  results: Result[]
  counts: Record<string, number>
}
interface Ind {
  id: string
  type: string
  normalizedValue: string
  tlp: string
  reliability: string
  credibility: number
  confidence: number
  tags: string[]
  countries: string[]
  distribution: string
}

const bundleOf = (objects: object[]) => ({ type: 'bundle', id: `bundle--${randomUUID()}`, objects })
const indicator = (pattern: string, extra: object = {}) => ({
  type: 'indicator',
  spec_version: '2.1',
  id: `indicator--${randomUUID()}`,
  created: '2026-01-01T00:00:00.000Z',
  modified: '2026-01-01T00:00:00.000Z',
  pattern,
  pattern_type: 'stix',
  valid_from: '2026-01-01T00:00:00Z',
  ...extra,
})

async function listOf(app: Parameters<typeof as>[0], token: string, orgId: string): Promise<Ind[]> {
  return json<{ items: Ind[] }>(await as(app, token).get(`/v1/indicators?organisationId=${orgId}&limit=500`)).items
}

// One app per file (as test/helper.ts intends); every test makes its own organisations.
const app = await buildTestApp(t)

t.test('round trip: export → import by another organisation → export', async (t) => {
  const a = await orgWith(app, ['contributor'], { sector: 'customs' })
  const b = await orgWith(app, ['contributor'], { sector: 'police' })
  const A = as(app, a.contributor.token)
  const B = as(app, b.contributor.token)
  for (const s of SAMPLES) {
    const res = await A.post('/v1/indicators', {
      ...s,
      distribution: 'community',
      tlp: 'green',
      reliability: 'B',
      credibility: 2,
      confidence: 80,
      tags: ['darknet'],
      countries: ['NL', 'DE'],
    })
    t.equal(res.statusCode, 201, res.body)
  }
  const exported = JSON.parse((await A.get(`/v1/export/stix?organisationId=${a.org.id}&include=indicators`)).body) as Bundle

  const res = await B.post('/v1/import/stix?distribution=authorities', exported)
  t.equal(res.statusCode, 200, res.body.slice(0, 500))
  const out = json<ImportOut>(res)
  t.equal(out.results.length, exported.objects.length, 'one result per object')
  t.equal(out.counts.created, SAMPLES.length, 'every indicator created')
  // DCX's own definitions and the exporter's identity are held already: kept, not failures.
  for (const r of out.results.filter((x) => x.type !== 'indicator')) t.match(r, { status: 'kept', reason: /DCX (defines|serves)/ })

  const mine = await listOf(app, b.contributor.token, b.org.id)
  const theirs = await listOf(app, a.contributor.token, a.org.id)
  const key = (i: Ind) => `${i.type}\u0000${i.normalizedValue}`
  t.same(mine.map(key).sort(), theirs.map(key).sort(), 'the same types and normalised values')
  for (const i of mine) {
    t.match(
      i,
      { tlp: 'green', reliability: 'B', credibility: 2, confidence: 80, tags: ['darknet'], distribution: 'authorities' },
      `${i.type} graded as exported`,
    )
    t.same([...i.countries].sort(), ['DE', 'NL'])
  }
  t.notOk(
    mine.some((i) => theirs.some((x) => x.id === i.id)),
    'the ids another organisation holds are not reused',
  )

  const again = json<ImportOut>(await B.post('/v1/import/stix', exported))
  t.equal(again.counts.duplicate, SAMPLES.length, 'importing again creates nothing')
  t.equal(again.counts.created, 0)
  const own = json<ImportOut>(await A.post('/v1/import/stix', exported))
  t.equal(own.counts.duplicate, SAMPLES.length, "the exporter's own bundle duplicates its items")

  const reexported = JSON.parse((await B.get(`/v1/export/stix?organisationId=${b.org.id}&include=indicators`)).body) as Bundle
  const patterns = (x: Bundle) =>
    x.objects
      .filter((o) => o.type === 'indicator')
      .map((o) => o.pattern)
      .sort()
  t.same(patterns(reexported), patterns(exported), 'the second export carries the same patterns')
  t.equal(bundleErrors(reexported), undefined, 'and validates')
})

t.test('the OASIS examples import where their patterns map to a DCX type', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const A = as(app, a.contributor.token)
  const SIMPLE = /^\[(domain-name:value|file:hashes\.(?:md5|'SHA-256')) = '([^']*)'\]$/
  let created = 0
  for (const file of [
    'threat-reports/apt1.json',
    'threat-reports/poisonivy.json',
    'indicator-for-c2-ip-address.json',
    'indicator-to-campaign-relationship.json',
    'indicators-for-C2-with-COA.json',
    'malicious-email-indicator-with-attachment.json',
    'infrastructure.json',
  ]) {
    const example = readExample(file)
    const res = await A.post('/v1/import/stix', example)
    t.equal(res.statusCode, 200, `${file}: ${res.body.slice(0, 300)}`)
    const out = json<ImportOut>(res)
    t.equal(out.results.length, example.objects.length, `${file}: one result per object`)
    for (const r of out.results) {
      const o = example.objects[r.index] as Obj
      if (o.type !== 'indicator') {
        // An identity or definition an imported indicator references is kept with it.
        const referenced = example.objects.some(
          (x) =>
            x.type === 'indicator' &&
            SIMPLE.test(String(x.pattern)) &&
            (x.created_by_ref === o.id || (x.object_marking_refs as string[] | undefined)?.includes(o.id)),
        )
        t.equal(
          r.status,
          referenced && ['identity', 'marking-definition', 'extension-definition'].includes(o.type) ? 'kept' : 'unsupported',
          `${file} ${o.type}`,
        )
        continue
      }
      const m = SIMPLE.exec(String(o.pattern))
      if (!m) {
        t.match(r, { status: 'unsupported', reason: /single comparison|no DCX indicator type/ }, `${file}: ${String(o.pattern).slice(0, 60)}`)
        continue
      }
      if (r.status === 'invalid') {
        t.match(String(o.pattern), /domain autuo/, `only the example's malformed domain is refused: ${r.reason}`)
        continue
      }
      t.equal(r.status, 'created', `${file}: ${String(o.pattern)}`)
      created++
      const ind = json<Ind>(await A.get(`/v1/indicators/${r.indicatorId}`))
      t.equal(ind.type, m[1] === 'domain-name:value' ? 'domain' : 'file_hash')
      t.equal(ind.normalizedValue, (m[2] as string).toLowerCase(), 'the value survives')
    }
  }
  t.ok(created >= 10, `${created} example indicators imported`)
  const bundle = JSON.parse((await A.get(`/v1/export/stix?organisationId=${a.org.id}&include=indicators`)).body) as Bundle
  t.equal(bundle.objects.filter((o) => o.type === 'indicator').length, created, 'and export again')
  t.equal(bundleErrors(bundle), undefined, 'as valid STIX')
})

t.test("the DCX item of an import is the importer's own: its own DCX id, stable across re-imports (the STIX id stays the producer's)", async (t) => {
  const a = await orgWith(app, ['contributor'])
  const b = await orgWith(app, ['contributor'])
  const obj = indicator("[domain-name:value = 'kept-id.example']")
  const first = json<ImportOut>(await as(app, a.contributor.token).post('/v1/import/stix', bundleOf([obj])))
  t.equal(first.results[0]?.status, 'created')
  t.not(first.results[0]?.indicatorId, obj.id.slice('indicator--'.length), 'the importer is a new producer: a new id, even for a free one')
  const again = json<ImportOut>(
    await as(app, a.contributor.token).post('/v1/import/stix', bundleOf([{ ...obj, pattern: "[domain-name:value = 'kept-id-v2.example']" }])),
  )
  t.match(
    again.results[0],
    { status: 'duplicate', indicatorId: first.results[0]?.indicatorId },
    'the same object again (another value) is the item it made before',
  )
  const second = json<ImportOut>(await as(app, b.contributor.token).post('/v1/import/stix', bundleOf([obj])))
  t.equal(second.results[0]?.status, 'created')
  t.not(second.results[0]?.indicatorId, first.results[0]?.indicatorId, 'another organisation gets its own id')
})

t.test("importing the id of another organisation's hidden item answers exactly like a free id (no existence oracle)", async (t) => {
  const owner = await orgWith(app, ['contributor'])
  const b = await orgWith(app, ['contributor'])
  const hidden = json<{ id: string }>(
    await as(app, owner.contributor.token).post('/v1/indicators', {
      type: 'domain',
      value: `hidden-${randomUUID().slice(0, 8)}.example`,
      distribution: 'organisation',
    }),
  )
  isProblem(t, await as(app, b.contributor.token).get(`/v1/indicators/${hidden.id}`), 404)
  const taken = indicator(`[domain-name:value = 'probe-taken-${randomUUID().slice(0, 8)}.example']`, { id: `indicator--${hidden.id}` })
  const free = indicator(`[domain-name:value = 'probe-free-${randomUUID().slice(0, 8)}.example']`)

  // POST /v1/import/stix, one object per request.
  const shape = (r: Result | undefined) => ({
    status: r?.status,
    keys: Object.keys(r ?? {}).sort(),
    newId: r?.indicatorId !== r?.id?.slice('indicator--'.length),
  })
  const viaImport = async (o: Obj) => {
    const res = await as(app, b.contributor.token).post('/v1/import/stix', bundleOf([o]))
    t.equal(res.statusCode, 200, res.body.slice(0, 300))
    return json<ImportOut>(res)
  }
  const [takenOut, freeOut] = [await viaImport(taken), await viaImport(free)]
  t.strictSame(shape(takenOut.results[0]), shape(freeOut.results[0]), 'the same status and body shape')
  t.strictSame(
    shape(freeOut.results[0]),
    { status: 'created', keys: ['id', 'index', 'indicatorId', 'status', 'type', 'version'], newId: true },
    'both: created under a new id',
  )
  t.strictSame(takenOut.counts, freeOut.counts)
  const mine = await as(app, b.contributor.token).get(`/v1/indicators/${takenOut.results[0]?.indicatorId}`)
  t.match(json(mine), { organisationId: b.org.id }, "the importer's own item")
  const theirs = json<{ organisationId: string; normalizedValue: string }>(await as(app, owner.contributor.token).get(`/v1/indicators/${hidden.id}`))
  t.match(theirs, { organisationId: owner.org.id, normalizedValue: /^hidden-/ }, "the owner's item is untouched")

  // TAXII push: the same objects again under fresh ids of both kinds, through the importer's collection.
  const X = taxii(app, b.contributor.token)
  const coll = `/taxii2/dcx/collections/${b.org.id}`
  const hidden2 = json<{ id: string }>(
    await as(app, owner.contributor.token).post('/v1/indicators', {
      type: 'domain',
      value: `hidden-${randomUUID().slice(0, 8)}.example`,
      distribution: 'organisation',
    }),
  )
  type Status = { status: string; success_count: number; failure_count: number; successes: { id: string; version: string; message: string }[] }
  const push = async (o: Obj) => {
    const res = await X.post(`${coll}/objects/`, { objects: [o] })
    t.equal(res.statusCode, 202, res.body.slice(0, 300))
    return json<Status>(res)
  }
  const taxiiTaken = await push(indicator(`[domain-name:value = 'taxii-taken-${randomUUID().slice(0, 8)}.example']`, { id: `indicator--${hidden2.id}` }))
  const taxiiFree = await push(indicator(`[domain-name:value = 'taxii-free-${randomUUID().slice(0, 8)}.example']`))
  const norm = (s: Status) => ({
    ...s,
    id: undefined,
    request_timestamp: undefined,
    successes: s.successes.map((d) => ({
      ...d,
      id: undefined,
      message: d.message.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'ID').replace(/version \S+/, 'version V'),
    })),
  })
  t.strictSame(norm(taxiiTaken), norm(taxiiFree), 'TAXII: the same status either way')
  for (const [s, sent] of [
    [taxiiTaken, `indicator--${hidden2.id}`],
    [taxiiFree, undefined],
  ] as const) {
    const d = s.successes[0]
    const madeId = /DCX indicator ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/.exec(d?.message ?? '')?.[1]
    t.ok(madeId, `the status names the DCX item: ${d?.message}`)
    t.not(`indicator--${madeId}`, d?.id, 'a DCX id of its own')
    t.match(json(await as(app, b.contributor.token).get(`/v1/indicators/${madeId}`)), { organisationId: b.org.id }, "the importer's item")
    const got = await eventually(
      () => X.get(`${coll}/objects/${sent ?? d?.id}/`),
      (r) => r.statusCode === 200,
    )
    t.equal(got.statusCode, 200, 'the client finds it under the id it sent')
    t.same(
      (json<{ objects: Obj[] }>(got).objects ?? []).map((o) => o.id),
      [sent ?? d?.id],
      'one object, under that id',
    )
  }
})

t.test('TLP from the request, else the markings (TLP 1.0 too), else amber; one result per object', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const A = as(app, a.contributor.token)
  const objs = [
    indicator("[domain-name:value = 'tlp2-green.example']", { object_marking_refs: ['marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb'] }),
    indicator("[domain-name:value = 'tlp1-white.example']", { object_marking_refs: ['marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9'] }),
    indicator("[domain-name:value = 'unmarked.example']"),
    indicator("[domain-name:value = 'red.example']", { object_marking_refs: ['marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1'] }),
    indicator("[ipv4-addr:value = '198.51.100.1']"),
    indicator("[domain-name:value = 'a.example' OR domain-name:value = 'b.example']"),
    indicator("[dcx-postal-item:value = 'RR123456780DE']"),
    indicator('rule x { condition: true }', { pattern_type: 'yara' }),
    { type: 'indicator', id: 'indicator--not-a-uuid', pattern: "[domain-name:value = 'x.example']", pattern_type: 'stix' },
  ]
  const out = json<ImportOut>(await A.post('/v1/import/stix?distribution=community', bundleOf(objs)))
  t.same(
    out.results.map((r) => r.status),
    ['created', 'created', 'created', 'invalid', 'unsupported', 'unsupported', 'invalid', 'unsupported', 'invalid'],
  )
  t.match(out.results[3]?.reason, /TLP:RED/, 'red cannot go to the community')
  t.match(out.results[6]?.reason, /check digit|S10|not valid/i, 'a value invalid for its type is refused with the reason')
  const tlps = Object.fromEntries((await listOf(app, a.contributor.token, a.org.id)).map((i) => [i.normalizedValue, i.tlp]))
  t.same(tlps, { 'tlp2-green.example': 'green', 'tlp1-white.example': 'clear', 'unmarked.example': 'amber' })

  const forced = json<ImportOut>(
    await A.post(
      '/v1/import/stix?tlp=amber%2Bstrict',
      bundleOf([indicator("[domain-name:value = 'forced.example']", { object_marking_refs: ['marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487'] })]),
    ),
  )
  const made = json<Ind>(await A.get(`/v1/indicators/${forced.results[0]?.indicatorId}`))
  t.match(made, { tlp: 'amber+strict', distribution: 'organisation' }, "the request's TLP wins; distribution defaults to organisation")
})

t.test('refusals: roles, bad requests, content types; Idempotency-Key; audit', async (t) => {
  const a = await orgWith(app, ['reader', 'contributor'])
  const C = as(app, a.contributor.token)
  const ok = bundleOf([indicator("[domain-name:value = 'refusals.example']")])
  isProblem(t, await as(app, a.reader.token).post('/v1/import/stix', ok), 403)
  isProblem(t, await app.inject({ method: 'POST', url: '/v1/import/stix', payload: ok }), 401)
  isProblem(t, await C.post('/v1/import/stix', { ...ok, type: 'envelope' }), 400)
  isProblem(t, await C.post('/v1/import/stix', { ...ok, extra: 1 }), 400)
  isProblem(t, await C.post('/v1/import/stix', { ...ok, objects: ['not an object'] }), 400)
  isProblem(t, await C.post('/v1/import/stix', { type: 'bundle', id: 'bundle--x', objects: [] }), 400)
  isProblem(t, await C.post('/v1/import/stix?distribution=sharing_group', ok), 400)
  isProblem(t, await C.post(`/v1/import/stix?distribution=sharing_group&sharingGroupId=${randomUUID()}`, ok), 400)
  isProblem(t, await C.post('/v1/import/stix?distribution=community&tlp=red', ok), 400)
  isProblem(t, await C.post('/v1/import/stix', 'not json', { 'content-type': 'application/stix+json' }), 400)
  isProblem(t, await C.post('/v1/import/stix', 'x', { 'content-type': 'text/plain' }), 415)

  const headers = { 'content-type': 'application/stix+json;version=2.1', 'idempotency-key': `imp-${randomUUID()}` }
  const first = await C.post('/v1/import/stix', JSON.stringify(ok), headers)
  t.equal(first.statusCode, 200, 'application/stix+json is accepted')
  const replay = await C.post('/v1/import/stix', JSON.stringify(ok), headers)
  t.equal(replay.headers['idempotent-replayed'], 'true')
  t.same(json(replay), json(first), 'a retry returns the first result')
  t.equal((await listOf(app, a.contributor.token, a.org.id)).length, 1, 'and creates nothing')

  const [ev] = await rows<{ action: string; resource_type: string; details: Record<string, unknown> }>(
    app.db,
    sql`select action, resource_type, details from audit_events where request_id = ${first.headers['x-request-id'] as string}`,
  )
  t.match(ev, { action: 'stix.import', resource_type: 'stix', details: { submitted: 1, created: 1, duplicate: 0 } })
})
