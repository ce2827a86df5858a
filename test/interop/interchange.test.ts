// Issue 14: interchange stock tools accept unmodified. A TAXII push of a STIX bundle (as
// taxii2-client's add_objects and the stix2 library's TAXIICollectionSink send it), added_after in
// every RFC 3339 form, the producer's id, timestamps and properties kept (never re-attributed), and
// every reference a served object makes resolving among the objects the same collection (or file
// export) serves, sightings included for those who may see the sighted indicator.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { as, buildTestApp, json, orgWith } from '../helper.js'
import { COMMUNITY_COLLECTION } from '../../src/modules/taxii/taxii.collections.js'
import { bundleErrors, eventually, stixErrors, TAXII, taxii } from './support.js'

const ROOT = '/taxii2/dcx'
type Obj = { id: string; type: string; [k: string]: unknown }
interface Env {
  more: boolean
  next?: string
  objects?: Obj[]
}
const app = await buildTestApp(t)

/** Every object of a collection, paged by next as a TAXII client does. */
async function all(X: ReturnType<typeof taxii>, coll: string, qs = ''): Promise<Obj[]> {
  const out: Obj[] = []
  let next: string | undefined
  for (let i = 0; i < 100; i++) {
    const res = await X.get(`${coll}/objects/?limit=50${qs}${next ? `&next=${encodeURIComponent(next)}` : ''}`)
    if (res.statusCode !== 200) throw new Error(res.body)
    const page = json<Env>(res)
    out.push(...(page.objects ?? []))
    if (!page.more) break
    next = page.next
  }
  return out
}

/** The ids an object references that a resolving importer looks up. */
function references(o: Obj): string[] {
  const refs: string[] = []
  for (const k of ['created_by_ref', 'sighting_of_ref']) if (typeof o[k] === 'string') refs.push(o[k] as string)
  for (const k of ['object_marking_refs', 'where_sighted_refs']) if (Array.isArray(o[k])) refs.push(...(o[k] as string[]))
  if (o.extensions && typeof o.extensions === 'object') refs.push(...Object.keys(o.extensions as object).filter((k) => k.startsWith('extension-definition--')))
  return refs
}

// OASIS publishes TLP 2.0's extension as a JSON schema, not as a STIX object: the one reference
// that resolves by being well known (docs/interoperability.md).
const TLP2_EXT = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d'

const unresolved = (objs: Obj[]) => {
  const ids = new Set([...objs.map((o) => o.id), TLP2_EXT])
  return objs.flatMap((o) =>
    references(o)
      .filter((r) => !ids.has(r))
      .map((r) => `${o.id} → ${r}`),
  )
}

const producer = `identity--${randomUUID()}`
const producerIdentity = {
  type: 'identity',
  spec_version: '2.1',
  id: producer,
  created: '2025-03-01T10:00:00.000Z',
  modified: '2025-03-01T10:00:00.000Z',
  name: 'A partner CERT',
  identity_class: 'organization',
}

