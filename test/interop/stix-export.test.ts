// GET /v1/export/stix: every exported type validates against the OASIS STIX 2.1 schemas; TLP 2.0
// marking ids; stable ids with a new `modified` on update; the visibility rule, match_only
// included; filters; the audit event.
import t from 'tap'
import { HANDLING_MARKING_IDS } from '../../src/modules/stix/stix.constants.js'
import { sql } from 'drizzle-orm'
import { rows } from '../../src/db/client.js'
import { as, buildTestApp, isProblem, json, orgWith } from '../helper.js'
import { bundleErrors, SAMPLES, stixErrors } from './support.js'

type Obj = Record<string, unknown> & { type: string; id: string }
interface Bundle {
  type: string
  id: string
  objects: Obj[]
}

const TLP2 = {
  clear: 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  green: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  amber: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  'amber+strict': 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  red: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
}

// One app per file (as test/helper.ts intends); every test makes its own organisations.
const app = await buildTestApp(t)

t.test('every exported type validates against the OASIS STIX 2.1 schemas', async (t) => {
  const a = await orgWith(app, ['contributor'], { sector: 'customs' })
  const A = as(app, a.contributor.token)
  const ids: string[] = []
  for (const [i, s] of SAMPLES.entries()) {
    const res = await A.post('/v1/indicators', {
      ...s,
      description: `sample ${i}`,
      distribution: 'organisation',
      tlp: (['clear', 'green', 'amber', 'amber+strict', 'red'] as const)[i % 5],
      credibility: (i % 6) + 1,
      reliability: 'B',
      tags: ['darknet'],
      countries: ['NL'],
      validFrom: '2026-01-01T00:00:00Z',
      validUntil: '2027-01-01T00:00:00Z',
    })
    t.equal(res.statusCode, 201, res.body)
    ids.push(json<{ id: string }>(res).id)
  }
  const sighted = ids[3] as string
  t.equal((await A.post(`/v1/indicators/${sighted}/sightings`, { seenAt: '2026-02-01T10:00:00Z', outcome: 'seized', count: 3 })).statusCode, 201)
  t.equal((await A.post(`/v1/indicators/${sighted}/sightings`, { seenAt: '2026-03-01T10:00:00Z', outcome: 'seized' })).statusCode, 201)
  t.equal(
    (
      await A.post('/v1/notes', {
        title: 'Profiling parcels',
        summary: 'How',
        body: '# Steps\n1. …',
        topics: ['risk_profiling'],
        sectors: ['postal'],
        distribution: 'organisation',
        tlp: 'amber',
      })
    ).statusCode,
    201,
  )

  const res = await A.get(`/v1/export/stix?organisationId=${a.org.id}`)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/stix+json;version=2.1')
  const bundle = JSON.parse(res.body) as Bundle
  t.equal(bundleErrors(bundle), undefined, 'the bundle validates')
  const types = new Set<string>()
  for (const o of bundle.objects) {
    types.add(o.type)
    t.equal(stixErrors(o), undefined, `${o.id} validates`)
  }
  t.same([...types].sort(), ['extension-definition', 'identity', 'indicator', 'marking-definition', 'report', 'sighting'], 'every type DCX exports was checked')

  const indicators = bundle.objects.filter((o) => o.type === 'indicator')
  t.equal(indicators.length, SAMPLES.length, 'one indicator per item')
  const patterns = indicators.map((o) => o.pattern)
  for (const p of [
    "[url:value = 'http://2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion/shop']",
    "[url:value = 'https://shop.example.com/p?q=1']",
    "[domain-name:value = 'market.example.org']",
    "[email-addr:value = 'vendor@example.org']",
    "[file:hashes.'SHA-256' = 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c']",
    "[file:hashes.'MD5' = '001dd76872d80801692ff942308c64e6']",
    "[dcx-crypto-address:value = '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa']",
    "[dcx-phone-number:value = '+31701234567']",
    "[dcx-vendor-alias:value = 'Dr. Feel\\'Good \\\\ NL']",
    "[dcx-postal-item:value = 'RR123456785DE']",
  ])
    t.ok(patterns.includes(p), `pattern ${p}`)

  // Credibility → confidence per STIX 2.1 Appendix A (6 = cannot be judged: no confidence).
  const byCred = new Map(
    indicators.map((o) => [
      (o.extensions as Record<string, { credibility: number }>)['extension-definition--3d1b5bde-85df-4f34-b431-cb1f1a58b1a6']?.credibility,
      o.confidence,
    ]),
  )
  t.same(
    [1, 2, 3, 4, 5, 6].map((c) => byCred.get(c)),
    [90, 70, 50, 30, 10, undefined],
    'Admiralty credibility → STIX confidence',
  )

  const sighting = bundle.objects.find((o) => o.type === 'sighting') as Obj
  t.match(sighting, {
    sighting_of_ref: `indicator--${sighted}`,
    count: 4,
    first_seen: '2026-02-01T10:00:00.000Z',
    last_seen: '2026-03-01T10:00:00.000Z',
    where_sighted_refs: [`identity--${a.org.id}`],
  })
  t.match(JSON.stringify(sighting), /"outcome":"seized"/, 'the outcome travels in the extension')

  const refs = new Set(bundle.objects.map((o) => o.id))
  for (const o of bundle.objects) {
    for (const ref of [o.created_by_ref, ...((o.object_marking_refs as string[] | undefined) ?? [])]) {
      if (ref) t.ok(refs.has(ref as string), `${o.id}: ${String(ref)} is in the bundle`)
    }
  }
})

