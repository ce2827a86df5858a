// Bulk ingest writes its rows in one statement (the rows as jsonb); each row must be the one the
// single POST /v1/indicators writes for the same item: every column but the id, the timestamps
// and the change-feed position, the generated ones (search, match_digest) included.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { as, buildTestApp, orgWith } from '../helper.js'
import { createGroup, rowsAs, word } from './fixtures.js'

const app = await buildTestApp(t)

t.test('every column of a bulk row is what the single POST writes', async (t) => {
  const { org, contributor, org_admin } = await orgWith(app, ['contributor', 'org_admin'])
  const group = await createGroup(app, org_admin.token, word('g'), [])
  const run = word('rows')
  const tricky = `q"uote' back\\slash \\ud800 literal, emoji 🧪, lone \ud800 and \udc00 surrogates, tab\tnewline\n, ${run}`
  const bases: Record<string, unknown>[] = [
    { type: 'vendor_alias', value: `  ${run} plain  ` },
    {
      type: 'domain',
      value: `${run}.Example.ORG`,
      description: tricky,
      confidence: 0,
      reliability: 'B',
      credibility: 1,
      tlp: 'green',
      distribution: 'community',
      validFrom: '2026-01-01T00:00:00.123456Z',
      validUntil: '2030-01-01T01:02:03+02:00',
      tags: [run, 'dup', 'dup', 'ünï'],
      countries: ['NL', 'DE', 'NL'],
    },
    { type: 'crypto_address', value: '1BoatSLRHtKNngkdXEeobR76b53LETtpyT', valueVisibility: 'match_only', tlp: 'amber', distribution: 'authorities' },
    { type: 'file_hash', value: 'D41D8CD98F00B204E9800998ECF8427E', distribution: 'sharing_group', sharingGroupId: group.id, tlp: 'amber+strict' },
    { type: 'email', value: `Someone.${run}@Example.org`, description: '', validFrom: null, validUntil: null },
  ]
  const A = as(app, contributor.token)
  // The same items twice over (distinct by tag): once one by one, once in one bulk call.
  const single = bases.map((b) => ({ ...b, tags: [...((b.tags as string[]) ?? []), 'single'] }))
  const bulk = bases.map((b) => ({ ...b, tags: [...((b.tags as string[]) ?? []), 'bulk'] }))
  for (const item of single) {
    const res = await A.post('/v1/indicators', item)
    t.equal(res.statusCode, 201, res.body.slice(0, 200))
  }
  const res = await A.post('/v1/indicators/bulk', { items: bulk })
  t.equal(res.statusCode, 200, res.body.slice(0, 200))
  t.same(
    (res.json() as { results: { status: string }[] }).results.map((r) => r.status),
    bases.map(() => 'created'),
  )

  const cols = sql`type, value, normalized_value, network, value_visibility, description, confidence, reliability, credibility, tlp,
    distribution, sharing_group_id, valid_from, valid_until, countries, status, version, created_by, organisation_id,
    search::text as search, encode(match_digest, 'hex') as match_digest, created_at = updated_at as fresh,
    change_seq is not null as sequenced`
  const of = async (tag: string) =>
    await rowsAs<Record<string, unknown>>(
      app,
      org,
      sql`select ${cols}, array_remove(tags, ${tag}::text) as tags from indicators where organisation_id = ${org.id} and ${tag} = any(tags) order by change_seq`,
    )
  const one = await of('single')
  const many = await of('bulk')
  t.equal(one.length, bases.length)
  t.same(many, one, 'the same columns, row for row')
  t.ok(
    many.every((r) => r.created_by === contributor.id && r.organisation_id === org.id && r.fresh === true && r.sequenced === true),
    'created by the caller, created_at = updated_at, a change sequence',
  )
  t.match(many[1]?.description, /\ufffd and \ufffd surrogates/, 'lone surrogates stored as U+FFFD, as a text parameter stores them')
  t.match(many[1]?.description, /back\\slash \\ud800 literal/, 'a literal backslash-u is kept as written')

  // Change-feed order follows the items' order within the call.
  const seqs = await rowsAs<{ seq: string; xid: string }>(
    app,
    org,
    sql`select change_seq::text as seq, change_xid::text as xid from indicators where organisation_id = ${org.id} and 'bulk' = any(tags) order by change_seq`,
  )
  t.equal(new Set(seqs.map((s) => s.xid)).size, 1, 'one transaction')
  const ids = (res.json() as { results: { id: string }[] }).results.map((r) => r.id)
  const order = await rowsAs<{ id: string }>(
    app,
    org,
    sql`select id from indicators where organisation_id = ${org.id} and 'bulk' = any(tags) order by change_seq`,
  )
  t.same(
    order.map((r) => r.id),
    ids,
    'change_seq in item order',
  )
})
