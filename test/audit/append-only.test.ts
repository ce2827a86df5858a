// The audit tables are append-only in the database: the service role has no UPDATE, DELETE or
// TRUNCATE privilege, and a trigger refuses them even to the owner / superuser. Run on a private
// database: if the protection were ever missing, the shared chain would not be the casualty.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { rows } from '../../src/db/client.js'
import { as, createAccount, createOrg, json } from '../helper.js'
import { chainAll, owner, privateApp, refusal } from './private-db.js'

const TABLES = {
  audit_events: { update: "UPDATE audit_events SET action = 'forged'", where: 'id' },
  audit_chain: { update: "UPDATE audit_chain SET hash = repeat('0', 64)", where: 'sequence' },
  audit_checkpoints: { update: "UPDATE audit_checkpoints SET hash = repeat('0', 64)", where: 'sequence' },
} as const

t.test('UPDATE, DELETE and TRUNCATE on the audit tables are refused', async (t) => {
  const app = await privateApp(t)
  const org = await createOrg(app)
  const auditor = await createAccount(app, org.id, ['auditor'])
  for (let i = 0; i < 5; i++) await as(app, auditor.token).get('/v1/me')
  await chainAll(app)

  const counts = async () => {
    const [r] = await owner(
      app,
      `select (select count(*) from audit_events)::int as events, (select count(*) from audit_chain)::int as chain,
      (select count(*) from audit_checkpoints)::int as checkpoints, (select string_agg(hash, ',' order by sequence) from audit_chain) as hashes`,
    )
    return r as { events: number; chain: number; checkpoints: number; hashes: string }
  }
  const before = await counts()
  t.ok(before.events >= 5 && before.chain >= 5 && before.checkpoints >= 1, 'every table has rows, so row triggers would fire')

  for (const [table, { update, where }] of Object.entries(TABLES)) {
    const statements = {
      UPDATE: update,
      'UPDATE one row': `${update} WHERE ${where} = (SELECT min(${where}) FROM ${table})`,
      DELETE: `DELETE FROM ${table}`,
      'DELETE one row': `DELETE FROM ${table} WHERE ${where} = (SELECT max(${where}) FROM ${table})`,
      TRUNCATE: `TRUNCATE ${table}`,
      'TRUNCATE CASCADE': `TRUNCATE ${table} CASCADE`,
    }
    for (const [what, text] of Object.entries(statements)) {
      const asApp = await refusal(app.db.execute(sql.raw(text)))
      t.match(asApp, /permission denied|append-only/, `${table}: ${what} refused to the service role`)
      const asOwner = await refusal(owner(app, text))
      t.match(asOwner, /append-only/, `${table}: ${what} refused to the owner by the trigger`)
    }
  }

  // In a transaction too, and through a writable CTE.
  t.match(await refusal(owner(app, 'WITH d AS (DELETE FROM audit_events RETURNING id) SELECT count(*) FROM d')), /append-only/, 'writable CTE refused')
  t.match(
    await refusal(
      app.db.transaction(async (tx) => {
        await tx.execute(sql`update audit_events set outcome = 'ok' where outcome = 'denied'`)
      }),
    ),
    /permission denied|append-only/,
    'service role inside a transaction refused',
  )

  // The service role cannot switch the protection off.
  t.match(
    await refusal(app.db.execute(sql`ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only`)),
    /owner|permission denied/,
    'service role cannot disable the trigger',
  )
  t.match(await refusal(app.db.execute(sql`DROP TABLE audit_chain`)), /owner|permission denied/, 'nor drop a table')
  // On PostgreSQL the service logs in as its own non-owner role (src/db/client.ts), so even a
  // statement that asks cannot become the owner. PGlite is single-user: there the session user
  // is the owner, and the hash chain is what catches an owner's changes.
  const probe = await app.db.transaction(async (tx) => {
    const denied = await refusal(tx.execute(sql`SET LOCAL ROLE postgres`))
    if (denied) return { denied, user: null }
    const [who] = await rows<{ u: string }>(tx, sql`select current_user as u`)
    return { denied, user: who?.u ?? null }
  })
  if (app.database.kind === 'pg') t.match(probe.denied, /permission denied/, `the service role cannot become the owner (ran as ${probe.user})`)

  // Nothing changed; appending still works and the chain verifies.
  const after = await counts()
  t.same({ ...after, events: undefined }, { ...before, events: undefined }, 'chain and checkpoints untouched')
  t.ok(after.events >= before.events, 'no event lost')
  const verify = await as(app, auditor.token).get('/v1/audit/verify')
  t.equal(verify.statusCode, 200)
  t.match(json(verify), { ok: true, firstInvalid: null })
})