function producersIndicator(value: string, extra: Record<string, unknown> = {}): Obj {
  return {
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--${randomUUID()}`,
    created_by_ref: producer,
    created: '2025-03-02T10:00:00.123456Z',
    modified: '2025-03-04T11:30:00.500Z',
    name: `Shop front ${value}`,
    description: 'Seen in a takedown',
    indicator_types: ['benign'],
    pattern: `[domain-name:value = '${value}']`,
    pattern_type: 'stix',
    pattern_version: '2.1',
    valid_from: '2025-03-02T00:00:00Z',
    kill_chain_phases: [{ kill_chain_name: 'lockheed-martin-cyber-kill-chain', phase_name: 'delivery' }],
    external_references: [{ source_name: 'partner-case', external_id: 'CASE-42', url: 'https://partner.example/case/42' }],
    confidence: 73,
    labels: ['darknet'],
    lang: 'en',
    object_marking_refs: ['marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da'],
    ...extra,
  }
}

t.test('a STIX bundle pushed over TAXII, as taxii2-client and the stix2 library send it', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const X = taxii(app, a.contributor.token)
  const coll = `${ROOT}/collections/${a.org.id}`
  const value = `bundle-${randomUUID().slice(0, 8)}.example`
  const ind = producersIndicator(value)
  const bundle = { type: 'bundle', id: `bundle--${randomUUID()}`, objects: [producerIdentity, ind] }
  // taxii2-client: Accept and Content-Type application/taxii+json;version=2.1, the bundle as the body.
  const res = await X.post(`${coll}/objects/`, bundle)
  t.equal(res.statusCode, 202, res.body.slice(0, 300))
  t.equal(res.headers['content-type'], TAXII)
  const status = json<{ status: string; success_count: number; failure_count: number; successes: { id: string; version: string }[] }>(res)
  t.match(status, { status: 'complete', success_count: 2, failure_count: 0 }, 'the identity is kept with the indicator: no failure')
  t.match(
    status.successes.map((s) => s.id),
    [producer, ind.id],
  )
  // The stix2 library's sink posts the bundle as application/stix+json; a bare JSON body works too.
  for (const ct of ['application/stix+json;version=2.1', 'application/json']) {
    const again = await X.post(`${coll}/objects/`, bundle, { 'content-type': ct })
    t.equal(again.statusCode, 202, ct)
    t.match(json(again), { success_count: 2 }, `${ct}: the same objects again are held (duplicates)`)
  }

  // GET by the id pushed: the producer's object, with its timestamps and properties.
  const got = await eventually(
    () => X.get(`${coll}/objects/${ind.id}/`),
    (r) => r.statusCode === 200,
  )
  t.equal(got.statusCode, 200)
  const served = (json<Env>(got).objects ?? [])[0] as Obj
  t.match(served, {
    id: ind.id,
    created_by_ref: producer,
    created: ind.created,
    modified: ind.modified,
    name: ind.name,
    description: ind.description,
    indicator_types: ['benign'],
    kill_chain_phases: ind.kill_chain_phases,
    external_references: ind.external_references,
    confidence: 73,
    labels: ['darknet'],
    lang: 'en',
    valid_from: ind.valid_from,
    pattern: ind.pattern,
    revoked: false,
  })
  const ext = (served.extensions as Record<string, Record<string, unknown>>)['extension-definition--3d1b5bde-85df-4f34-b431-cb1f1a58b1a6']
  t.match(
    ext,
    { shared_by_ref: `identity--${a.org.id}`, credibility: 2, reliability: 'F', dcx_confidence: 73 },
    'the Admiralty mapping alongside; who shared it',
  )
  t.equal(stixErrors(served), undefined, 'valid STIX')
  t.same(json(await X.get(`${coll}/objects/${ind.id}/versions/`)), { more: false, versions: [ind.modified] }, "the producer's modified is the version")

  // The producer's identity is served by the collection too.
  const identity = await X.get(`${coll}/objects/${producer}/`)
  t.equal(identity.statusCode, 200)
  t.same((json<Env>(identity).objects ?? [])[0], producerIdentity)
  t.same(unresolved(await all(X, coll)), [], 'every reference in the collection resolves')

  // A coarser timestamp is served as the same instant with the milliseconds STIX requires.
  const coarse = producersIndicator(`coarse-${randomUUID().slice(0, 8)}.example`, { created: '2025-03-02T12:00:00+02:00', modified: '2025-03-04T11:30:00.5Z' })
  t.equal((await X.post(`${coll}/objects/`, { objects: [coarse] })).statusCode, 202)
  const c = await eventually(
    () => X.get(`${coll}/objects/${coarse.id}/`),
    (r) => r.statusCode === 200,
  )
  t.match((json<Env>(c).objects ?? [])[0], { created: '2025-03-02T10:00:00.000Z', modified: '2025-03-04T11:30:00.500Z' })
})

t.test('added_after: every RFC 3339 form; a date alone is that day in UTC; no zone is refused', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const X = taxii(app, a.contributor.token)
  const coll = `${ROOT}/collections/${a.org.id}/objects/`
  await as(app, a.contributor.token).post('/v1/indicators', {
    type: 'domain',
    value: `after-${randomUUID().slice(0, 8)}.example`,
    distribution: 'organisation',
  })
  const count = async (v: string) => {
    const res = await eventually(
      () => X.get(`${coll}?match[type]=indicator&added_after=${encodeURIComponent(v)}`),
      (r) => r.statusCode !== 200 || (json<Env>(r).objects ?? []).length > 0 || v.startsWith('2999'),
    )
    t.equal(res.statusCode, 200, `${v}: ${res.body.slice(0, 200)}`)
    return (json<Env>(res).objects ?? []).length
  }
  for (const v of [
    '2020-01-01T00:00:00Z',
    '2020-01-01T00:00:00.123456Z',
    '2020-01-01T02:00:00+02:00',
    '2019-12-31T19:00:00.5-05:00',
    '2020-01-01t00:00:00z',
    '2020-01-01',
  ]) {
    t.equal(await count(v), 1, `added_after=${v}`)
  }
  t.equal(await count('2999-01-01T00:00:00Z'), 0, 'after everything: nothing')
  t.equal(await count('2999-01-01'), 0)
  for (const v of ['2020-01-01T00:00:00', '2020-01-01T00:00:00+0200', 'yesterday', '2020-13-01', '2020-01-01T25:00:00Z']) {
    const res = await X.get(`${coll}?added_after=${encodeURIComponent(v)}`)
    t.equal(res.statusCode, 400, `added_after=${v} is refused`)
    t.equal(res.headers['content-type'], TAXII)
  }
})

t.test('lossless import: revoked stays revoked, nothing re-attributed, the file export resolves', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const A = as(app, a.contributor.token)
  const live = producersIndicator(`live-${randomUUID().slice(0, 8)}.example`)
  const gone = producersIndicator(`gone-${randomUUID().slice(0, 8)}.example`, { revoked: true, indicator_types: ['malicious-activity', 'attribution'] })
  const res = await A.post('/v1/import/stix', { type: 'bundle', id: `bundle--${randomUUID()}`, objects: [producerIdentity, live, gone] })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  const out = json<{ results: { status: string; indicatorId?: string }[]; counts: Record<string, number> }>(res)
  t.same(out.counts, { created: 2, duplicate: 0, kept: 1, unsupported: 0, invalid: 0 })
  const revoked = json<{ status: string; description: string }>(await A.get(`/v1/indicators/${out.results[2]?.indicatorId}`))
  t.equal(revoked.status, 'revoked', 'revoked: true imports as revoked')
  t.equal(revoked.description, 'Seen in a takedown', 'the name is not moved into the description')

  const bundle = JSON.parse((await A.get(`/v1/export/stix?organisationId=${a.org.id}&include=indicators`)).body) as { type: string; id: string; objects: Obj[] }
  t.equal(bundleErrors(bundle as never), undefined, 'the export validates')
  t.same(unresolved(bundle.objects), [], 'every reference in the export resolves')
  const byId = new Map(bundle.objects.map((o) => [o.id, o]))
  t.match(byId.get(gone.id), { revoked: true, created_by_ref: producer, indicator_types: ['malicious-activity', 'attribution'] })
  t.match(byId.get(live.id), { revoked: false, created_by_ref: producer, created: live.created, modified: live.modified })
  t.same(byId.get(producer), producerIdentity, "the producer's identity, as it sent it")

  // An owner's change is a new version: DCX's modified, the producer's id and creator kept.
  const id = out.results[1]?.indicatorId as string
  const before = json<{ version: number }>(await A.get(`/v1/indicators/${id}`))
  const patched = await A.patch(`/v1/indicators/${id}`, { description: 'Updated by the importer' }, { 'if-match': `"${before.version}"` })
  t.equal(patched.statusCode, 200, patched.body.slice(0, 200))
  {
    const again = JSON.parse((await A.get(`/v1/export/stix?organisationId=${a.org.id}&include=indicators`)).body) as { objects: Obj[] }
    const o = again.objects.find((x) => x.id === live.id) as Obj
    t.match(o, { created: live.created, created_by_ref: producer, description: 'Updated by the importer', name: live.name })
    t.ok(String(o.modified) > String(live.modified), 'a later modified')
  }
})

t.test('sightings over TAXII, to those who see the sighted indicator; identities of who made them', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const b = await orgWith(app, ['contributor'])
  const c = await orgWith(app, ['contributor'])
  const A = as(app, a.contributor.token)
  const shared = json<{ id: string }>(
    await A.post('/v1/indicators', { type: 'domain', value: `sighted-${randomUUID().slice(0, 8)}.example`, distribution: 'community', tlp: 'green' }),
  )
  const own = json<{ id: string }>(
    await A.post('/v1/indicators', { type: 'domain', value: `own-${randomUUID().slice(0, 8)}.example`, distribution: 'organisation' }),
  )
  const seen = await as(app, b.contributor.token).post(`/v1/indicators/${shared.id}/sightings`, { seenAt: '2026-06-01T00:00:00Z', count: 3, outcome: 'seized' })
  t.equal(seen.statusCode, 201, seen.body.slice(0, 200))
  t.equal((await A.post(`/v1/indicators/${own.id}/sightings`, { seenAt: '2026-06-02T00:00:00Z' })).statusCode, 201)

  const community = `${ROOT}/collections/${COMMUNITY_COLLECTION}`
  const sightingsIn = async (token: string, coll: string) => {
    const res = await eventually(
      () => taxii(app, token).get(`${coll}/objects/?match[type]=sighting&limit=1000`),
      (r) => (json<Env>(r).objects ?? []).some((o) => o.sighting_of_ref === `indicator--${shared.id}`),
      40,
    )
    return (json<Env>(res).objects ?? []) as Obj[]
  }
  for (const who of [a, c]) {
    const sights = (await sightingsIn(who.contributor.token, community)).filter((o) => o.sighting_of_ref === `indicator--${shared.id}`)
    t.equal(sights.length, 1, 'one summary per organisation and outcome')
    t.match(sights[0], { type: 'sighting', count: 3, created_by_ref: `identity--${b.org.id}`, where_sighted_refs: [`identity--${b.org.id}`] })
    t.equal(stixErrors(sights[0] as Obj), undefined, 'valid STIX')
    t.match(String(sights[0]?.id), /^sighting--[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a version-4-shaped id')
    const got = await taxii(app, who.contributor.token).get(`${community}/objects/${sights[0]?.id}/`)
    t.equal(got.statusCode, 200, 'GET by its id')
  }
  // The sighting of an organisation-only indicator reaches nobody else.
  const cAll = await all(taxii(app, c.contributor.token), community, '&match[type]=sighting')
  t.notOk(
    cAll.some((o) => o.sighting_of_ref === `indicator--${own.id}`),
    'not the sighting of an indicator they cannot see',
  )
  const aOwn = await all(taxii(app, a.contributor.token), `${ROOT}/collections/${a.org.id}`)
  t.ok(
    aOwn.some((o) => o.type === 'sighting' && o.sighting_of_ref === `indicator--${own.id}`),
    'the owner sees it in its own collection',
  )
  t.same(unresolved(aOwn), [], "every reference in the owner's collection resolves")
  // The community collection is shared with every other test: resolve the sighting's and the
  // indicator's references one by one, by id, as a resolving client does.
  const C = taxii(app, c.contributor.token)
  const sighting = (await sightingsIn(c.contributor.token, community)).find((o) => o.sighting_of_ref === `indicator--${shared.id}`) as Obj
  const indicator = (json<Env>(await C.get(`${community}/objects/indicator--${shared.id}/`)).objects ?? [])[0] as Obj
  const refs = [...new Set([...references(sighting), ...references(indicator)])].filter((r) => r !== TLP2_EXT)
  t.ok(refs.includes(`identity--${b.org.id}`) && refs.includes(`identity--${a.org.id}`), 'the reporter and the owner are referenced')
  for (const ref of refs) {
    const got = await C.get(`${community}/objects/${ref}/`)
    t.equal(got.statusCode, 200, `${ref} resolves in the same collection`)
    const o = (json<Env>(got).objects ?? [])[0] as Obj
    t.equal(o.id, ref)
    t.equal(stixErrors(o), undefined, `${o.type} is valid STIX`)
    for (const inner of references(o).filter((r) => r !== TLP2_EXT)) {
      t.equal((await C.get(`${community}/objects/${inner}/`)).statusCode, 200, `and what ${ref} references: ${inner}`)
    }
  }
})
