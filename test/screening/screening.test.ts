// Oblivious screening over HTTP (DESIGN.md §8): keys per epoch, the tagger, the digest (the one
// visibility definition decides what it holds), evaluate, resolve with disclosures, bad input.
// On PostgreSQL other files share the database: every assertion is about this file's own rows.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { sql } from 'drizzle-orm'
import { normalizeIndicator, type IndicatorType } from '../../src/modules/indicators/normalize.js'
import { completeScreening, prepareScreening, resolveRequest } from '../../src/screening/client.js'
import { loadFastOprf } from '../../src/screening/fast.js'
import { ScreeningKeys } from '../../src/screening/keys.js'
import { holdingTag } from '../../src/screening/server.js'
import { type DigestMessage, type EvaluateResponse, type KeysEntry, toBase64url } from '../../src/screening/wire.js'
import { as, buildTestApp, isProblem, json, orgWith, TEST_MASTER_KEY, unique } from '../helper.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Tap = { equal: (...a: any[]) => unknown }

const app = await buildTestApp(t)
const fast = await loadFastOprf()

const owner = await orgWith(app, ['contributor', 'reader'], { sector: 'police' })
const postal = await orgWith(app, ['reader', 'auditor'], { sector: 'postal' })

async function holding(body: Record<string, unknown>) {
  const res = await as(app, owner.contributor.token).post('/v1/indicators', { tlp: 'green', distribution: 'community', ...body })
  if (res.statusCode !== 201) throw new Error(`fixture: ${res.statusCode} ${res.body}`)
  return json<{ id: string; value: string; type: IndicatorType }>(res)
}

const owned = unique('screen').toLowerCase()
const values = {
  community: `${owned}-shared@example.org`,
  matchOnly: `${owned}-hidden@example.org`,
  authorities: `${owned}-police@example.org`,
  organisation: `${owned}-own@example.org`,
  revoked: `${owned}-revoked@example.org`,
  draft: `${owned}-draft@example.org`,
  erased: `${owned}-erased@example.org`,
}
const H = {
  community: await holding({ type: 'email', value: values.community }),
  matchOnly: await holding({ type: 'email', value: values.matchOnly, valueVisibility: 'match_only' }),
  authorities: await holding({ type: 'email', value: values.authorities, distribution: 'authorities' }),
  organisation: await holding({ type: 'email', value: values.organisation, distribution: 'organisation' }),
  revoked: await holding({ type: 'email', value: values.revoked }),
  // Organisation-only, so the states set below reach no other file's reader on a shared database (tags never depend on the distribution).
  draft: await holding({ type: 'email', value: values.draft, distribution: 'organisation' }),
  erased: await holding({ type: 'email', value: values.erased, distribution: 'organisation' }),
}

t.test('fixtures: a revoked, a draft and an erased holding', async (t) => {
  t.equal((await as(app, owner.contributor.token).delete(`/v1/indicators/${H.revoked.id}`)).statusCode, 200, 'revoked')
  // Drafts and erasure belong to the lifecycle's own operations; here their states are set directly.
  await app.database.asOwner(async (q) => {
    await q(sql`update indicators set status = 'draft', change_seq = nextval('change_seq') where id = ${H.draft.id}`)
    await q(sql`update indicators set status = 'erased', value = '', normalized_value = '', change_seq = nextval('change_seq') where id = ${H.erased.id}`)
  })
})

const tagOf = async (value: string, type: IndicatorType = 'email') => {
  const n = normalizeIndicator(type, value)
  if (!n.ok) throw new Error(n.reason)
  return toBase64url(holdingTag(fast, (await app.screening.keys.current()).secretKey, type, n.normalizedValue))
}

const ownTagRows = async () =>
  app.database.asOwner((q) =>
    q(sql`select t.indicator_id, t.epoch, t.change_seq = i.change_seq as fresh from screening_tags t join indicators i on i.id = t.indicator_id
          where i.organisation_id = ${owner.org.id}`),
  )

