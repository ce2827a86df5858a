// The change feed's and audit chainer's horizon is this database's (migrations/0011): a
// transaction left open in another database on the same server holds neither back. (A
// transaction of this database still does: changes.test.ts, "a transaction that commits late is
// never skipped".)
import t from 'tap'
import pg from 'pg'
import { sql } from 'drizzle-orm'
import { as, json, orgWith } from '../helper.js'
import { onPg, owner, privateApp } from '../audit/private-db.js'
import { rows } from '../../src/db/client.js'

interface ChangePage {
  items: { id: string }[]
  nextCursor: string | null
  hasMore: boolean
}

const app = await privateApp(t)

t.test('dcx_horizon(): callable by the service, between the snapshot bounds', async (t) => {
  const [h] = await rows<{ ok: boolean; sees_all: boolean }>(
    app.db,
    sql`select h.horizon >= pg_snapshot_xmin(s) and h.horizon <= pg_snapshot_xmax(s) as ok, h.sees_all
        from pg_current_snapshot() s, dcx_horizon() h`,
  )
  t.equal(h?.ok, true, 'xmin ≤ horizon ≤ xmax')
  t.equal(h?.sees_all, true, 'its owner (the migrating superuser) sees every session')
})

t.test('an open transaction in another database holds neither the feed nor the chain', { skip: !onPg && 'needs DATABASE_URL (PostgreSQL)' }, async (t) => {
  const [db] = await owner(app, 'select current_database() as name')
  const admin = new URL(process.env.DATABASE_URL as string)
  const other = new URL(admin)
  other.pathname = `/${new URL(process.env.DATABASE_URL as string).pathname.slice(1)}_other`
  admin.pathname = '/postgres'
  const a = new pg.Client({ connectionString: admin.toString() })
  await a.connect()
  try {
    await a.query(`CREATE DATABASE ${other.pathname.slice(1)}`)
  } catch (e) {
    if ((e as { code?: string }).code !== '42P04') throw e // exists already (an earlier run)
  } finally {
    await a.end()
  }
  // tap runs teardowns last-registered first: this one runs after the session below has ended.
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: admin.toString() })
    await c.connect()
    try {
      await c.query(`DROP DATABASE IF EXISTS ${other.pathname.slice(1)} WITH (FORCE)`)
    } finally {
      await c.end()
    }
  })

  // Another database's session writes and keeps its transaction open for the whole case.
  const stranger = new pg.Client({ connectionString: other.toString() })
  await stranger.connect()
  t.teardown(() => stranger.end())
  await stranger.query('create table if not exists scratch (note text)')
  await stranger.query('BEGIN')
  await stranger.query(`insert into scratch (note) values ('open in ${String(db?.name)}')`)
  const [held] = (await stranger.query<{ xid: string }>('select pg_current_xact_id()::text as xid')).rows
  const strangerXid = held?.xid as string

  const [cluster] = await rows<{ stalled: boolean }>(app.db, sql`select pg_snapshot_xmin(pg_current_snapshot()) <= ${strangerXid}::xid8 as stalled`)
  t.equal(cluster?.stalled, true, 'the cluster-wide horizon is held by the other database’s transaction (what used to stall the feed)')

  const producer = await orgWith(app, ['contributor'], { sector: 'customs' })
  const viewer = await orgWith(app, ['reader'], { sector: 'police' })
  const A = as(app, producer.contributor.token)
  const V = as(app, viewer.reader.token)
  let head = json<ChangePage>(await V.get('/v1/changes?limit=1000'))
  while (head.hasMore) head = json<ChangePage>(await V.get(`/v1/changes?limit=1000&cursor=${head.nextCursor}`))

  const written: string[] = []
  const requestIds: string[] = []
  for (let i = 0; i < 3; i++) {
    const res = await A.post('/v1/indicators', { type: 'domain', value: `horizon-${i}-${Date.now()}.example`, distribution: 'community', tlp: 'green' })
    t.equal(res.statusCode, 201, res.body)
    written.push(json<{ id: string }>(res).id)
    requestIds.push(res.headers['x-request-id'] as string)
  }
  // Only this database's transactions count: in a private database, none but ours (a request's
  // own transaction may still be finishing; poll as a partner would).
  let ids: string[] = []
  for (let i = 0; i < 100 && !written.every((id) => ids.includes(id)); i++) {
    if (i) await new Promise((r) => setTimeout(r, 50))
    ids = json<ChangePage>(await V.get(`/v1/changes?limit=1000${head.nextCursor ? `&cursor=${head.nextCursor}` : ''}`)).items.map((c) => c.id)
  }
  t.same(
    written.filter((id) => !ids.includes(id)),
    [],
    'GET /v1/changes delivers the new indicators while the other database’s transaction is open',
  )

  let unchained = requestIds
  for (let i = 0; i < 100 && unchained.length; i++) {
    if (i) await new Promise((r) => setTimeout(r, 50))
    await app.chainer.chainNow()
    const chained = (await app.database.asOwner((q) =>
      q(sql`select e.request_id from audit_events e join audit_chain c on c.event_id = e.id where e.request_id in ${requestIds}`),
    )) as { request_id: string }[]
    unchained = requestIds.filter((r) => !chained.some((c) => c.request_id === r))
  }
  t.same(unchained, [], 'the audit chainer chains past it too')

  const [still] = (await stranger.query<{ xid: string }>('select pg_current_xact_id()::text as xid')).rows
  t.equal(still?.xid, strangerXid, 'the other transaction was open throughout')
  await stranger.query('ROLLBACK')
})
