// OWASP API8-style injection: SQL metacharacters, full-text operators and Unicode edge cases in
// every free-text field, every string filter, the full-text queries, the match values and the
// headers the service stores (Idempotency-Key, User-Agent). Never a 5xx; stored text round-trips
// exactly; a filter never widens what comes back; the schema is intact afterwards. Then sqlmap
// (Debian package) against the search and filter parameters, under npm run test:faults.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { as, createAccount, isProblem, orgWith, unique } from '../helper.js'
import { FAULTS, holds, operationFor, privateApp } from './support.js'

const app = await privateApp(t)
const O = await orgWith(app, ['reader', 'contributor', 'org_admin', 'auditor'], { sector: 'customs' })
const PA = await createAccount(app, O.org.id, ['platform_admin'])
const c = as(app, O.contributor.token)

export const PAYLOADS: Record<string, string> = {
  quote: "'",
  doubledQuote: "''",
  tautology: "' OR '1'='1",
  comment: "' OR 1=1 --",
  stacked: "x'; DROP TABLE indicators; --",
  sleep: '1; SELECT pg_sleep(5)--',
  union: "' UNION SELECT secret_hash, client_id FROM accounts --",
  concat: "' || (SELECT secret_hash FROM accounts LIMIT 1) || '",
  dollar: '$$; DROP TABLE notes; $$',
  cast: "1::text; COPY accounts TO '/tmp/x'",
  backslash: "\\' OR 1=1 \\\\",
  escapeString: "E'\\x27 OR 1=1'",
  likeWild: '%_%',
  doubleQuote: '" OR ""="',
  jsonBreak: '"}]}, {"role": "platform_admin',
  tsqueryOps: "a:* & !b | (c <-> d) & 'e'",
  tsqueryBroken: '(((( !!!! &&& ||| <-> :* "',
  tsqueryPrefix: 'secret:*',
  regex: '.*|^$|(a+)+$',
  path: '../../../../etc/passwd',
  crlf: 'a\r\nX-Injected: 1',
  html: '<script>alert(1)</script>',
  zeroWidth: 'ven\u200bdor\u200d\ufeff',
  rtlOverride: 'abc\u202edcba',
  combining: 'e\u0301e\u0301\u0301\u0301',
  emojiZwj: '👮‍♀️🚔🇳🇱',
  astral: '𝕏𝔸𝕄𝕡𝕝𝕖 𐍈',
  fullwidthQuote: '＇ＯＲ＇１＇＝＇１',
  turkish: 'İSTANBUL ıi',
  ligature: 'ﬁnance ﬀ',
  sigma: 'ΟΔΥΣΣΕΥΣ',
  lineSeparators: 'a\u2028b\u2029c\u0085d',
  bidiIsolate: '\u2066\u2067\u2068\u2069',
  longUnicode: 'ß'.repeat(500),
}
// Refused by validation (400), never stored, never a 500.
const REFUSED: Record<string, string> = {
  nul: 'a\u0000b',
  loneSurrogate: 'a\ud800b',
}

const decodeURIComponentSafe = (s: string) => {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}
const ids = (res: LightMyRequestResponse) => (res.json() as { items: { id: string }[] }).items.map((i) => i.id)
const enc = encodeURIComponent

interface Stored {
  id: string
  key: string
  payload: string
}
const storedIndicators: Stored[] = []

