// SIENA handling codes (DESIGN §7, "Handling codes") on indicators and notes: on every way in
// (create, bulk, update, STIX import) with the H3 ⇔ handlingNote rule, and in every output
// (JSON, match results, change feed, STIX markings and the DCX extension).
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { as, buildTestApp, json, orgWith, unique } from '../helper.js'
import { problem } from '../foundation/support.js'
import { HANDLING_MARKING_DEFINITIONS, HANDLING_MARKING_IDS, TLP_MARKING_IDS } from '../../src/modules/stix/stix.constants.js'

const app = await buildTestApp(t)
// fourEyes off for the owner: its items publish at once (four-eyes has its own file).
const owner = await orgWith(app, ['contributor', 'org_admin'], { sector: 'customs' })
const viewer = await orgWith(app, ['contributor', 'reader'], { sector: 'police' })
{
  const r = await as(app, owner.org_admin.token).patch(`/v1/organisations/${owner.org.id}/settings`, { fourEyes: false })
  if (r.statusCode !== 200) throw new Error(r.body)
}
const A = as(app, owner.contributor.token)
const V = as(app, viewer.reader.token)
const domain = () => `${unique('h')}.example`

type Item = { id: string; handlingCode: string; handlingNote: string | null; version: number }
type Bundle = { objects: Record<string, unknown>[] }

t.test('indicators: default H0, H1–H3 on create; H3 needs a note, the others refuse one', async (t) => {
  const plain = json<Item>(await A.post('/v1/indicators', { type: 'domain', value: domain() }))
  t.match(plain, { handlingCode: 'H0', handlingNote: null }, 'H0 by default, no note')

  for (const code of ['H1', 'H2']) {
    const res = await A.post('/v1/indicators', { type: 'domain', value: domain(), handlingCode: code })
    t.equal(res.statusCode, 201, res.body)
    t.match(json(res), { handlingCode: code, handlingNote: null })
  }
  const h3 = await A.post('/v1/indicators', {
    type: 'domain',
    value: domain(),
    handlingCode: 'H3',
    handlingNote: '  Not to be shared with the tax authorities  ',
  })
  t.equal(h3.statusCode, 201, h3.body)
  t.match(json(h3), { handlingCode: 'H3', handlingNote: 'Not to be shared with the tax authorities' }, 'note kept, trimmed')
  t.same(json(await A.get(`/v1/indicators/${json<Item>(h3).id}`)), json(h3), 'read back alike')

  problem(t, await A.post('/v1/indicators', { type: 'domain', value: domain(), handlingCode: 'H3' }), 400, ['body.handlingNote'])
  problem(t, await A.post('/v1/indicators', { type: 'domain', value: domain(), handlingCode: 'H3', handlingNote: '   ' }), 400, ['body.handlingNote'])
  problem(t, await A.post('/v1/indicators', { type: 'domain', value: domain(), handlingCode: 'H3', handlingNote: 'x'.repeat(501) }), 400, ['body.handlingNote'])
  problem(t, await A.post('/v1/indicators', { type: 'domain', value: domain(), handlingCode: 'H1', handlingNote: 'why' }), 400, ['body.handlingNote'])
  problem(t, await A.post('/v1/indicators', { type: 'domain', value: domain(), handlingNote: 'why' }), 400, ['body.handlingNote'])
  problem(t, await A.post('/v1/indicators', { type: 'domain', value: domain(), handlingCode: 'H4' }), 400, ['body.handlingCode'])
  problem(t, await A.post('/v1/indicators', { type: 'domain', value: domain(), handlingCode: 'h1' }), 400, ['body.handlingCode'])
})

t.test('bulk: each item by the same rule, named by its index', async (t) => {
  const res = await A.post('/v1/indicators/bulk', {
    items: [
      { type: 'domain', value: domain(), handlingCode: 'H2' },
      { type: 'domain', value: domain(), handlingCode: 'H3' },
      { type: 'domain', value: domain(), handlingCode: 'H3', handlingNote: 'Only for the JIT' },
      { type: 'domain', value: domain(), handlingCode: 'H0', handlingNote: 'no' },
    ],
  })
  t.equal(res.statusCode, 200, res.body)
  const results = json<{ results: { status: string; id?: string; problem?: { errors: { name: string }[] } }[] }>(res).results
  t.same(
    results.map((r) => r.status),
    ['created', 'invalid', 'created', 'invalid'],
  )
  t.same(
    results[1]?.problem?.errors.map((e) => e.name),
    ['items.1.handlingNote'],
  )
  t.same(
    results[3]?.problem?.errors.map((e) => e.name),
    ['items.3.handlingNote'],
  )
  t.match(json(await A.get(`/v1/indicators/${results[0]?.id}`)), { handlingCode: 'H2', handlingNote: null })
  t.match(json(await A.get(`/v1/indicators/${results[2]?.id}`)), { handlingCode: 'H3', handlingNote: 'Only for the JIT' })
})

