// The baseline every DCX scenario is divided by: a bare Fastify + pg server answering the same SQL
// on the same URLs with no auth, no visibility filter (it connects as the table owner, so
// row-level security does not apply either), no audit, no validation or normalisation, no
// response schemas. `--mode hello-node` / `--mode hello-fastify` are the framework ceiling.
// Prints "BENCH_READY <port>".
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import formbody from '@fastify/formbody'
import pg from 'pg'
import { verifySecret } from '../src/core/secrets.js'

const mode = process.argv[process.argv.indexOf('--mode') + 1] ?? 'baseline'
const port = Number(process.env.PORT ?? 0)
const HELLO = JSON.stringify({ hello: 'world' })

function ready(server: http.Server) {
  process.stdout.write(`BENCH_READY ${(server.address() as AddressInfo).port}\n`)
}
const onSignal = (close: () => Promise<unknown>) => {
  const go = () => close().finally(() => process.exit(0))
  process.on('SIGTERM', go)
  process.on('SIGINT', go)
}

// The indicator columns DCX returns (all but the tsvector and the change-feed bookkeeping), camelCased.
const IND = `id, organisation_id as "organisationId", type, value, normalized_value as "normalizedValue", network,
  value_visibility as "valueVisibility", description, confidence, reliability, credibility, tlp, distribution,
  sharing_group_id as "sharingGroupId", valid_from as "validFrom", valid_until as "validUntil", tags, countries,
  status, version, created_by as "createdBy", created_at as "createdAt", updated_at as "updatedAt"`
const NOTE = `id, organisation_id as "organisationId", title, summary, body, topics, sectors, language, tlp, distribution,
  sharing_group_id as "sharingGroupId", status, version, created_by as "createdBy", created_at as "createdAt", updated_at as "updatedAt"`

if (mode === 'hello-node') {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
    res.end(HELLO)
  })
  server.listen(port, '127.0.0.1', () => ready(server))
  onSignal(() => new Promise((r) => server.close(r)))
} else if (mode === 'hello-fastify') {
  const app = Fastify({ logger: false })
  app.get('/', async () => ({ hello: 'world' }))
  await app.listen({ host: '127.0.0.1', port })
  onSignal(() => app.close())
  ready(app.server)
} else if (mode === 'pglite') {
  await pgliteBaseline()
} else {
  await baseline()
}

type Query = (text: string, params: unknown[]) => Promise<{ rows: unknown[] }>

/** List (the same SELECT, newest first, limit+1 — no visibility filter) and read by id. */
function indicatorReads(app: FastifyInstance, query: Query) {
  app.get('/v1/indicators', async (req) => {
    const q = req.query as { limit?: string; q?: string }
    const limit = Number(q.limit ?? 50)
    const r = q.q
      ? await query(`select ${IND} from indicators where search @@ websearch_to_tsquery('simple', $1) order by created_at desc, id desc limit $2`, [
          q.q,
          limit + 1,
        ])
      : await query(`select ${IND} from indicators order by created_at desc, id desc limit $1`, [limit + 1])
    const items = r.rows.slice(0, limit) as { id: string }[]
    return { items, nextCursor: r.rows.length > limit ? String(items.at(-1)?.id) : null }
  })
  app.get('/v1/indicators/:id', async (req, reply) => {
    const r = await query(`select ${IND} from indicators where id = $1`, [(req.params as { id: string }).id])
    return r.rows[0] ?? reply.code(404).send({ status: 404 })
  })
}

/**
 * The embedded default's baseline: the same SELECTs straight on PGlite (the data directory DCX
 * made, opened as its owner, with the page cache DCX gives it), served by a bare Fastify.
 */
async function pgliteBaseline() {
  const { PGlite } = await import('@electric-sql/pglite')
  const dir = process.env.DCX_DATA_DIR
  if (!dir) throw new Error('--mode pglite needs DCX_DATA_DIR')
  const db = await PGlite.create(dir, { postgresqlconf: [`shared_buffers=${Number(process.env.DCX_PGLITE_SHARED_BUFFERS_MB ?? 16)}MB`] })
  const app = Fastify({ logger: false })
  indicatorReads(app, (text, params) => db.query(text, params))
  await app.listen({ host: '127.0.0.1', port })
  onSignal(async () => {
    await app.close()
    await db.close()
  })
  ready(app.server)
}