t.test('TLP 2.0: the official marking definitions, one per level', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const A = as(app, a.contributor.token)
  for (const tlp of Object.keys(TLP2)) {
    const res = await A.post('/v1/indicators', { type: 'domain', value: `tlp-${tlp.replace('+', '-')}.example`, tlp, distribution: 'organisation' })
    t.equal(res.statusCode, 201, res.body)
  }
  const bundle = JSON.parse((await A.get(`/v1/export/stix?organisationId=${a.org.id}&include=indicators`)).body) as Bundle
  // The TLP 2.0 markings; the others are the SIENA handling codes (test/lifecycle/handling.test.ts).
  const markings = bundle.objects.filter((o) => o.type === 'marking-definition' && String(o.name).startsWith('TLP:'))
  t.same(markings.map((m) => m.id).sort(), Object.values(TLP2).sort(), 'the five TLP 2.0 ids')
  t.same(
    bundle.objects.filter((o) => o.type === 'marking-definition' && !markings.includes(o)).map((o) => o.name),
    ['SIENA handling code H0', 'SIENA handling code H1', 'SIENA handling code H2', 'SIENA handling code H3'],
    'and the four handling codes',
  )
  for (const m of markings) {
    t.match(m, {
      spec_version: '2.1',
      created: '2022-10-01T00:00:00.000Z',
      extensions: { 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d': { extension_type: 'property-extension' } },
    })
    const level = (m.extensions as Record<string, { tlp_2_0: string }>)['extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d']
      ?.tlp_2_0 as keyof typeof TLP2
    t.equal(m.id, TLP2[level])
    t.equal(m.name, `TLP:${level.toUpperCase()}`)
  }
  for (const o of bundle.objects.filter((x) => x.type === 'indicator')) {
    const level = String(o.name)
      .replace(/^domain: tlp-(.*)\.example$/, '$1')
      .replace('amber-strict', 'amber+strict') as keyof typeof TLP2
    t.same(o.object_marking_refs, [TLP2[level], HANDLING_MARKING_IDS.H0], `${level} marked (and H0, the default handling code)`)
  }
})

t.test('stable ids: the same item, the same id; an update exports a new modified', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const A = as(app, a.contributor.token)
  const ind = json<{ id: string }>(await A.post('/v1/indicators', { type: 'postal_item', value: 'RR123456785DE', distribution: 'organisation' }))
  const one = async () =>
    (JSON.parse((await A.get(`/v1/export/stix?organisationId=${a.org.id}&include=indicators`)).body) as Bundle).objects.find(
      (o) => o.type === 'indicator',
    ) as Obj
  const first = await one()
  const again = await one()
  t.equal(first.id, `indicator--${ind.id}`)
  t.same(again, first, 'an unchanged item exports identically')
  t.equal((await A.patch(`/v1/indicators/${ind.id}`, { confidence: 99 })).statusCode, 200)
  const after = await one()
  t.equal(after.id, first.id, 'same id after an update')
  t.equal(after.created, first.created)
  t.ok(String(after.modified) > String(first.modified), 'a new modified')
  t.equal((await A.delete(`/v1/indicators/${ind.id}`)).statusCode, 200)
  t.equal((await one()).revoked, true, 'a revoked item exports revoked')
})

