// Screening a manifest end to end (issue 13, "Done when"): a postal operator runs the example
// (examples/screen-manifest.ts, on the client library src/screening/client.ts) against the API on a
// real socket, finds the holdings it may match, and an unmatched tested value appears nowhere on
// the server: not in any text, json or bytea column of any table, not in the service's logs (at
// trace level), not in the audit events — which hold the counts and the justification.
import { randomInt } from 'node:crypto'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { sql } from 'drizzle-orm'
import t from 'tap'
import { build } from '../../src/app.js'
import { normalizeIndicator } from '../../src/modules/indicators/normalize.js'
import { createDcxClient } from '../../examples/client.js'
import { parseCsv, screenManifest } from '../../examples/screen-manifest.js'
import { as, createAccount, createOrg, json, testConfig, testDatabase, unique } from '../helper.js'

// The service's own log, captured at trace level (every request and response line).
const logged: string[] = []
const sink = new Writable({
  write(chunk, _enc, done) {
    logged.push(String(chunk))
    done()
  },
})
const config = testConfig({ LOG_LEVEL: 'trace' })
const app = await build(config, { ...(await testDatabase(config)), logger: { level: 'trace', stream: sink } })
await app.ready()
t.teardown(() => app.close())
await app.listen({ port: 0, host: '127.0.0.1' })
const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

const customs = await createOrg(app, { sector: 'customs', country: 'DE' })
const analyst = await createAccount(app, customs.id, ['contributor'])
const post = await createOrg(app, { sector: 'postal', country: 'NL' })
const operator = await createAccount(app, post.id, ['reader'])

const tagline = unique('e2e').toLowerCase()
// Seven digits of this run's own: on a shared database earlier runs' holdings stay.
const digits = () => String(randomInt(1_000_000, 9_999_999))
const heldDigits = digits()
const held = {
  email: `drop-${tagline}@example.org`,
  phone: `+49 30 ${heldDigits}`,
  address: `Lagerweg 7, ${tagline} Hamburg`,
}
// The values that must never reach the server: in the manifest, held by nobody.
const UNMATCHED = {
  email: `customer-${tagline}@example.net`,
  phone: `+31 20 ${digits()}`,
}

const ids: Record<string, string> = {}
for (const [type, value, key] of [
  ['email', held.email, 'email'],
  ['phone', held.phone, 'phone'],
  ['postal_address', held.address, 'address'],
] as const) {
  const res = await as(app, analyst.token).post('/v1/indicators', { type, value, distribution: 'community', tlp: 'amber', valueVisibility: 'match_only' })
  if (res.statusCode !== 201) throw new Error(`fixture: ${res.body}`)
  ids[key] = json<{ id: string }>(res).id
}