t.test('free-text fields store every payload verbatim (or refuse it with a 400), never a 5xx', async (t) => {
  for (const [key, payload] of Object.entries(PAYLOADS)) {
    // Indicator: description, a tag, and the value of the free-text types.
    const tag = payload.slice(0, 64)
    const res = await c.post('/v1/indicators', {
      type: 'shipping_pattern',
      value: `${payload} ${unique('route')}`,
      description: payload,
      tags: [tag],
      distribution: 'organisation',
    })
    holds(t, res, operationFor('POST', '/v1/indicators'), `indicator ${key}`)
    if (/[\r\n\u2028\u2029\u0085]/.test(tag) || tag.trim() !== tag || tag.trim() === '') {
      t.ok(res.statusCode === 201 || res.statusCode === 400, `indicator ${key}: ${res.statusCode}`)
    } else {
      t.equal(res.statusCode, 201, `indicator ${key}: stored (${res.body.slice(0, 120)})`)
    }
    if (res.statusCode === 201) {
      const ind = res.json() as { id: string; description: string; tags: string[] }
      const back = (await c.get(`/v1/indicators/${ind.id}`)).json() as { description: string; tags: string[] }
      t.equal(back.description, payload, `indicator ${key}: description round-trips`)
      t.same(back.tags, [tag.trim()], `indicator ${key}: tag round-trips`)
      storedIndicators.push({ id: ind.id, key, payload })
    }
    for (const type of ['vendor_alias', 'person_name', 'postal_address']) {
      const v = await c.post('/v1/indicators', { type, value: `${payload} ${unique('v')}`, valueVisibility: type === 'vendor_alias' ? 'full' : 'match_only' })
      holds(t, v, operationFor('POST', '/v1/indicators'), `${type} ${key}`)
      t.ok(v.statusCode === 201 || v.statusCode === 400, `${type} ${key}: ${v.statusCode}`)
    }

    const title = payload.slice(0, 300)
    const note = await c.post('/v1/notes', { title, summary: payload, body: payload, topics: ['detection'] })
    holds(t, note, operationFor('POST', '/v1/notes'), `note ${key}`)
    if (payload.trim() === '') t.equal(note.statusCode, 400)
    else {
      t.equal(note.statusCode, 201, `note ${key}: stored`)
      const n = (await c.get(`/v1/notes/${(note.json() as { id: string }).id}`)).json() as { title: string; body: string }
      t.equal(n.title, title.trim(), `note ${key}: title round-trips (trimmed)`)
      t.equal(n.body, payload, `note ${key}: body round-trips`)
    }

    const group = await as(app, O.org_admin.token).post('/v1/sharing-groups', { name: payload.slice(0, 200), organisationIds: [] })
    holds(t, group, operationFor('POST', '/v1/sharing-groups'), `group ${key}`)
    t.ok(group.statusCode === 201 || group.statusCode === 400, `group ${key}: ${group.statusCode}`)

    const acct = await as(app, O.org_admin.token).post(`/v1/organisations/${O.org.id}/accounts`, { name: payload.slice(0, 200), roles: ['reader'] })
    holds(t, acct, operationFor('POST', '/v1/organisations/:id/accounts'), `account ${key}`)
    t.ok(acct.statusCode === 201 || acct.statusCode === 400, `account ${key}: ${acct.statusCode}`)

    const org = await as(app, PA.token).post('/v1/organisations', {
      name: `${payload.slice(0, 150)} ${unique('o')}`,
      sector: 'postal',
      country: 'PT',
      contact: { email: 'desk@example.org', hours: payload.slice(0, 200) },
    })
    holds(t, org, operationFor('POST', '/v1/organisations'), `organisation ${key}`)
    t.ok(org.statusCode === 201 || org.statusCode === 400, `organisation ${key}: ${org.statusCode}`)
  }
  for (const [key, payload] of Object.entries(REFUSED)) {
    for (const [url, body] of [
      ['/v1/indicators', { type: 'vendor_alias', value: 'x', description: payload }],
      ['/v1/indicators', { type: 'vendor_alias', value: payload }],
      ['/v1/notes', { title: payload, summary: 's', body: 'b', topics: ['detection'] }],
      ['/v1/notes', { title: 't', summary: 's', body: payload, topics: ['detection'] }],
    ] as const) {
      const res = await c.post(url, body)
      holds(t, res, operationFor('POST', url), `${url} ${key}`)
      // NUL cannot be stored: 400. A lone surrogate is refused in indicator values; elsewhere it may be stored (as U+FFFD).
      if (key === 'nul' || ('value' in body && body.value === payload)) t.equal(res.statusCode, 400, `${url} ${key}: 400`)
      else t.ok(res.statusCode === 400 || res.statusCode === 201, `${url} ${key}: ${res.statusCode}`)
    }
    const sight = await c.post(`/v1/indicators/${storedIndicators[0]?.id}/sightings`, { seenAt: '2026-01-01T00:00:00Z', note: payload })
    t.ok(sight.statusCode === 400 || sight.statusCode === 201, `sighting note ${key}: ${sight.statusCode}`)
    holds(t, sight, operationFor('POST', '/v1/indicators/:id/sightings'), `sighting ${key}`)
  }
})

