// The TAXII 2.1 server, part two: objects and manifest with limit/more/next and added_after while
// items are added, the match[] filters, object, versions, DELETE (revoke), POST with its status
// resource, and the audit events of pulls and pushes.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import { rows } from '../../src/db/client.js'
import { COMMUNITY_COLLECTION } from '../../src/modules/taxii/taxii.collections.js'
import { as, buildTestApp, json, orgWith } from '../helper.js'
import { eventually, TAXII, taxii } from './support.js'

const ROOT = '/taxii2/dcx'
type Obj = { id: string; type: string; modified: string; revoked?: boolean; [k: string]: unknown }
interface Env {
  more: boolean
  next?: string
  objects?: Obj[]
}
interface Manifest {
  more: boolean
  next?: string
  objects?: { id: string; date_added: string; version: string; media_type: string }[]
}
const objs = (r: LightMyRequestResponse) => json<Env>(r).objects ?? []

// One app per file (as test/helper.ts intends); every test makes its own organisations.
const app = await buildTestApp(t)

t.test('objects and manifest: limit, more/next and added_after while items are added', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const A = as(app, a.contributor.token)
  const X = taxii(app, a.contributor.token)
  const base = `${ROOT}/collections/${a.org.id}`
  const created: string[] = []
  const add = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const res = await A.post('/v1/indicators', { type: 'domain', value: `paging-${randomUUID().slice(0, 8)}.example`, distribution: 'organisation' })
      created.push(`indicator--${json<{ id: string }>(res).id}`)
    }
  }
  await add(5)

  // Page by next, adding two items after the first page: every item arrives once, in order.
  const got: Obj[] = []
  let next: string | undefined
  for (let i = 0; i < 20; i++) {
    const url = `${base}/objects/?match[type]=indicator&limit=2${next ? `&next=${next}` : ''}`
    const want = created.length
    const res = await eventually(
      () => X.get(url),
      (r) => json<Env>(r).more || got.length + objs(r).length >= want,
    )
    t.equal(res.statusCode, 200)
    const page = json<Env>(res)
    t.ok(objs(res).length <= 2, 'at most limit objects')
    if (page.objects?.length) {
      t.equal(res.headers['x-taxii-date-added-first'], page.objects[0]?.modified, 'X-TAXII-Date-Added-First')
      t.equal(res.headers['x-taxii-date-added-last'], page.objects.at(-1)?.modified, 'X-TAXII-Date-Added-Last')
    }
    got.push(...(page.objects ?? []))
    if (i === 0) await add(2)
    if (!page.more) break
    t.ok(page.next, 'more comes with next')
    next = page.next
  }
  t.same(
    got.map((o) => o.id),
    created,
    'all seven, each once, oldest first',
  )

  // Poll with added_after = the last date added: nothing new, then exactly the new item.
  const last = got.at(-1)?.modified as string
  const quiet = await X.get(`${base}/objects/?added_after=${last}&match[type]=indicator`)
  t.same(json<Env>(quiet), { more: false }, 'nothing added since')
  t.equal(quiet.headers['x-taxii-date-added-first'], undefined)
  await add(1)
  const fresh = await eventually(
    () => X.get(`${base}/objects/?added_after=${last}&match[type]=indicator`),
    (r) => objs(r).length > 0,
  )
  t.same(
    objs(fresh).map((o) => o.id),
    [created.at(-1)],
    'only the item added after',
  )

  // The manifest pages the same way and names each version.
  const entries: NonNullable<Manifest['objects']> = []
  let mnext: string | undefined
  for (let i = 0; i < 10; i++) {
    const page = json<Manifest>(await X.get(`${base}/manifest/?match[type]=indicator&limit=3${mnext ? `&next=${mnext}` : ''}`))
    entries.push(...(page.objects ?? []))
    if (!page.more) break
    mnext = page.next
  }
  t.same(
    entries.map((e) => e.id),
    created,
  )
  t.ok(entries.every((e) => e.media_type === 'application/stix+json;version=2.1' && e.version === e.date_added))

  const bad = await X.get(`${base}/objects/?next=forged`)
  t.equal(bad.statusCode, 400)
  t.equal(bad.headers['content-type'], TAXII)
  t.equal((await X.get(`${base}/objects/?added_after=yesterday`)).statusCode, 400)
})