t.test('visibility: another organisation gets what it may see, never a match_only value', async (t) => {
  const owner = await orgWith(app, ['contributor'], { sector: 'police' })
  const other = await orgWith(app, ['reader'], { sector: 'postal' })
  const O = as(app, owner.contributor.token)
  const secret = 'Pieter Geheim-Export'
  const mk = async (body: object) => json<{ id: string }>(await O.post('/v1/indicators', body)).id
  const shared = await mk({ type: 'domain', value: 'shared-export.example', distribution: 'community', tlp: 'green' })
  const hidden = await mk({ type: 'domain', value: 'hidden-export.example', distribution: 'organisation' })
  const authOnly = await mk({ type: 'domain', value: 'auth-export.example', distribution: 'authorities' })
  const matchOnly = await mk({ type: 'person_name', value: secret, valueVisibility: 'match_only', distribution: 'community', tlp: 'amber' })

  const theirs = await as(app, other.reader.token).get(`/v1/export/stix?organisationId=${owner.org.id}`)
  t.equal(theirs.statusCode, 200)
  const ids = (JSON.parse(theirs.body) as Bundle).objects.map((o) => o.id)
  t.ok(ids.includes(`indicator--${shared}`), 'community item exported')
  t.notOk(ids.includes(`indicator--${hidden}`), 'organisation-only item absent')
  t.notOk(ids.includes(`indicator--${authOnly}`), 'authorities item absent for a postal operator')
  t.notOk(ids.includes(`indicator--${matchOnly}`), 'match_only item absent')
  t.notOk(theirs.body.toLowerCase().includes('geheim-export'), 'the match_only value appears nowhere in the bytes')

  const signed = await as(app, other.reader.token).get(`/v1/export/stix?organisationId=${owner.org.id}&signed=true`)
  t.notOk(signed.body.toLowerCase().includes('geheim-export'), 'nor in a signed export')

  const own = await O.get(`/v1/export/stix?organisationId=${owner.org.id}`)
  t.ok(own.body.includes(secret), 'the owner exports its own match_only value')
})

t.test('filters, include, validation and the audit event', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const A = as(app, a.contributor.token)
  await A.post('/v1/indicators', { type: 'domain', value: 'filter-a.example', distribution: 'organisation', tags: ['keep'] })
  await A.post('/v1/indicators', { type: 'email', value: 'filter@example.org', distribution: 'organisation' })
  await A.post('/v1/notes', { title: 'N', summary: 's', body: 'b', topics: ['training'], distribution: 'organisation' })
  const kinds = async (qs: string) => {
    const res = await A.get(`/v1/export/stix?organisationId=${a.org.id}${qs}`)
    t.equal(res.statusCode, 200, res.body.slice(0, 200))
    return (JSON.parse(res.body) as Bundle).objects.filter((o) => o.type === 'indicator' || o.type === 'report').map((o) => String(o.name))
  }
  t.same(await kinds('&type=domain'), ['domain: filter-a.example'], 'type selects indicators only')
  t.same(await kinds('&tag=keep'), ['domain: filter-a.example'])
  t.same(await kinds('&value=FILTER@example.org'), ['email: filter@example.org'], 'value matched on the normalised form')
  t.same(await kinds('&include=notes'), ['N'])
  t.same(await kinds('&topic=training'), ['N'], 'a note filter selects notes only')
  t.equal((await kinds('')).length, 3)

  isProblem(t, await A.get('/v1/export/stix?type=postal_item&value=RR000000000DE'), 400)
  isProblem(t, await A.get('/v1/export/stix?include=everything'), 400)
  isProblem(t, await A.get('/v1/export/stix?bogus=1'), 400)
  isProblem(t, await app.inject({ method: 'GET', url: '/v1/export/stix' }), 401)
  isProblem(t, await as(app, (await orgWith(app, ['auditor'])).auditor.token).get('/v1/export/stix'), 403)

  const res = await A.get('/v1/export/stix?type=domain&signed=true')
  const [ev] = await rows<{ action: string; resource_type: string; outcome: string; details: Record<string, unknown> }>(
    app.db,
    sql`select action, resource_type, outcome, details from audit_events where request_id = ${res.headers['x-request-id'] as string}`,
  )
  t.match(ev, { action: 'stix.export', resource_type: 'stix', outcome: 'ok', details: { signed: true, filters: { type: 'domain' }, sha256: /^[0-9a-f]{64}$/ } })
})