t.test('filters and full-text queries: every payload answers 200 or 400, and never widens the result', async (t) => {
  const reader = as(app, O.reader.token)
  const auditor = as(app, O.auditor.token)
  const all = ids(await reader.get(`/v1/indicators?organisationId=${O.org.id}&limit=500`))
  t.ok(all.length > 10, `${all.length} items of the organisation`)
  // Raw, already-encoded bytes: invalid UTF-8 (an encoded surrogate, an overlong quote, a stray byte) and an encoded NUL.
  const RAW: Record<string, string> = { encodedSurrogate: '%ED%A0%80', overlongQuote: '%C0%A7', strayByte: '%FF', encodedNul: '%00', halfEscape: '%2' }
  const entries = [...Object.entries(PAYLOADS).map(([k, v]) => [k, enc(v)] as const), ...Object.entries(RAW)]
  for (const [key, encoded] of entries) {
    const payload = decodeURIComponentSafe(encoded)
    const checks: [string, string][] = [
      ['indicators q', `/v1/indicators?organisationId=${O.org.id}&limit=500&q=${encoded}`],
      ['indicators tag', `/v1/indicators?organisationId=${O.org.id}&limit=500&tag=${key in RAW ? encoded : enc(payload.slice(0, 64))}`],
      ['indicators value', `/v1/indicators?organisationId=${O.org.id}&limit=500&value=${encoded}`],
      ['indicators typed value', `/v1/indicators?organisationId=${O.org.id}&limit=500&type=vendor_alias&value=${encoded}`],
      ['indicators cursor', `/v1/indicators?cursor=${encoded}`],
      ['notes q', `/v1/notes?organisationId=${O.org.id}&limit=500&q=${encoded}`],
      ['notes language', `/v1/notes?language=${encoded}`],
      ['organisations cursor', `/v1/organisations?cursor=${encoded}`],
      ['changes cursor', `/v1/changes?cursor=${encoded}`],
    ]
    for (const [name, url] of checks) {
      const res = await reader.get(url)
      const op = operationFor('GET', url.split('?')[0] as string)
      holds(t, res, op, `${name} ${key}`)
      t.ok(res.statusCode === 200 || res.statusCode === 400, `${name} ${key}: ${res.statusCode}`)
      if (res.statusCode === 200 && name.startsWith('indicators')) {
        const got = ids(res)
        t.ok(
          got.every((id) => all.includes(id)),
          `${name} ${key}: only the organisation's own items`,
        )
        t.ok(got.length < all.length, `${name} ${key}: does not return everything (${got.length}/${all.length})`)
      }
    }
    for (const f of ['action', 'resourceType', 'resourceId']) {
      const res = await auditor.get(`/v1/audit/events?limit=5&${f}=${key in RAW ? encoded : enc(payload.slice(0, 50))}`)
      holds(t, res, operationFor('GET', '/v1/audit/events'), `audit ${f} ${key}`)
      t.ok(res.statusCode === 200 || res.statusCode === 400, `audit ${f} ${key}: ${res.statusCode}`)
      if (res.statusCode === 200) t.same(ids(res), [], `audit ${f} ${key}: matches nothing`)
    }
  }
  // The stored payloads are findable exactly by their tag — an exact match, not a pattern.
  for (const s of storedIndicators.filter((s) => !/[%_]/.test(s.payload) && s.payload.trim() === s.payload)) {
    const res = await reader.get(`/v1/indicators?organisationId=${O.org.id}&tag=${enc(s.payload.slice(0, 64))}`)
    t.ok(ids(res).includes(s.id), `tag ${s.key}: finds its own item`)
  }
  const wild = await reader.get(`/v1/indicators?organisationId=${O.org.id}&tag=${enc('%')}`)
  t.same(ids(wild), [], 'tag=% is a literal, not a LIKE pattern')
})