t.test('match[type], match[id], match[version], match[spec_version]', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const A = as(app, a.contributor.token)
  const X = taxii(app, a.contributor.token)
  const base = `${ROOT}/collections/${a.org.id}/objects/`
  const i1 = `indicator--${json<{ id: string }>(await A.post('/v1/indicators', { type: 'email', value: 'm1@example.org', distribution: 'organisation' })).id}`
  const i2 = `indicator--${json<{ id: string }>(await A.post('/v1/indicators', { type: 'email', value: 'm2@example.org', distribution: 'organisation' })).id}`
  const r1 = `report--${json<{ id: string }>(await A.post('/v1/notes', { title: 'T', summary: 's', body: 'b', topics: ['training'], distribution: 'organisation' })).id}`
  const ids = async (qs: string) =>
    objs(
      await eventually(
        () => X.get(`${base}?${qs}`),
        (r) => r.statusCode !== 200 || objs(r).length > 0,
        20,
      ),
    ).map((o) => o.id)
  const items = 'match[type]=indicator,report'
  t.same(await ids(items), [i1, i2, r1])
  t.same(await ids('match[type]=report'), [r1], 'notes are STIX reports')
  t.same(await ids('match[type]=indicator,malware'), [i1, i2])
  t.same(await ids(`match[id]=${i2},${r1}`), [i2, r1])
  t.same(await ids(`match[id]=${i1}&match[id]=${r1}`), [i1, r1], 'repeated parameters')
  t.same(await ids('match[spec_version]=2.0'), [], 'every object is STIX 2.1')
  t.same(await ids(`${items}&match[version]=first`), [i1, i2, r1], 'one version each: first = last = all')
  const v = (json<Env>(await X.get(`${base}?match[id]=${i1}`)).objects ?? [])[0]?.modified as string
  t.same(await ids(`match[version]=${v}`), [i1])
  t.equal((await X.get(`${base}?match[version]=someday`)).statusCode, 400)
  t.equal((await X.get(`${base}?match[colour]=red`)).statusCode, 400, 'unknown parameters are refused')
})