t.test('keys: the current epoch, sealed in the database; many nodes agree on one key', async (t) => {
  const res = await as(app, postal.reader.token).get('/v1/screening/keys')
  t.equal(res.statusCode, 200, res.body)
  const keys = json<KeysEntry & { previous: KeysEntry[] }>(res)
  t.match(keys, { suite: 'ristretto255-SHA512', mode: 'voprf', epoch: Number, publicKey: /^[A-Za-z0-9_-]{43}$/, notAfter: String, previous: Array })
  t.ok(Date.parse(keys.notAfter) > Date.now(), 'notAfter in the future')
  const current = await app.screening.keys.current()
  t.equal(keys.epoch, current.epoch)
  const [row] = await app.database.asOwner((q) => q(sql`select secret_key_enc, public_key from screening_keys where epoch = ${keys.epoch}`))
  t.match(row?.secret_key_enc, /^v1\./, 'the secret half is sealed')
  t.notOk(String(row?.secret_key_enc).includes(toBase64url(current.secretKey)), 'the secret key is not stored in the clear')
  // Two more "nodes" (key stores on the same database) asking at once: one epoch, one key.
  const a = new ScreeningKeys(app.db, TEST_MASTER_KEY, { epochDays: 30 })
  const b = new ScreeningKeys(app.db, TEST_MASTER_KEY, { epochDays: 30 })
  const [ka, kb] = await Promise.all([a.current(), b.current()])
  t.equal(ka.epoch, kb.epoch, 'both nodes use one epoch')
  t.equal(toBase64url(ka.publicKey), toBase64url(kb.publicKey))
  t.equal(ka.epoch, current.epoch)
  t.notOk(await a.accepted(ka.epoch + 1000), 'an unknown epoch is not accepted')
  // A node with another master key cannot open the keys.
  await t.rejects(new ScreeningKeys(app.db, 'another-master-key-0123456789abcdef0123', { epochDays: 30 }).load(), /DCX_MASTER_KEY/)
})

t.test('the tagger: active holdings only, incremental, stale tags removed', async (t) => {
  await app.screening.tagger.runOnce({ wait: true })
  const epoch = (await app.screening.keys.current()).epoch
  const rowsNow = await ownTagRows()
  const tagged = new Set(rowsNow.filter((r) => r.epoch === epoch).map((r) => r.indicator_id))
  for (const k of ['community', 'matchOnly', 'authorities', 'organisation'] as const) t.ok(tagged.has(H[k].id), `${k} holding tagged`)
  for (const k of ['revoked', 'draft', 'erased'] as const) t.notOk(tagged.has(H[k].id), `${k} holding never tagged`)
  t.ok(
    rowsNow.every((r) => r.fresh),
    'every tag at its holding’s change_seq',
  )
  const [stored] = await app.database.asOwner((q) => q(sql`select encode(tag, 'base64') as tag from screening_tags where indicator_id = ${H.community.id}`))
  t.equal(Buffer.from(String(stored?.tag), 'base64').toString('base64url'), await tagOf(values.community), 'the tag is Evaluate(k, "email:<normalized>")[0..8)')

  // A change makes the tag stale; the next pass recomputes it. A revocation removes it.
  const extra = await holding({ type: 'email', value: `${owned}-later@example.org` })
  t.equal((await as(app, owner.contributor.token).patch(`/v1/indicators/${H.community.id}`, { confidence: 77 })).statusCode, 200)
  t.equal((await as(app, owner.contributor.token).delete(`/v1/indicators/${H.authorities.id}`)).statusCode, 200)
  // (On a shared database another file's pass may have tagged them: the rows tell, not the run's count.)
  await app.screening.tagger.runOnce({ wait: true })
  const after = await ownTagRows()
  const ids = new Set(after.map((r) => r.indicator_id))
  t.ok(ids.has(extra.id), 'a new holding is tagged')
  t.notOk(ids.has(H.authorities.id), 'a revoked holding’s tag is removed')
  t.ok(
    after.every((r) => r.fresh),
    'the changed holding’s tag is current',
  )
  // Idempotent: nothing of ours is left to do.
  const [pending] = await app.database.asOwner((q) =>
    q(sql`select count(*)::int as n from dcx_screening_pending(${epoch}, 100000) p join indicators i on i.id = p.id where i.organisation_id = ${owner.org.id}`),
  )
  t.equal(pending?.n, 0, 'nothing of this organisation is pending')
})