t.test('match values, Idempotency-Key and User-Agent carry payloads safely', async (t) => {
  const values = Object.values(PAYLOADS).flatMap((v) => [{ value: v }, { type: 'vendor_alias' as const, value: v }, { type: 'email' as const, value: v }])
  const res = await as(app, O.reader.token).post('/v1/indicators/match', { values })
  holds(t, res, operationFor('POST', '/v1/indicators/match'), 'match')
  t.equal(res.statusCode, 200)
  for (const [k, v] of Object.entries(REFUSED)) {
    const requestId = `inject-match-${k}`
    const r = await as(app, O.reader.token).post('/v1/indicators/match', { values: [{ value: v }] }, { 'x-request-id': requestId })
    holds(t, r, operationFor('POST', '/v1/indicators/match'), `match ${k}`)
    // Refused or not, the request leaves an audit event (the audit contract).
    const events = (await as(app, O.auditor.token).get('/v1/audit/events?limit=100&action=indicator.match')).json() as { items: { requestId: string }[] }
    const audited = events.items.some((e) => e.requestId === requestId)
    // Known: the event's details hold the raw value, which jsonb cannot store (NUL anywhere; a lone
    // surrogate on PostgreSQL), so the event is lost (src/plugins/audit.ts) — reported to the lead.
    t.ok(audited, `match ${k}: audited`)
  }

  // Idempotency keys are 1–200 printable ASCII characters without spaces.
  for (const key of ["';DROP/**/TABLE/**/idempotency_keys;--", "'OR'1'='1", '$$x$$', '\\x27', '%27%00']) {
    const body = { type: 'vendor_alias', value: unique('idem') }
    const first = await c.post('/v1/indicators', body, { 'idempotency-key': key })
    const again = await c.post('/v1/indicators', body, { 'idempotency-key': key })
    t.equal(first.statusCode, 201, `Idempotency-Key ${key}: first`)
    t.equal(again.headers['idempotent-replayed'], 'true', `Idempotency-Key ${key}: replayed`)
    t.equal(again.json().id, first.json().id)
  }
  isProblem(t, await c.post('/v1/indicators', { type: 'vendor_alias', value: 'x' }, { 'idempotency-key': 'é\u0000' }), 400)

  const ua = "sqlmap'); DROP TABLE audit_events; -- \u202e👮"
  const me = await app.inject({
    method: 'GET',
    url: '/v1/me',
    headers: { authorization: `Bearer ${O.reader.token}`, 'user-agent': ua, 'x-request-id': 'inject-ua-000001' },
  })
  t.equal(me.statusCode, 200)
  const events = await as(app, O.auditor.token).get('/v1/audit/events?limit=50&action=account.me.read')
  const ev = (events.json() as { items: { requestId: string; userAgent: string }[] }).items.find((e) => e.requestId === 'inject-ua-000001')
  t.equal(ev?.userAgent, ua, 'the user agent is stored verbatim in the audit event')
})