async function baseline() {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DCX_DB_POOL_SIZE ?? 10) })
  pool.on('error', () => {})
  const app = Fastify({ logger: false, bodyLimit: 8 * 1024 * 1024 })
  await app.register(formbody)

  // Token: look the account up, the same scrypt verify of its stored hash; no JWT, no audit.
  app.post('/v1/auth/token', async (req, reply) => {
    const body = req.body as { client_id?: string; client_secret?: string }
    const r = await pool.query('select id, organisation_id, secret_hash from accounts where client_id = $1', [body.client_id ?? ''])
    const row = r.rows[0] as { secret_hash: string } | undefined
    if (!row || !(await verifySecret(body.client_secret ?? '', row.secret_hash))) return reply.code(401).send({ error: 'invalid_client' })
    return { access_token: 'baseline', token_type: 'Bearer', expires_in: 600 }
  })

  indicatorReads(app, (text, params) => pool.query(text, params))

  // Match: the same set-based join, values taken as already normalised (untyped ones on the value alone).
  app.post('/v1/indicators/match', async (req) => {
    const values = (req.body as { values: { type?: string; value: string }[] }).values
    const probes = values.map((v, idx) => ({ idx, type: v.type ?? null, nv: v.value }))
    const r = await pool.query(
      `with q as (select * from jsonb_to_recordset($1::jsonb) as q(idx int, type text, nv text))
       select q.idx, i.id, i.type, i.organisation_id, i.value_visibility, i.tlp, i.confidence, i.status,
              o.name, o.contact_email, o.contact_phone, o.contact_hours
       from q join indicators i on i.normalized_value = q.nv and (q.type is null or i.type = q.type)
       join organisations o on o.id = i.organisation_id
       where i.status = 'active'
       order by q.idx, i.created_at desc`,
      [JSON.stringify(probes)],
    )
    const byIdx = new Map<number, unknown[]>()
    for (const m of r.rows as { idx: number }[]) byIdx.set(m.idx, [...(byIdx.get(m.idx) ?? []), m])
    return { results: values.map((v, idx) => ({ ...v, matches: byIdx.get(idx) ?? [] })) }
  })

  // Bulk: the same multi-row inserts (500 a statement) in one transaction; no validation.
  app.post('/v1/indicators/bulk', async (req) => {
    const items = (req.body as { items: Record<string, unknown>[] }).items
    const org = String(req.headers['x-bench-org'] ?? '')
    const client = await pool.connect()
    try {
      await client.query('begin')
      const results: { index: number; status: string; id: string }[] = []
      for (let i = 0; i < items.length; i += 500) {
        const chunk = items.slice(i, i + 500)
        const params: unknown[] = []
        const rowsSql = chunk.map((it) => {
          const vals = [
            org,
            it.type,
            it.value,
            it.value,
            it.valueVisibility ?? 'full',
            it.description ?? '',
            it.confidence ?? 50,
            it.reliability ?? 'F',
            it.credibility ?? 6,
            it.tlp ?? 'amber',
            it.distribution ?? 'organisation',
            it.sharingGroupId ?? null,
            it.tags ?? [],
            it.countries ?? [],
          ]
          const start = params.length
          params.push(...vals)
          return `(${vals.map((_, k) => `$${start + k + 1}`).join(', ')})`
        })
        const r = await client.query(
          `insert into indicators (organisation_id, type, value, normalized_value, value_visibility, description, confidence,
             reliability, credibility, tlp, distribution, sharing_group_id, tags, countries) values ${rowsSql.join(', ')} returning id`,
          params,
        )
        r.rows.forEach((row: { id: string }, j: number) => results.push({ index: i + j, status: 'created', id: row.id }))
      }
      await client.query('commit')
      return { results }
    } catch (e) {
      await client.query('rollback').catch(() => {})
      throw e
    } finally {
      client.release()
    }
  })

  // Change feed: the same horizon and keyset queries on both tables, merged; no visibility filter.
  app.get('/v1/changes', async (req) => {
    const q = req.query as { cursor?: string; limit?: string }
    const limit = Number(q.limit ?? 200)
    const [xid, seq] = q.cursor ? (JSON.parse(Buffer.from(q.cursor, 'base64url').toString()) as [string, number]) : ['0', 0]
    const h = await pool.query<{ horizon: string }>('select pg_snapshot_xmin(pg_current_snapshot())::text as horizon')
    const horizon = h.rows[0]?.horizon ?? '0'
    const after = `change_xid < $1::xid8 and (change_xid, change_seq) > ($2::xid8, $3::bigint)`
    const [inds, nts] = await Promise.all([
      pool.query(`select ${IND}, change_xid::text as xid, change_seq as seq from indicators where ${after} order by change_xid, change_seq limit $4`, [
        horizon,
        xid,
        seq,
        limit + 1,
      ]),
      pool.query(`select ${NOTE}, change_xid::text as xid, change_seq as seq from notes where ${after} order by change_xid, change_seq limit $4`, [
        horizon,
        xid,
        seq,
        limit + 1,
      ]),
    ])
    type Row = { xid: string; seq: string }
    const merged = [
      ...inds.rows.map((r: Row) => ({ kind: 'indicator', row: r, x: BigInt(r.xid), s: Number(r.seq) })),
      ...nts.rows.map((r: Row) => ({ kind: 'note', row: r, x: BigInt(r.xid), s: Number(r.seq) })),
    ].sort((a, b) => (a.x === b.x ? a.s - b.s : a.x < b.x ? -1 : 1))
    const page = merged.slice(0, limit)
    const last = page.at(-1)
    return {
      items: page.map((c) => ({ kind: c.kind, [c.kind]: c.row })),
      nextCursor: last ? Buffer.from(JSON.stringify([last.x.toString(), last.s])).toString('base64url') : (q.cursor ?? null),
      hasMore: merged.length > limit,
    }
  })

  // Export: the same batched keyset SELECT (2,000 a page) with the chain join, streamed as NDJSON.
  app.get('/v1/audit/export', async (_req, reply) => {
    async function* lines() {
      let after = 0
      for (;;) {
        const r = await pool.query(
          `select audit_events.id, time, account_id, organisation_id, client_id, action, resource_type, resource_id, outcome, status,
                  request_id, client_address, user_agent, details, c.sequence, c.hash, c.previous_hash
           from audit_events left join audit_chain c on c.event_id = audit_events.id
           where audit_events.id > $1 order by audit_events.id limit 2000`,
          [after],
        )
        for (const row of r.rows) yield JSON.stringify(row) + '\n'
        if (r.rows.length < 2000) return
        after = Number(r.rows.at(-1)?.id)
      }
    }
    reply.type('application/x-ndjson')
    return reply.send(Readable.from(lines()))
  })

  await app.listen({ host: '127.0.0.1', port })
  onSignal(async () => {
    await app.close()
    await pool.end()
  })
  ready(app.server)
}