async function digest(t: Tap, token: string, type = 'email') {
  const res = await as(app, token).get(`/v1/screening/digest?type=${type}`)
  t.equal(res.statusCode, 200, res.body)
  return { res, body: json<DigestMessage>(res) }
}

t.test('the digest: what the caller may match, sorted, no ids; raw octets; ETag', async (t) => {
  await app.screening.tagger.runOnce({ wait: true })
  const { res, body } = await digest(t, postal.reader.token)
  t.match(body, { epoch: Number, type: 'email', tagBytes: 8, tags: Array })
  t.notOk(/"id"|[0-9a-f]{8}-[0-9a-f]{4}-/.test(res.body), 'no ids in the digest')
  const sorted = [...body.tags].sort((a, b) => Buffer.compare(Buffer.from(a, 'base64url'), Buffer.from(b, 'base64url')))
  t.same(body.tags, sorted, 'sorted bytewise')
  t.equal(new Set(body.tags).size, body.tags.length, 'unique')
  const has = new Set(body.tags)
  t.ok(has.has(await tagOf(values.community)), 'a community holding is in the postal operator’s digest')
  t.ok(has.has(await tagOf(values.matchOnly)), 'a match_only holding is matchable, so in it')
  t.notOk(has.has(await tagOf(values.authorities)), 'an authorities-only (here: revoked) holding is not')
  t.notOk(has.has(await tagOf(values.organisation)), 'an organisation-only holding is not')
  t.notOk(has.has(await tagOf(values.revoked)), 'a revoked holding is not')
  t.notOk(has.has(await tagOf(values.draft)), 'a draft is not')
  const own = new Set((await digest(t, owner.reader.token)).body.tags)
  t.ok(own.has(await tagOf(values.organisation)), 'the owner’s digest holds its organisation-only holding')

  const raw = await as(app, postal.reader.token).get('/v1/screening/digest?type=email', { accept: 'application/octet-stream' })
  t.equal(raw.statusCode, 200)
  t.match(raw.headers['content-type'], /^application\/octet-stream/)
  t.equal(raw.headers['dcx-screening-epoch'], String(body.epoch))
  t.equal(raw.rawPayload.length, body.tags.length * 8, '8 bytes a tag')
  t.same(
    raw.rawPayload.toString('base64url'),
    Buffer.concat(body.tags.map((x) => Buffer.from(x, 'base64url'))).toString('base64url'),
    'the same tags as the JSON',
  )
  const etag = res.headers.etag as string
  t.match(etag, /^"sd-/)
  const again = await as(app, postal.reader.token).get('/v1/screening/digest?type=email', { 'if-none-match': etag })
  t.equal(again.statusCode, 304, 'unchanged: 304')
  t.equal(again.body, '')
  const [event] = await app.database.asOwner((q) =>
    q(sql`select status, details from audit_events where request_id = ${String(again.headers['x-request-id'])}`),
  )
  t.match(event, { status: 304, details: { returned: 0 } }, 'the 304 is audited as one')

  const phones = await digest(t, postal.reader.token, 'phone')
  t.notOk(phones.body.tags.includes(await tagOf(values.community)), 'a tag is of its own type only')
  const bad = isProblem(t, await as(app, postal.reader.token).get('/v1/screening/digest?type=nothing'), 400)
  t.match(JSON.stringify(bad), /query\.type|type/)
  isProblem(t, await as(app, postal.auditor.token).get('/v1/screening/digest?type=email'), 403)
})

async function screen(t: Tap, token: string, type: string, manifest: string[]) {
  const keys = json<KeysEntry>(await as(app, token).get('/v1/screening/keys'))
  const { body: dg } = await digest(t, token, type)
  const batch = prepareScreening(type, manifest)
  const res = await as(app, token).post('/v1/screening/evaluate', batch.request(keys.epoch), { 'dcx-justification': 'case 2026/77 parcel check' })
  t.equal(res.statusCode, 200, res.body)
  return { keys, batch, result: completeScreening(batch, keys, json<EvaluateResponse>(res), dg) }
}

t.test('evaluate and resolve: local hits only, contact cards, disclosures and notices', async (t) => {
  await app.screening.tagger.runOnce({ wait: true })
  const { keys, result } = await screen(t, postal.reader.token, 'email', [
    values.community.toUpperCase(),
    values.matchOnly,
    values.organisation,
    `${owned}-never-held@example.org`,
  ])
  t.same(result.hits.map((h) => h.normalizedValue).sort(), [values.community, values.matchOnly].sort(), 'only matchable holdings hit')
  const res = await as(app, postal.reader.token).post('/v1/screening/resolve', resolveRequest(keys.epoch, 'email', result.hits), {
    'dcx-justification': 'case 2026/77 parcel check',
  })
  t.equal(res.statusCode, 200, res.body)
  const out = json<{
    results: {
      tag: string
      matches: { id: string; organisationId: string; organisation: { name: string; contact: { email: string } }; tlp: string; handlingCode: string }[]
    }[]
  }>(res)
  const ids = out.results.flatMap((r) => r.matches.map((m) => m.id)).sort()
  t.same(ids, [H.community.id, H.matchOnly.id].sort(), 'the matches, by id')
  t.match(out.results[0]?.matches[0], {
    organisationId: owner.org.id,
    organisation: { name: owner.org.name, contact: { email: String } },
    tlp: 'green',
    handlingCode: 'H0',
  })

  // An organisation-only holding's tag (known here only because the test holds the key) resolves to nothing for others.
  const hidden = await as(app, postal.reader.token).post('/v1/screening/resolve', {
    epoch: keys.epoch,
    type: 'email',
    tags: [await tagOf(values.organisation)],
  })
  t.same(json(hidden), { results: [{ tag: await tagOf(values.organisation), matches: [] }] }, 'resolve answers only what the caller may match')
  const wrongType = await as(app, postal.reader.token).post('/v1/screening/resolve', {
    epoch: keys.epoch,
    type: 'domain',
    tags: [await tagOf(values.community)],
  })
  t.same(json<{ results: { matches: unknown[] }[] }>(wrongType).results[0]?.matches, [], 'a tag resolves within its type only')

  // The owner's notices: which holding reached whom, with the justification.
  const notices = await as(app, owner.reader.token).get('/v1/screening/disclosures')
  t.equal(notices.statusCode, 200, notices.body)
  const items = json<{ items: { indicatorId: string; disclosedTo: { organisationId: string; name: string }; justification: string | null; epoch: number }[] }>(
    notices,
  ).items
  t.same(items.map((i) => i.indicatorId).sort(), [H.community.id, H.matchOnly.id].sort())
  t.match(items[0], { disclosedTo: { organisationId: postal.org.id, name: postal.org.name }, justification: 'case 2026/77 parcel check', epoch: keys.epoch })
  const mine = await as(app, postal.reader.token).get('/v1/screening/disclosures')
  t.same(json<{ items: unknown[] }>(mine).items, [], 'the resolving organisation owns none of them: no notices')
  const one = await as(app, owner.reader.token).get(`/v1/screening/disclosures?indicatorId=${H.matchOnly.id}&limit=1`)
  t.equal(json<{ items: unknown[] }>(one).items.length, 1)

  // The audit: counts, type, epoch, justification and who got what; no value, element or tag.
  const events = await app.database.asOwner((q) =>
    q(sql`select action, details from audit_events where organisation_id = ${postal.org.id} and action like 'screening.%' order by id`),
  )
  const evaluate = events.find((e) => e.action === 'screening.evaluate')
  t.match(evaluate?.details, { epoch: keys.epoch, type: 'email', count: 4, justification: 'case 2026/77 parcel check', quota: Number, quotaUsed: Number })
  const resolve = events.find((e) => e.action === 'screening.resolve')
  t.match(resolve?.details, { epoch: keys.epoch, type: 'email', count: 2, resolved: 2, justification: 'case 2026/77 parcel check' })
  t.same(
    (resolve?.details as { disclosed: { indicatorId: string; organisationId: string }[] }).disclosed.map((d) => d.indicatorId).sort(),
    [H.community.id, H.matchOnly.id].sort(),
    'the disclosure event names the holdings',
  )
  const text = JSON.stringify(events)
  for (const v of [values.community, values.matchOnly, values.organisation, `${owned}-never-held`])
    t.notOk(text.includes(v), `no tested value in the audit (${v.slice(-20)})`)
})

t.test('bad input is a 400 naming the field', async (t) => {
  const epoch = (await app.screening.keys.current()).epoch
  const reader = as(app, postal.reader.token)
  const element = toBase64url(prepareScreening('email', ['a@example.org']).items[0]?.state.blinded as Uint8Array)
  const cases: [string, string, unknown, RegExp][] = [
    ['unknown epoch', '/v1/screening/evaluate', { epoch: epoch + 1000, type: 'email', elements: [element] }, /body\.epoch/],
    ['unknown type', '/v1/screening/evaluate', { epoch, type: 'shoe_size', elements: [element] }, /type/],
    ['not base64url', '/v1/screening/evaluate', { epoch, type: 'email', elements: [element, 'ab+/'] }, /body\.elements\.1/],
    ['wrong length', '/v1/screening/evaluate', { epoch, type: 'email', elements: [toBase64url(randomBytes(31))] }, /body\.elements\.0/],
    ['not a group element', '/v1/screening/evaluate', { epoch, type: 'email', elements: [toBase64url(new Uint8Array(32).fill(0xff))] }, /body\.elements\.0/],
    ['the identity', '/v1/screening/evaluate', { epoch, type: 'email', elements: [toBase64url(new Uint8Array(32))] }, /body\.elements\.0/],
    ['no elements', '/v1/screening/evaluate', { epoch, type: 'email', elements: [] }, /elements/],
    ['too many', '/v1/screening/evaluate', { epoch, type: 'email', elements: Array(10_001).fill(element) }, /elements/],
    ['resolve: unknown epoch', '/v1/screening/resolve', { epoch: epoch + 1000, type: 'email', tags: ['AAAAAAAAAAA'] }, /body\.epoch/],
    ['resolve: bad tag', '/v1/screening/resolve', { epoch, type: 'email', tags: ['AAAAAAAAAAA', 'AAAA'] }, /body\.tags\.1/],
    ['resolve: too many', '/v1/screening/resolve', { epoch, type: 'email', tags: Array(1_001).fill('AAAAAAAAAAA') }, /tags/],
    ['unknown property', '/v1/screening/resolve', { epoch, type: 'email', tags: ['AAAAAAAAAAA'], values: ['x'] }, /values|unrecognized|not a known/i],
  ]
  for (const [name, url, body, field] of cases) {
    const problem = isProblem(t, await reader.post(url, body), 400)
    t.match(JSON.stringify(problem), field, `${name}: names ${field}`)
  }
})

t.test(
  'the tagger on many nodes: a pass finds another node holding the lock and leaves the work to it',
  { skip: process.env.DATABASE_URL ? false : 'PGlite has one session: no other node can hold the lock' },
  async (t) => {
    // Another "node": a session of its own holding the tagger's advisory lock (tagger.ts TAG_LOCK_ID).
    const run = await app.database.asOwner(async (q) => {
      await q(sql`select pg_advisory_lock(${0x64637819})`)
      try {
        return await app.screening.tagger.runOnce()
      } finally {
        await q(sql`select pg_advisory_unlock(${0x64637819})`)
      }
    })
    t.match(run, { locked: true, tagged: 0 }, 'nothing done while another node works')
    const after = await app.screening.tagger.runOnce({ wait: true })
    t.equal(after.locked, false, 'the lock released, the pass runs')
  },
)
