// Fault: SIGTERM under write load. The real server (tsx src/server.ts) runs on a private
// PostgreSQL; eight clients write indicators, bulks and notes as fast as it answers; then the
// process gets SIGTERM. Afterwards, straight from the database:
//   - every request that got a 2xx is there, with its ok audit event (same request id)
//   - nothing is half-written: every row written by the load has its audit event; every bulk is
//     all or nothing; no ok write event lacks its row
//   - no answer was a 500; the process exited by itself, with code 0
import t from 'tap'
import pg from 'pg'
import { setTimeout as sleep } from 'node:timers/promises'
import { FAULTS, BOOT_ID, BOOT_SECRET, fetchToken, poll, privatePostgres, privatePostgresSkip, startServer, within } from './support.js'

const skip = !FAULTS ? 'slow fault case: a real server on a private PostgreSQL; runs under npm run test:faults (DCX_FAULTS=1)' : privatePostgresSkip

interface Sent {
  kind: 'single' | 'bulk' | 'note'
  requestId: string
  tag: string
  status?: number
  ids: string[]
  error?: string
  afterSignal: boolean
}

t.test('SIGTERM under write load: every 2xx is durable with its audit event, nothing half-written', { skip }, async (t) => {
  const pgc = await privatePostgres(t)
  const server = await startServer(t, { DATABASE_URL: pgc.url })
  const base = server.base
  const admin = await fetchToken(base, BOOT_ID, BOOT_SECRET)
  const post = (token: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    })
  const orgRes = await post(admin, '/v1/organisations', {
    name: 'SIGTERM customs',
    sector: 'customs',
    country: 'NL',
    contact: { email: 'desk@customs.example' },
  })
  const org = (await orgRes.json()) as { id: string }
  const acctRes = await post(admin, `/v1/organisations/${org.id}/accounts`, { name: 'loader', roles: ['contributor'] })
  const acct = (await acctRes.json()) as { clientId: string; clientSecret: string }
  const token = await fetchToken(base, acct.clientId, acct.clientSecret)

  const sent: Sent[] = []
  let signalled = false
  let serverGone = false
  let n = 0
  const worker = async (w: number) => {
    while (!serverGone) {
      const i = n++
      const kind: Sent['kind'] = i % 5 === 0 ? 'bulk' : i % 7 === 0 ? 'note' : 'single'
      const requestId = `sigterm-${kind}-${String(i).padStart(6, '0')}`
      const tag = `req-${i}`
      const s: Sent = { kind, requestId, tag, ids: [], afterSignal: signalled }
      sent.push(s)
      try {
        const res =
          kind === 'bulk'
            ? await post(
                token,
                '/v1/indicators/bulk',
                { items: Array.from({ length: 5 }, (_, k) => ({ type: 'vendor_alias', value: `bulk ${i} ${k}`, tags: [tag] })) },
                { 'x-request-id': requestId },
              )
            : kind === 'note'
              ? await post(token, '/v1/notes', { title: `note ${i}`, summary: tag, body: 'b', topics: ['training'] }, { 'x-request-id': requestId })
              : await post(token, '/v1/indicators', { type: 'vendor_alias', value: `single ${i}`, tags: [tag] }, { 'x-request-id': requestId })
        s.status = res.status
        const body = (await res.json().catch(() => ({}))) as { id?: string; results?: { id?: string; status: string }[] }
        if (res.ok) s.ids = body.results ? body.results.map((r) => r.id as string) : [body.id as string]
      } catch (err) {
        s.error = String((err as { cause?: { code?: string } }).cause?.code ?? err)
        if (signalled) serverGone = true
        else await sleep(50)
      }
      void w
    }
  }
  const workers = Array.from({ length: 8 }, (_, w) => worker(w))
  // Let the writers get going (a count, not a duration: the machine may be busy).
  await poll(async () => sent.filter((s) => s.status !== undefined && s.status < 300).length >= 40, 60)
  const beforeSignal = sent.filter((s) => s.status !== undefined && s.status < 300).length
  t.ok(beforeSignal >= 40, `load is writing (${beforeSignal} 2xx before SIGTERM)`)

  signalled = true
  server.child.kill('SIGTERM')
  const code = await within(server.exited, 60)
  serverGone = true
  await Promise.all(workers)
  t.equal(code, 0, `the server exited by itself with code 0 (${code})`)
  t.notMatch(server.output(), /uncaught|unhandled/i, 'no uncaught exception on the way down')

  const ok = sent.filter((s) => s.status !== undefined && s.status < 300)
  const after = sent.filter((s) => s.afterSignal)
  t.comment(
    `${sent.length} requests: ${ok.length} 2xx, ${sent.filter((s) => s.status === 503).length} 503, ${sent.filter((s) => s.error).length} without an answer; ${after.length} sent after SIGTERM`,
  )
  t.same(
    sent.filter((s) => s.status !== undefined && s.status >= 500 && s.status !== 503).map((s) => `${s.requestId} ${s.status}`),
    [],
    'no 500 on the way down',
  )

  // Back to the database, as its owner.
  const db = new pg.Client({ connectionString: pgc.url })
  await db.connect()
  t.teardown(() => db.end())
  const rows = async <T>(q: string, params: unknown[] = []) => (await db.query(q, params)).rows as T[]
  const indicators = await rows<{ id: string; tags: string[] }>('select id, tags from indicators where organisation_id = $1', [org.id])
  const notes = await rows<{ id: string; summary: string }>('select id, summary from notes where organisation_id = $1', [org.id])
  const events = await rows<{ request_id: string; action: string; resource_id: string | null; outcome: string; details: Record<string, unknown> }>(
    "select request_id, action, resource_id, outcome, details from audit_events where organisation_id = $1 and action in ('indicator.create', 'indicator.bulk_create', 'note.create')",
    [org.id],
  )
  const okEvents = new Map(events.filter((e) => e.outcome === 'ok').map((e) => [e.request_id, e]))
  const indicatorIds = new Set(indicators.map((r) => r.id))
  const noteIds = new Set(notes.map((r) => r.id))

  // Every 2xx: its rows and its ok audit event.
  const missingRows = ok.filter((s) => s.ids.some((id) => !(s.kind === 'note' ? noteIds : indicatorIds).has(id)))
  t.same(
    missingRows.map((s) => s.requestId),
    [],
    `every 2xx (${ok.length}) is in the database`,
  )
  const missingEvents = ok.filter((s) => !okEvents.has(s.requestId))
  t.same(
    missingEvents.map((s) => s.requestId),
    [],
    'every 2xx has its ok audit event',
  )

  // Nothing half-written: rows without events, events without rows, partial bulks.
  const byTag = new Map<string, number>()
  for (const r of indicators) for (const tag of r.tags) byTag.set(tag, (byTag.get(tag) ?? 0) + 1)
  const partialBulks = sent.filter((s) => s.kind === 'bulk' && ![0, 5].includes(byTag.get(s.tag) ?? 0))
  t.same(
    partialBulks.map((s) => `${s.tag}: ${byTag.get(s.tag)}`),
    [],
    'every bulk is all or nothing',
  )
  const bySummary = new Set(notes.map((n) => n.summary))
  const orphanRows = sent.filter((s) => (s.kind === 'note' ? bySummary.has(s.tag) : (byTag.get(s.tag) ?? 0) > 0) && !okEvents.has(s.requestId))
  t.same(
    orphanRows.map((s) => s.requestId),
    [],
    'no row was written without its audit event',
  )
  const orphanEvents = [...okEvents.values()].filter((e) => {
    const s = sent.find((x) => x.requestId === e.request_id)
    if (!s) return false
    return s.kind === 'note' ? !bySummary.has(s.tag) : (byTag.get(s.tag) ?? 0) === 0
  })
  t.same(
    orphanEvents.map((e) => e.request_id),
    [],
    'no ok write event lacks its rows',
  )
  const unknownRows = indicators.filter((r) => !r.tags.some((tag) => sent.some((s) => s.tag === tag)))
  t.same(
    unknownRows.map((r) => r.id),
    [],
    'every row belongs to a request the load sent',
  )
})
