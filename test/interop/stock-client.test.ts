// DCX driven exactly as the stock OASIS tools drive a TAXII 2.1 server (issue 14): the requests
// taxii2-client 2.3 sends (Server → api_roots → collections; Collection.add_objects(bundle) with
// its Accept and Content-Type; Status.refresh; as_pages(get_objects / get_manifest) following
// `more`/`next`; get_object, object_versions; polling with added_after from
// X-TAXII-Date-Added-Last), with HTTP Basic as its user/password; and a round trip of the OASIS
// example bundles asserting the indicators come back with everything their producer said, but
// what docs/interoperability.md names.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp, json, orgWith } from '../helper.js'
import { basicAuth, eventually, readExample, STIX_DIR, stixErrors, TAXII } from './support.js'

type Obj = { id: string; type: string; [k: string]: unknown }
const app = await buildTestApp(t)

/** What taxii2-client's _HTTPConnection sends: Basic auth, Accept TAXII 2.1, and its Content-Type on a POST. */
function client(user: string, password: string) {
  const authorization = basicAuth(user, password)
  return {
    get: (url: string, params: Record<string, string | number | undefined> = {}) => {
      const qs = Object.entries(params)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
        .join('&')
      return app.inject({ method: 'GET', url: qs ? `${url}?${qs}` : url, headers: { authorization, accept: TAXII } })
    },
    // add_objects(envelope): the bundle or envelope serialised as the body, as the client does with a str/dict.
    post: (url: string, body: string) => app.inject({ method: 'POST', url, headers: { authorization, accept: TAXII, 'content-type': TAXII }, payload: body }),
  }
}

/** taxii2client.v21.as_pages: request `per_request`, follow `next` while `more`. */
async function asPages(get: (params: Record<string, string | number | undefined>) => Promise<LightMyRequestResponse>, perRequest: number, extra = {}) {
  const pages: { objects?: Obj[]; more?: boolean; next?: string }[] = []
  let next: string | undefined
  for (let i = 0; i < 200; i++) {
    const res = await get({ limit: perRequest, ...extra, ...(next ? { next } : {}) })
    if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
    t.equal(res.headers['content-type'], TAXII)
    const page = json<{ objects?: Obj[]; more?: boolean; next?: string }>(res)
    pages.push(page)
    if (!page.more) break
    next = page.next
  }
  return pages
}