t.test('the schema and the audit chain are intact afterwards', async (t) => {
  t.equal((await as(app, O.reader.token).get('/v1/indicators?limit=1')).statusCode, 200, 'indicators table answers')
  t.equal((await as(app, O.reader.token).get('/v1/notes?limit=1')).statusCode, 200, 'notes table answers')
  t.equal((await as(app, O.org_admin.token).get(`/v1/organisations/${O.org.id}/accounts`)).statusCode, 200, 'accounts table answers')
  const v = await as(app, O.auditor.token).get('/v1/audit/verify')
  t.equal(v.statusCode, 200)
  t.equal((v.json() as { ok: boolean }).ok, true, 'audit chain verifies')
})

/** Run a command to completion without blocking the event loop; at most 10 minutes. */
function run(cmd: string, args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000)
    child.on('close', (status) => {
      clearTimeout(timer)
      resolve({ status, output })
    })
  })
}

// sqlmap against the search and filter parameters of a real listening server.
const sqlmapBin = ['/usr/bin/sqlmap', '/usr/local/bin/sqlmap'].find((p) => existsSync(p))
t.test(
  'sqlmap finds nothing injectable',
  { skip: !FAULTS ? 'slow: runs under npm run test:faults (DCX_FAULTS=1)' : !sqlmapBin ? 'sqlmap is not installed (apt-get install -y sqlmap)' : false },
  async (t) => {
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as AddressInfo
    const base = `http://127.0.0.1:${port}`
    const out = mkdtempSync(path.join(tmpdir(), 'dcx-sqlmap-'))
    t.teardown(() => rmSync(out, { recursive: true, force: true }))
    const targets: { name: string; token: string; args: string[] }[] = [
      {
        name: 'GET /v1/indicators (q, tag, value, country)',
        token: O.reader.token,
        args: ['-u', `${base}/v1/indicators?q=route&tag=x&value=abc&country=NL`, '-p', 'q,tag,value,country'],
      },
      { name: 'GET /v1/notes (q, language)', token: O.reader.token, args: ['-u', `${base}/v1/notes?q=parcel&language=en`, '-p', 'q,language'] },
      {
        name: 'GET /v1/audit/events (action, resourceType, resourceId)',
        token: O.auditor.token,
        args: ['-u', `${base}/v1/audit/events?action=account.me.read&resourceType=account&resourceId=x`, '-p', 'action,resourceType,resourceId'],
      },
      {
        name: 'POST /v1/indicators/match (JSON values)',
        token: O.reader.token,
        args: ['-u', `${base}/v1/indicators/match`, '--data', '{"values":[{"value":"abc*"}]}', '--headers', 'Content-Type: application/json'],
      },
    ]
    for (const target of targets) {
      const started = Date.now()
      // Asynchronously: the server under test runs in this very process and must keep answering.
      const r = await run(sqlmapBin as string, [
        ...target.args,
        '-H',
        `Authorization: Bearer ${target.token}`,
        '--batch',
        '--level=3',
        '--risk=2',
        '--dbms=PostgreSQL',
        '--technique=BEUST',
        '--time-sec=2',
        '--flush-session',
        '--disable-coloring',
        '--output-dir',
        out,
      ])
      const log = r.output
      t.comment(`${target.name}: sqlmap ran ${Math.round((Date.now() - started) / 1000)} s, exit ${r.status}`)
      t.notMatch(
        log,
        /identified the following injection point|is vulnerable|appears to be injectable|might be injectable/i,
        `${target.name}: no injection point`,
      )
      t.match(log, /do not appear to be injectable|does not seem to be injectable/i, `${target.name}: sqlmap tested and found nothing`)
      const dir = path.join(out, '127.0.0.1', 'log')
      if (existsSync(dir)) t.equal(readFileSync(dir, 'utf8').trim(), '', `${target.name}: sqlmap's injection log is empty`)
    }
    const v = await as(app, O.auditor.token).get('/v1/audit/verify')
    t.equal((v.json() as { ok: boolean }).ok, true, 'audit chain verifies after sqlmap')
  },
)
