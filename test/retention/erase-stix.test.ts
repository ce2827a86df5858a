// Erasure wipes what a STIX producer said too: an imported indicator's kept producer properties
// (pattern, name, description) and the objects pushed along with it are gone from the database,
// while its producer id stays so the tombstone is served under the id the partner knows.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { sql } from 'drizzle-orm'
import { as, buildTestApp, json, orgWith } from '../helper.js'

const app = await buildTestApp(t)
const owner = await orgWith(app, ['contributor', 'reader'], { sector: 'police' })
const alias = `erasable-${randomUUID().slice(0, 8)}`
const stixId = `indicator--${randomUUID()}`
const producer = `identity--${randomUUID()}`

t.test('an imported indicator, erased: its producer text is gone, its id stays', async (t) => {
  const bundle = {
    type: 'bundle',
    id: `bundle--${randomUUID()}`,
    objects: [
      {
        type: 'identity',
        spec_version: '2.1',
        id: producer,
        created: '2024-01-01T00:00:00.000Z',
        modified: '2024-01-01T00:00:00.000Z',
        name: 'Producer',
        identity_class: 'organization',
      },
      {
        type: 'indicator',
        spec_version: '2.1',
        id: stixId,
        created_by_ref: producer,
        created: '2024-02-01T00:00:00.000Z',
        modified: '2024-02-01T00:00:00.000Z',
        name: `vendor ${alias}`,
        description: `sells as ${alias}`,
        indicator_types: ['malicious-activity'],
        pattern: `[domain-name:value = '${alias}.example']`,
        pattern_type: 'stix',
        valid_from: '2024-02-01T00:00:00.000Z',
      },
    ],
  }
  const imported = await as(app, owner.contributor.token).post('/v1/import/stix?distribution=organisation', bundle)
  t.equal(imported.statusCode, 200, imported.body)
  t.match(json(imported).counts, { created: 1, kept: 1 }, 'the indicator created, its producer kept along')
  const [before] = await app.database.asOwner((q) => q(sql`select id, stix is not null as has_stix from indicators where stix_id = ${stixId}`))
  t.ok(before, 'imported under the producer id')
  const id = String(before?.id)
  const res = await as(app, owner.contributor.token).post(`/v1/indicators/${id}/review`, { decision: 'erase', reason: 'no longer needed' })
  t.equal(res.statusCode, 200, res.body)
  t.equal(json(res).status, 'erased')
  const [after] = await app.database.asOwner((q) =>
    q(sql`select status, value, normalized_value, stix, stix_refs, stix_id, description from indicators where id = ${id}::uuid`),
  )
  t.match(after, { status: 'erased', value: '', normalized_value: '', stix: null, stix_refs: null, stix_id: stixId, description: '' })
  const [leak] = await app.database.asOwner((q) =>
    q(sql`select count(*)::int as n from indicators where id = ${id}::uuid and row_to_json(indicators)::text like ${`%${alias}%`}`),
  )
  t.equal(Number(leak?.n), 0, 'nothing of the value is left in the row')
})