t.test('object, versions, DELETE (revoke), POST and status', async (t) => {
  const a = await orgWith(app, ['contributor', 'reader'])
  const b = await orgWith(app, ['contributor'])
  const X = taxii(app, a.contributor.token)
  const coll = `${ROOT}/collections/${a.org.id}`

  const pushed = {
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--${randomUUID()}`,
    created: '2026-05-01T00:00:00.000Z',
    modified: '2026-05-01T00:00:00.000Z',
    pattern: "[dcx-vendor-alias:value = 'NightPharma']",
    pattern_type: 'stix',
    valid_from: '2026-05-01T00:00:00Z',
    confidence: 70,
    object_marking_refs: ['marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421'],
  }
  const post = await X.post(`${coll}/objects/`, {
    objects: [
      pushed,
      { ...pushed, id: `indicator--${randomUUID()}`, pattern: "[ipv4-addr:value = '10.0.0.1']" },
      { type: 'identity', id: `identity--${randomUUID()}`, name: 'x' },
    ],
  })
  t.equal(post.statusCode, 202)
  t.equal(post.headers['content-type'], TAXII)
  const status = json<{
    id: string
    status: string
    total_count: number
    success_count: number
    failure_count: number
    pending_count: number
    successes: { id: string; version: string; message: string }[]
  }>(post)
  t.match(status, {
    status: 'complete',
    total_count: 3,
    success_count: 1,
    failure_count: 2,
    pending_count: 0,
    successes: [{ id: pushed.id, version: pushed.modified }],
  })
  // The object is served under the id the client pushed (its producer's); the status names the DCX item.
  t.match(status.successes[0]?.message, /^created: DCX indicator [0-9a-f-]{36}, version /, 'the status names the DCX item')
  const madeId = pushed.id
  t.same(json(await X.get(`${ROOT}/status/${status.id}/`)), status, 'GET status returns the stored status')
  t.equal((await taxii(app, b.contributor.token).get(`${ROOT}/status/${status.id}/`)).statusCode, 404, "another organisation's status is not found")
  t.equal((await X.get(`${ROOT}/status/${randomUUID()}/`)).statusCode, 404)

  // The pushed object is in the collection under its own id, with its producer's timestamps.
  const got = await X.get(`${coll}/objects/${madeId}/`)
  t.equal(got.statusCode, 200)
  const obj = objs(got)[0] as Obj
  t.match(obj, {
    id: madeId,
    pattern: pushed.pattern,
    confidence: 70,
    created: pushed.created,
    modified: pushed.modified,
    valid_from: pushed.valid_from,
    object_marking_refs: pushed.object_marking_refs,
  })
  t.not(got.headers['x-taxii-date-added-first'], obj.modified, 'date_added is when DCX added it, not the version')
  t.same(json(await X.get(`${coll}/objects/${madeId}/versions/`)), { more: false, versions: [obj.modified] })
  t.equal((await X.get(`${coll}/objects/${madeId}/?match[version]=${pushed.modified}`)).statusCode, 200, 'match[version] is the served modified')
  t.equal((await X.get(`${coll}/objects/${madeId}/?match[version]=2020-01-01T00:00:00.000Z`)).statusCode, 404)
  t.equal((await X.get(`${ROOT}/collections/${COMMUNITY_COLLECTION}/objects/${madeId}/`)).statusCode, 404, 'not in another collection')
  t.equal((await X.get(`${coll}/objects/indicator--${randomUUID()}/`)).statusCode, 404)
  t.equal((await X.get(`${coll}/objects/not-an-id/versions/`)).statusCode, 404)

  // DELETE revokes: owner and contributor only; the object stays, revoked, with a new version.
  t.equal((await taxii(app, a.reader.token).delete(`${coll}/objects/${madeId}/`)).statusCode, 403)
  const del = await X.delete(`${coll}/objects/${madeId}/`)
  t.equal(del.statusCode, 200)
  const after = objs(await X.get(`${coll}/objects/${madeId}/`))[0] as Obj
  t.equal(after.revoked, true)
  t.ok(after.modified > obj.modified, 'a new version')
  t.same(json(await X.get(`${coll}/objects/${madeId}/versions/`)), { more: false, versions: [after.modified] })

  // Posting to the community collection shares with the community; others may read, not delete.
  const shared = { ...pushed, id: `indicator--${randomUUID()}`, pattern: "[domain-name:value = 'taxii-shared.example']", object_marking_refs: undefined }
  const sharedStatus = json<{ success_count: number; successes: { message: string }[] }>(
    await X.post(`${ROOT}/collections/${COMMUNITY_COLLECTION}/objects/`, { objects: [shared] }),
  )
  t.equal(sharedStatus.success_count, 1)
  const sharedId = shared.id
  const theirs = await taxii(app, b.contributor.token).get(`${ROOT}/collections/${COMMUNITY_COLLECTION}/objects/${sharedId}/`)
  t.equal(theirs.statusCode, 200, 'visible to another organisation')
  t.equal(
    (await taxii(app, b.contributor.token).delete(`${ROOT}/collections/${COMMUNITY_COLLECTION}/objects/${sharedId}/`)).statusCode,
    404,
    'but only its owner revokes it',
  )
  const red = await X.post(`${ROOT}/collections/${COMMUNITY_COLLECTION}/objects/`, {
    objects: [
      {
        ...shared,
        id: `indicator--${randomUUID()}`,
        pattern: "[domain-name:value = 'red.example']",
        object_marking_refs: ['marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1'],
      },
    ],
  })
  t.match(json(red), { success_count: 0, failure_count: 1, failures: [{ message: /TLP:RED/ }] }, 'TLP:RED cannot be posted to the community')
  t.equal((await X.post(`${coll}/objects/`, { type: 'bundle', id: `bundle--${randomUUID()}`, objects: [] })).statusCode, 202, 'a bundle, as an envelope')
  t.equal((await X.post(`${coll}/objects/`, { type: 'bundle', objects: [], extra: 1 })).statusCode, 400, 'neither an envelope nor a bundle')
})

t.test('every pull and push is audited', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const X = taxii(app, a.contributor.token)
  const event = async (res: LightMyRequestResponse) =>
    await rows<{ action: string; resource_type: string; resource_id: string | null; outcome: string; account_id: string; details: Record<string, unknown> }>(
      app.db,
      sql`select action, resource_type, resource_id, outcome, account_id, details from audit_events where request_id = ${res.headers['x-request-id'] as string}`,
    )
  const pull = await X.get(`${ROOT}/collections/${COMMUNITY_COLLECTION}/objects/?limit=5`)
  const [e1, ...more] = await event(pull)
  t.equal(more.length, 0, 'one event')
  t.match(e1, {
    action: 'taxii.object.list',
    resource_type: 'taxii',
    resource_id: COMMUNITY_COLLECTION,
    outcome: 'ok',
    account_id: a.contributor.id,
    details: { collection: 'community', query: { limit: 5 }, returned: Number },
  })
  const push = await X.post(`${ROOT}/collections/${a.org.id}/objects/`, { objects: [{ type: 'identity', id: `identity--${randomUUID()}` }] })
  t.match((await event(push))[0], { action: 'taxii.object.add', outcome: 'ok', details: { submitted: 1, unsupported: 1 } })
  t.match((await event(await X.get(`${ROOT}/collections/${a.org.id}/manifest/`)))[0], { action: 'taxii.manifest.read', outcome: 'ok' })
  t.match((await event(await X.get('/taxii2/')))[0], { action: 'taxii.discovery.read', resource_type: 'taxii', outcome: 'ok' })
  t.match((await event(await X.get('/taxii2/', { accept: 'text/html' })))[0], { outcome: 'denied', resource_type: 'taxii' }, 'a refusal is audited')
  t.match(
    (await event(await X.get(`${ROOT}/no-such-thing/`)))[0],
    { outcome: 'denied', action: 'route.unknown', resource_type: 'route', details: { path: `${ROOT}/no-such-thing/` } },
    'an unknown TAXII path too',
  )
})
