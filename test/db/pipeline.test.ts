// The piped transaction (src/db/pipeline.ts): parameters written into the text mean what they meant
// as parameters, a read costs at most two round trips on PostgreSQL, and nothing held is lost or
// leaks into the next transaction.
import t from 'tap'
import pg from 'pg'
import { sql } from 'drizzle-orm'
import { escapeLiteral, inlineParams } from '../../src/db/pipeline.js'
import { as, buildTestApp, json, orgWith } from '../helper.js'
import { postIndicator, vendorAlias } from '../exchange/fixtures.js'

t.test('inlineParams: only placeholders outside strings, identifiers, comments and dollar quotes', async (t) => {
  t.equal(inlineParams('select $1, $2', ['a', null]), "select 'a', NULL")
  t.equal(inlineParams(`select '$1', "$1", $1 -- $1\n, /* $1 */ $2`, ['x', 'y']), `select '$1', "$1", 'x' -- $1\n, /* $1 */ 'y'`)
  t.equal(inlineParams(`select $$ $1 $$, $f$ $2 $f$, $1`, ['z']), `select $$ $1 $$, $f$ $2 $f$, 'z'`)
  t.equal(inlineParams(`select E'\\' $1', $1`, ['q']), `select E'\\' $1', 'q'`, "a backslash-escaped quote does not end an E'' string")
  t.equal(inlineParams(`select 'it''s $1', $1`, ['q']), `select 'it''s $1', 'q'`)
  t.equal(inlineParams('select $10, $1', ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']), "select 'j', 'a'", '$10 is not $1 followed by 0')
  t.equal(inlineParams('select $1', ["o'clock \\ back"]), "select  E'o''clock \\\\ back'")
  t.equal(inlineParams('select $1', ['nul\u0000byte']), undefined, 'a NUL cannot travel in a query text')
  t.equal(inlineParams('select $2', ['only one']), undefined, 'a missing parameter is refused, not guessed')
  t.equal(inlineParams('select $1', [Buffer.from([0xde, 0xad])]), "select '\\xdead'")
  for (const s of ['', "'", '\\', "a'b\\c''\\\\", 'plain', "ünï\\cødé 🚀'"])
    t.equal(escapeLiteral(s), pg.escapeLiteral(s), `escapeLiteral(${JSON.stringify(s)}) as pg's`)
})

const pgUrl = process.env.DATABASE_URL
t.test('on PostgreSQL: values come back the same inlined as sent as parameters', { skip: pgUrl ? false : 'needs DATABASE_URL (PostgreSQL)' }, async (t) => {
  const { PipedPool } = await import('../../src/db/pipeline.js')
  const pool = new PipedPool({ connectionString: pgUrl, max: 1 })
  t.teardown(() => pool.end())
  const values: unknown[] = [
    "quote ' and \\ backslash",
    'ünïcödé 🚀',
    ['a', 'b,c', 'd"e', null],
    new Date('2026-01-02T03:04:05.678Z'),
    { k: ["v'"] },
    42,
    null,
    true,
    Buffer.from('bytes'),
  ]
  const text =
    'select $1::text as a, $2::text as b, $3::text[] as c, $4::timestamptz as d, $5::jsonb as e, $6::int as f, $7::text as g, $8::boolean as h, $9::bytea as i'
  const plain = (await pool.query(text, values)).rows[0]
  const client = await pool.connect()
  try {
    await client.query('begin')
    await client.query('select 1') // flushes BEGIN; the next statement goes as PREPARE + EXECUTE
    await client.query('savepoint s1')
    ;(client as unknown as { hold(text: string, p: unknown[]): boolean }).hold('select set_config($1, $2, true)', ['dcx.test_value', "it's held"])
    const piped = (await client.query(text, values)).rows[0]
    t.same(piped, plain, 'every type reads back identically')
    const again = (await client.query(text, values)).rows[0]
    t.same(again, plain, 'and again from the prepared statement')
    t.equal((await client.query("select current_setting('dcx.test_value') as v")).rows[0].v, "it's held", 'a held statement ran before the next one')
    await client.query('rollback')
    t.equal((await client.query("select current_setting('dcx.test_value', true) as v")).rows[0].v ?? '', '', 'transaction-local: gone after rollback')
  } finally {
    client.release()
  }
})

t.test(
  'on PostgreSQL: a read is two round trips, its audit event committed with it',
  { skip: pgUrl ? false : 'needs DATABASE_URL (PostgreSQL)' },
  async (t) => {
    const app = await buildTestApp(t)
    const O = await orgWith(app, ['contributor', 'reader'], { sector: 'police' })
    const ind = await postIndicator(app, O.contributor.token, vendorAlias())
    // The account's state is cached for two seconds (plugins/auth.ts): warm it, as a syncing client has.
    t.equal((await as(app, O.reader.token).get(`/v1/indicators/${ind.id}`)).statusCode, 200)
    const sent: string[] = []
    const original = pg.Client.prototype.query
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const q = args[0]
      sent.push(typeof q === 'string' ? q : String((q as { text?: string }).text))
      return (original as (...a: unknown[]) => unknown).apply(this, args)
    } as typeof original
    let res
    try {
      res = await as(app, O.reader.token).get(`/v1/indicators/${ind.id}`)
    } finally {
      pg.Client.prototype.query = original
    }
    t.equal(res.statusCode, 200)
    t.equal(json<{ id: string }>(res).id, ind.id)
    t.ok(sent.length <= 2, `round trips: ${sent.length} (${sent.map((s) => s.slice(0, 40).replace(/\s+/g, ' ')).join(' | ')})`)
    t.match(sent.at(-1), /insert into "?audit_events"?[\s\S]*COMMIT$/i, 'the audit insert travels with COMMIT')
    t.match(sent[0], /^BEGIN;[\s\S]*set_config\('statement_timeout', '\d+', true\)/, "the deadline's statement_timeout rides with BEGIN")
    const events = await app.database.asOwner((q) =>
      q(sql.raw(`select count(*)::int as n from audit_events where resource_id = '${ind.id}' and action = 'indicator.read'`)),
    )
    t.equal(events[0]?.n, 2, 'each of the two reads left exactly one committed event')
  },
)

t.test(
  'on PostgreSQL: a statement failing inside the COMMIT message leaves no connection in a failed transaction',
  { skip: pgUrl ? false : 'needs DATABASE_URL (PostgreSQL)' },
  async (t) => {
    const { PipedPool, holdOn } = await import('../../src/db/pipeline.js')
    const { drizzle } = await import('drizzle-orm/node-postgres')
    // One connection: the next transaction gets the very client the failed one used.
    const pool = new PipedPool({ connectionString: pgUrl, max: 1 })
    t.teardown(() => pool.end())
    const db = drizzle(pool)
    await t.rejects(
      db.transaction(async (tx) => {
        await tx.execute(sql`select 1`)
        // Held, so it travels in the COMMIT message, and fails there (division by zero).
        t.ok(holdOn(tx, sql`select 1 / 0`), 'held')
      }),
      'the failed COMMIT message fails the transaction',
    )
    const client = await pool.connect()
    try {
      const state = await client.query('select 1 as one')
      t.equal(state.rows[0].one, 1, 'the pooled connection answers a plain statement (not 25P02, in failed transaction)')
    } finally {
      client.release()
    }
    const out = await db.transaction(async (tx) => (await tx.execute(sql`select 2 as two`)).rows[0])
    t.same(out, { two: 2 }, 'and the next transaction on it runs')
  },
)