t.test('update: change the code; leaving H3 clears the note; the rule holds on the merged item', async (t) => {
  const item = json<Item>(await A.post('/v1/indicators', { type: 'domain', value: domain(), handlingCode: 'H3', handlingNote: 'Ask the desk first' }))
  problem(t, await A.patch(`/v1/indicators/${item.id}`, { handlingNote: null }), 400, ['body.handlingNote'])
  const renamed = json<Item>(await A.patch(`/v1/indicators/${item.id}`, { handlingNote: 'Ask the 24/7 desk first' }))
  t.match(renamed, { handlingCode: 'H3', handlingNote: 'Ask the 24/7 desk first', version: 2 })
  const h1 = json<Item>(await A.patch(`/v1/indicators/${item.id}`, { handlingCode: 'H1' }))
  t.match(h1, { handlingCode: 'H1', handlingNote: null, version: 3 }, 'moving away from H3 clears the note')
  problem(t, await A.patch(`/v1/indicators/${item.id}`, { handlingNote: 'x' }), 400, ['body.handlingNote'])
  problem(t, await A.patch(`/v1/indicators/${item.id}`, { handlingCode: 'H3' }), 400, ['body.handlingNote'])
  t.match(json(await A.get(`/v1/indicators/${item.id}`)), { handlingCode: 'H1', version: 3 }, 'refused patches changed nothing')
})

t.test('match results and the change feed carry the code', async (t) => {
  const value = domain()
  const item = json<Item>(await A.post('/v1/indicators', { type: 'domain', value, distribution: 'community', tlp: 'green', handlingCode: 'H2' }))
  const match = json<{ results: { matches: { id: string; handlingCode: string }[] }[] }>(
    await V.post('/v1/indicators/match', { values: [{ type: 'domain', value }] }),
  )
  t.same(
    match.results[0]?.matches.map((m) => [m.id, m.handlingCode]),
    [[item.id, 'H2']],
    'handlingCode per match',
  )

  // The feed, from the current head: the item changes, then shows up with its code.
  type Page = { items: { id: string; indicator?: Item }[]; nextCursor: string | null; hasMore: boolean }
  let head = json<Page>(await V.get('/v1/changes?limit=1000'))
  while (head.hasMore) head = json<Page>(await V.get(`/v1/changes?limit=1000&cursor=${head.nextCursor}`))
  await A.patch(`/v1/indicators/${item.id}`, { handlingCode: 'H3', handlingNote: 'Court use only with the prosecutor' })
  let found: Item | undefined
  for (let i = 0; i < 100 && !found; i++) {
    const page = json<Page>(await V.get(`/v1/changes?limit=1000${head.nextCursor ? `&cursor=${head.nextCursor}` : ''}`))
    found = page.items.find((c) => c.id === item.id)?.indicator
    if (!found) await new Promise((r) => setTimeout(r, 100))
  }
  t.match(found, { handlingCode: 'H3', handlingNote: 'Court use only with the prosecutor' }, 'the feed carries code and note')
})

t.test('notes: the same rule; revisions keep the code of each version', async (t) => {
  const base = { title: unique('Handling note'), summary: 's', body: 'b', topics: ['training'], distribution: 'community', tlp: 'green' }
  problem(t, await A.post('/v1/notes', { ...base, handlingCode: 'H3' }), 400, ['body.handlingNote'])
  problem(t, await A.post('/v1/notes', { ...base, handlingCode: 'H2', handlingNote: 'x' }), 400, ['body.handlingNote'])
  const created = await A.post('/v1/notes', { ...base, handlingCode: 'H3', handlingNote: 'Not for the press office' })
  t.equal(created.statusCode, 201, created.body)
  const note = json<Item>(created)
  t.match(note, { handlingCode: 'H3', handlingNote: 'Not for the press office' })
  const h2 = json<Item>(await A.patch(`/v1/notes/${note.id}`, { handlingCode: 'H2' }))
  t.match(h2, { handlingCode: 'H2', handlingNote: null }, 'leaving H3 clears the note')
  problem(t, await A.patch(`/v1/notes/${note.id}`, { handlingNote: 'x' }), 400, ['body.handlingNote'])
  t.match(json(await V.get(`/v1/notes/${note.id}`)), { handlingCode: 'H2' }, 'another organisation reads the code')
  const revs = json<{ items: { version: number; handlingCode: string; handlingNote: string | null }[] }>(await A.get(`/v1/notes/${note.id}/revisions`))
  t.same(
    revs.items.map((r) => [r.version, r.handlingCode, r.handlingNote]),
    [
      [1, 'H3', 'Not for the press office'],
      [2, 'H2', null],
    ],
  )
  t.equal(json(await A.post('/v1/notes', base)).handlingCode, 'H0', 'H0 by default')
})

