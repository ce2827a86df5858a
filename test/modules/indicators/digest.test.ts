// The match digest is computed twice — by the database for every stored indicator (a generated
// column) and by the service for every probe — and matching only works while both agree.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { matchDigest } from '../../../src/modules/indicators/digest.js'
import { as, buildTestApp, json, orgWith } from '../../helper.js'

const app = await buildTestApp(t)
const O = await orgWith(app, ['contributor', 'reader'], { sector: 'police' })

t.test('the database and the service compute the same digest, non-ASCII values included', async (t) => {
  const items = [
    { type: 'vendor_alias', value: `Ünïcødé-Händler-${Date.now()}` },
    { type: 'person_name', value: 'Zoë Ŀàçroix 山田' },
    { type: 'postal_address', value: 'Straße 1, 10115 Berlin' },
    { type: 'email', value: `dig.${Date.now()}@exämple.org` },
    { type: 'domain', value: `digest-${Date.now()}.example` },
  ]
  for (const item of items) {
    const res = await as(app, O.contributor.token).post('/v1/indicators', { ...item, distribution: 'organisation', tlp: 'amber' })
    t.equal(res.statusCode, 201, res.body)
    const { id, normalizedValue } = json<{ id: string; normalizedValue: string }>(res)
    const [row] = await app.database.asOwner((q) => q(sql`select encode(match_digest, 'hex') as d from indicators where id = ${id}`))
    t.equal(row?.d, Buffer.from(matchDigest(item.type, normalizedValue)).toString('hex'), `${item.type}: digests agree`)
    const match = json<{ results: { matches: { id: string }[] }[] }>(await as(app, O.reader.token).post('/v1/indicators/match', { values: [item] }))
    t.same(
      match.results[0]?.matches.map((m) => m.id),
      [id],
      `${item.type}: matched through the digest`,
    )
  }
  t.equal(Buffer.from(matchDigest('domain', 'a.example')).length, 16, 'fixed width: 16 bytes')
  t.not(Buffer.from(matchDigest('domain', 'a')).toString('hex'), Buffer.from(matchDigest('url', 'a')).toString('hex'), 'the type is part of the key')
})