t.test('a manifest screened end to end: hits resolved, an unmatched value nowhere on the server', async (t) => {
  await app.screening.tagger.runOnce({ wait: true })
  const dir = await mkdtemp(path.join(tmpdir(), 'dcx-manifest-'))
  const file = path.join(dir, 'manifest.csv')
  await writeFile(
    file,
    [
      'parcel,email,phone,postal_address',
      // the held email in other case, the held phone spelt otherwise
      `CX001,${held.email.toUpperCase()},${UNMATCHED.phone},`,
      `CX002,${UNMATCHED.email},"+49-30-${heldDigits.slice(0, 3)}-${heldDigits.slice(3)}",`,
      `CX003,,,"${held.address}"`,
      'CX004,not-an-address,,',
    ].join('\r\n') + '\r\n',
  )
  const logsBefore = logged.length
  const dcx = await createDcxClient(baseUrl, operator.clientId, operator.clientSecret)
  const result = await screenManifest(dcx, parseCsv(await readFile(file, 'utf8')), { justification: 'ICS2 pre-loading check, flight KL1775' })

  t.same(result.screened, { email: 2, phone: 2, postal_address: 1 }, 'every distinct valid value screened once')
  t.same(
    result.invalid.map((i) => [i.row, i.column]),
    [['CX004', 'email']],
    'the invalid value was never sent',
  )
  t.same(
    result.hits.map((h) => [h.row, h.column, h.matches.map((m) => m.id)]).sort(),
    [
      ['CX001', 'email', [ids.email]],
      ['CX002', 'phone', [ids.phone]],
      ['CX003', 'postal_address', [ids.address]],
    ],
    'the three held values hit, whatever their spelling',
  )
  t.match(result.hits[0]?.matches[0], { organisationId: customs.id, organisation: { name: customs.name }, tlp: 'amber', handlingCode: 'H0' })
  t.ok(logged.length > logsBefore, 'the screening requests were logged')

  // The needles: what the operator typed and what the normaliser made of it.
  const needles = new Set<string>()
  for (const [type, value] of [
    ['email', UNMATCHED.email],
    ['phone', UNMATCHED.phone],
  ] as const) {
    needles.add(value)
    const n = normalizeIndicator(type, value)
    if (n.ok) needles.add(n.normalizedValue)
  }
  t.equal(needles.size, 3, 'the email normalises to itself; the phone has a normalised form')

  // Every text-like column of every table (a pg_dump of the data, column by column).
  const columns = await app.database.asOwner((q) =>
    q(sql`select table_name, column_name, data_type from information_schema.columns
          where table_schema = 'public' and data_type in ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY', 'bytea', 'tsvector', 'USER-DEFINED')
          order by table_name, column_name`),
  )
  t.ok(columns.length > 30, `${columns.length} columns searched`)
  t.ok(
    columns.some((c) => c.table_name === 'audit_events' && c.column_name === 'details'),
    'the audit details are among them',
  )
  t.ok(
    columns.some((c) => c.table_name === 'screening_tags' && c.column_name === 'tag'),
    'and the tags',
  )
  for (const needle of needles) {
    const found: string[] = []
    for (const c of columns) {
      const col = sql.identifier(String(c.column_name))
      const table = sql.identifier(String(c.table_name))
      const where =
        c.data_type === 'bytea' ? sql`position(convert_to(${needle}, 'UTF8') in ${col}) > 0` : sql`strpos(lower(${col}::text), lower(${needle})) > 0`
      const [hit] = await app.database.asOwner((q) => q(sql`select count(*)::int as n from ${table} where ${where}`))
      if (Number(hit?.n) > 0) found.push(`${c.table_name}.${c.column_name}`)
    }
    t.same(found, [], `"${needle}" is in no column of the database`)
    t.notOk(
      logged.some((l) => l.toLowerCase().includes(needle.toLowerCase())),
      `"${needle}" is in no log line`,
    )
  }
  // The control: the same search finds a held value (the indicator's own row), so it can fail.
  const [control] = await app.database.asOwner((q) => q(sql`select count(*)::int as n from indicators where strpos(lower(value::text), ${held.email}) > 0`))
  t.equal(control?.n, 1, 'the search finds what is there')

  // The audit holds what was done: counts, type, epoch and justification, and who got which holding.
  const events = await app.database.asOwner((q) =>
    q(sql`select action, details from audit_events where organisation_id = ${post.id} and action in ('screening.evaluate', 'screening.resolve') order by id`),
  )
  t.same(
    events.filter((e) => e.action === 'screening.evaluate').map((e) => [(e.details as { type: string }).type, (e.details as { count: number }).count]),
    [
      ['email', 2],
      ['phone', 2],
      ['postal_address', 1],
    ],
    'one evaluate event per batch, with its count',
  )
  for (const e of events) t.match(e.details, { epoch: Number, justification: 'ICS2 pre-loading check, flight KL1775' }, `${e.action}: epoch and justification`)
  const disclosed = events.flatMap((e) => (e.details as { disclosed?: { indicatorId: string }[] }).disclosed ?? []).map((d) => d.indicatorId)
  t.same(disclosed.sort(), [ids.email, ids.phone, ids.address].sort(), 'the disclosure events name the holdings resolved')

  // The owner is told.
  const notices = json<{ items: { indicatorId: string; disclosedTo: { organisationId: string } }[] }>(
    await as(app, analyst.token).get('/v1/screening/disclosures'),
  )
  t.same(notices.items.map((n) => n.indicatorId).sort(), [ids.email, ids.phone, ids.address].sort())
  t.ok(
    notices.items.every((n) => n.disclosedTo.organisationId === post.id),
    'disclosed to the postal operator',
  )
})