t.test('a stock TAXII 2.1 client: discovery, push a bundle, status, paging, manifest, object, versions, added_after', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const C = client(a.contributor.clientId, a.contributor.clientSecret)

  // Server(url): discovery, then each API root, then its collections.
  const discovery = json<{ api_roots: string[]; default: string }>(await C.get('/taxii2/'))
  const rootPath = new URL(discovery.api_roots[0] as string).pathname
  t.match(json(await C.get(rootPath)), { versions: [TAXII], max_content_length: Number })
  const collections = json<{ collections: { id: string; can_write: boolean; media_types: string[] }[] }>(await C.get(`${rootPath}collections/`)).collections
  const mine = collections.find((c) => c.id === a.org.id)
  t.ok(mine?.can_write, 'the organisation collection is writable')
  const coll = `${rootPath}collections/${a.org.id}/`

  // The stix2 library's TAXIICollectionSink.add(objects) wraps them in a bundle and calls add_objects.
  const objects = Array.from({ length: 5 }, (_, i) => ({
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--${randomUUID()}`,
    created: `2025-0${i + 1}-01T00:00:00.000Z`,
    modified: `2025-0${i + 1}-02T00:00:00.000Z`,
    name: `stock client ${i}`,
    indicator_types: ['malicious-activity'],
    pattern: `[domain-name:value = 'stock-${i}-${randomUUID().slice(0, 8)}.example']`,
    pattern_type: 'stix',
    valid_from: `2025-0${i + 1}-01T00:00:00Z`,
  }))
  const bundle = JSON.stringify({ type: 'bundle', id: `bundle--${randomUUID()}`, objects })
  const added = await C.post(`${coll}objects/`, bundle)
  t.equal(added.statusCode, 202, added.body.slice(0, 300))
  const status = json<{ id: string; status: string; total_count: number; success_count: number; pending_count: number }>(added)
  t.match(status, { total_count: 5, success_count: 5, pending_count: 0 })
  // Status.wait_until_final: refresh until status is complete.
  const refreshed = json<{ status: string }>(await C.get(`${rootPath}status/${status.id}/`))
  t.equal(refreshed.status, 'complete')

  // as_pages(collection.get_objects, per_request=2): every pushed object once, in order.
  const pages = await asPages((p) => C.get(`${coll}objects/`, p), 2, { 'match[type]': 'indicator' })
  const got = pages.flatMap((p) => p.objects ?? [])
  // One push is one date_added: its objects come in the server's tie-break order, each once.
  t.same(got.map((o) => o.id).sort(), objects.map((o) => o.id).sort(), 'every object once')
  t.ok(pages.length >= 3, 'in pages of two')
  for (const o of got) {
    const sent = objects.find((x) => x.id === o.id) as Obj
    t.match(o, { created: sent.created, modified: sent.modified, name: sent.name, pattern: sent.pattern })
    t.equal(stixErrors(o), undefined)
  }

  // as_pages(collection.get_manifest): the same ids; each version is the object's modified.
  const manifest = (await asPages((p) => C.get(`${coll}manifest/`, p), 2, { 'match[type]': 'indicator' })).flatMap(
    (p) => (p as { objects?: { id: string; version: string }[] }).objects ?? [],
  )
  t.same(
    manifest.map((m) => [m.id, m.version]),
    got.map((o) => [o.id, objects.find((x) => x.id === o.id)?.modified]),
    'the same order as the objects, each version its modified',
  )

  // get_object(id) and object_versions(id), under the ids the client pushed.
  const one = json<{ objects: Obj[] }>(await C.get(`${coll}objects/${objects[2]?.id}/`))
  t.equal(one.objects[0]?.id, objects[2]?.id)
  t.same(json(await C.get(`${coll}objects/${objects[2]?.id}/versions/`)), { more: false, versions: [objects[2]?.modified] })

  // Poll: added_after = the X-TAXII-Date-Added-Last header of the last pull.
  const last = await C.get(`${coll}objects/`, { 'match[type]': 'indicator' })
  const since = last.headers['x-taxii-date-added-last'] as string
  t.ok(since, 'X-TAXII-Date-Added-Last')
  t.same(json(await C.get(`${coll}objects/`, { added_after: since, 'match[type]': 'indicator' })), { more: false }, 'nothing new')
  const later = { ...objects[0], id: `indicator--${randomUUID()}`, pattern: `[domain-name:value = 'later-${randomUUID().slice(0, 8)}.example']` }
  t.equal((await C.post(`${coll}objects/`, JSON.stringify({ type: 'bundle', id: `bundle--${randomUUID()}`, objects: [later] }))).statusCode, 202)
  const fresh = await eventually(
    () => C.get(`${coll}objects/`, { added_after: since, 'match[type]': 'indicator' }),
    (r) => (json<{ objects?: Obj[] }>(r).objects ?? []).length > 0,
  )
  t.same(
    (json<{ objects?: Obj[] }>(fresh).objects ?? []).map((o) => o.id),
    [later.id],
    'exactly what was added since',
  )
})

// What DCX does not keep of an imported indicator, as docs/interoperability.md says: its own
// extension is re-derived, TLP markings are served as TLP 2.0 ids, granular markings are refused.
const DECIDED = new Set(['object_marking_refs', 'granular_markings', 'extensions'])

function examples(dir = path.join(STIX_DIR, 'examples'), rel = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? examples(path.join(dir, e.name), `${rel}${e.name}/`) : e.name.endsWith('.json') ? [`${rel}${e.name}`] : [],
  )
}

t.test('round trip of the OASIS examples: every indicator DCX imports comes back with all its producer said', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const C = client(a.contributor.clientId, a.contributor.clientSecret)
  const coll = `/taxii2/dcx/collections/${a.org.id}/`
  let checked = 0
  for (const file of examples()) {
    const example = readExample(file)
    // A file holding one object (not a bundle) is pushed in an envelope of its own.
    const body = example.type === 'bundle' ? example : { objects: [example] }
    const res = await C.post(`${coll}objects/`, JSON.stringify(body))
    if (example.type !== 'bundle') example.objects = [example as unknown as Record<string, unknown>]
    t.equal(res.statusCode, 202, `${file}: ${res.body.slice(0, 200)}`)
    const status = json<{ successes: { id: string; message: string }[] }>(res)
    for (const s of status.successes.filter((x) => x.id.startsWith('indicator--'))) {
      const sent = example.objects.find((o) => o.id === s.id) as Obj
      const got = await eventually(
        () => C.get(`${coll}objects/${s.id}/`),
        (r) => r.statusCode === 200,
      )
      t.equal(got.statusCode, 200, `${file}: ${s.id} under its own id`)
      const back = (json<{ objects: Obj[] }>(got).objects ?? [])[0] as Obj
      for (const [k, v] of Object.entries(sent)) {
        if (DECIDED.has(k)) continue
        if (k === 'created' || k === 'modified') t.equal(Date.parse(String(back[k])), Date.parse(String(v)), `${file} ${s.id}: ${k} (the same instant)`)
        else t.same(back[k], v, `${file} ${s.id}: ${k} kept`)
      }
      // Markings: each producer TLP marking comes back as the TLP 2.0 marking of the same level.
      if (Array.isArray(sent.object_marking_refs)) t.ok(Array.isArray(back.object_marking_refs) && back.object_marking_refs.length > 0, 'a TLP marking')
      t.equal(stixErrors(back), undefined, `${file} ${s.id}: valid STIX`)
      const refs = [back.created_by_ref, ...((back.object_marking_refs as string[]) ?? [])].filter((r): r is string => typeof r === 'string')
      for (const ref of refs) t.equal((await C.get(`${coll}objects/${ref}/`)).statusCode, 200, `${file}: ${ref} resolves`)
      checked++
    }
  }
  t.ok(checked >= 10, `${checked} example indicators round-tripped`)
})