t.test('STIX export: one statement marking per code, on every object; code and note in the extension', async (t) => {
  const ind = json<Item>(await A.post('/v1/indicators', { type: 'domain', value: domain(), distribution: 'community', tlp: 'green', handlingCode: 'H1' }))
  const h3 = json<Item>(
    await A.post('/v1/indicators', { type: 'domain', value: domain(), distribution: 'community', tlp: 'green', handlingCode: 'H3', handlingNote: 'Ask first' }),
  )
  const note = json<Item>(
    await A.post('/v1/notes', {
      title: unique('n'),
      summary: 's',
      body: 'b',
      topics: ['training'],
      distribution: 'community',
      tlp: 'green',
      handlingCode: 'H2',
    }),
  )
  await as(app, viewer.contributor.token).post(`/v1/indicators/${ind.id}/sightings`, { seenAt: new Date().toISOString(), outcome: 'seized' })
  const bundle = JSON.parse((await V.get(`/v1/export/stix?organisationId=${owner.org.id}`)).body) as Bundle
  const defs = bundle.objects.filter((o) => o.type === 'marking-definition' && String(o.name).startsWith('SIENA'))
  t.same(defs, HANDLING_MARKING_DEFINITIONS, 'the registry, as is, in the bundle')
  t.same(
    defs.map((d) => d.definition_type),
    ['statement', 'statement', 'statement', 'statement'],
  )
  for (const d of defs) t.match((d.definition as { statement: string }).statement, /SIENA handling code H[0-3]/)
  const byId = new Map(bundle.objects.map((o) => [o.id, o]))
  const stixInd = byId.get(`indicator--${ind.id}`) as Record<string, unknown>
  t.same(stixInd.object_marking_refs, [TLP_MARKING_IDS.green, HANDLING_MARKING_IDS.H1])
  const ext = (o: Record<string, unknown>) => Object.values(o.extensions as Record<string, Record<string, unknown>>)[0] as Record<string, unknown>
  t.match(ext(stixInd), { handling_code: 'H1' })
  t.notOk('handling_note' in ext(stixInd))
  const stixH3 = byId.get(`indicator--${h3.id}`) as Record<string, unknown>
  t.same(stixH3.object_marking_refs, [TLP_MARKING_IDS.green, HANDLING_MARKING_IDS.H3])
  t.match(ext(stixH3), { handling_code: 'H3', handling_note: 'Ask first' })
  const report = byId.get(`report--${note.id}`) as Record<string, unknown>
  t.same(report.object_marking_refs, [TLP_MARKING_IDS.green, HANDLING_MARKING_IDS.H2])
  const sighting = bundle.objects.find((o) => o.type === 'sighting' && o.sighting_of_ref === `indicator--${ind.id}`)
  t.same(sighting?.object_marking_refs, [TLP_MARKING_IDS.green, HANDLING_MARKING_IDS.H1], 'a sighting carries its indicator’s code')
  const referenced = new Set(bundle.objects.flatMap((o) => (o.object_marking_refs as string[] | undefined) ?? []))
  for (const ref of referenced) t.ok(byId.has(ref), `${ref} is defined in the bundle`)
})

t.test('STIX import maps the markings back (the DCX extension first)', async (t) => {
  const importer = as(app, viewer.contributor.token)
  const obj = (extra: Record<string, unknown>) => ({
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--${randomUUID()}`,
    created: '2026-01-01T00:00:00.000Z',
    modified: '2026-01-01T00:00:00.000Z',
    pattern: `[domain-name:value = '${domain()}']`,
    pattern_type: 'stix',
    valid_from: '2026-01-01T00:00:00.000Z',
    ...extra,
  })
  const objects = [
    obj({ object_marking_refs: [TLP_MARKING_IDS.amber, HANDLING_MARKING_IDS.H1] }),
    obj({ object_marking_refs: [HANDLING_MARKING_IDS.H2] }),
    obj({}),
    obj({ object_marking_refs: [HANDLING_MARKING_IDS.H3] }),
    obj({
      object_marking_refs: [HANDLING_MARKING_IDS.H3],
      extensions: {
        'extension-definition--3d1b5bde-85df-4f34-b431-cb1f1a58b1a6': { extension_type: 'property-extension', handling_code: 'H3', handling_note: 'JIT only' },
      },
    }),
    obj({ object_marking_refs: [HANDLING_MARKING_IDS.H1, HANDLING_MARKING_IDS.H2] }),
  ]
  const res = await importer.post('/v1/import/stix', { type: 'bundle', id: `bundle--${randomUUID()}`, objects })
  t.equal(res.statusCode, 200, res.body)
  const results = json<{ results: { status: string; indicatorId?: string; reason?: string }[] }>(res).results
  t.same(
    results.map((r) => r.status),
    ['created', 'created', 'created', 'invalid', 'created', 'created'],
  )
  t.match(results[3]?.reason, /handlingNote/, 'H3 without its restriction is refused, saying why')
  const codes = []
  for (const i of [0, 1, 2, 4, 5]) codes.push(json<Item>(await importer.get(`/v1/indicators/${results[i]?.indicatorId}`)))
  t.same(
    codes.map((c) => [c.handlingCode, c.handlingNote]),
    [
      ['H1', null],
      ['H2', null],
      ['H0', null],
      ['H3', 'JIT only'],
      ['H2', null],
    ],
  )
})
