// Migrations in order (src/db/migrations.ts): the journal's `when`s increase with its index, so
// drizzle's migrator (which applies only what is newer than the newest applied) never skips one;
// and a database that lacks a migration older than its newest one refuses to boot, naming it.
import t from 'tap'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { MIGRATIONS_FOLDER, openDatabase } from '../../src/db/client.js'
import { migratedTemplate } from '../db-template.js'
import { journal, unappliedMigrations } from '../../src/db/migrations.js'

t.test('the journal: indexes and `when`s increase together, each entry with its SQL file', async (t) => {
  const entries = journal(MIGRATIONS_FOLDER)
  t.ok(entries.length >= 20, `${entries.length} migrations`)
  const problems: string[] = []
  entries.forEach((e, i) => {
    const prev = entries[i - 1]
    if (!new RegExp(`^${String(e.idx).padStart(4, '0')}_`).test(e.tag)) problems.push(`${e.tag}: not numbered ${e.idx}`)
    if (!existsSync(path.join(MIGRATIONS_FOLDER, `${e.tag}.sql`))) problems.push(`${e.tag}.sql is missing`)
    if (prev && e.idx <= prev.idx) problems.push(`${e.tag}: index not above ${prev.tag}'s`)
    // A lower `when` after a higher one is skipped wherever the higher one is applied.
    if (prev && e.when <= prev.when) problems.push(`${e.tag}: when ${e.when} not after ${prev.tag}'s ${prev.when}`)
  })
  t.same(problems, [])
})

t.test('a database missing an older migration than its newest refuses to boot, naming it', async (t) => {
  const entries = journal(MIGRATIONS_FOLDER)
  const skipped = entries[Math.floor(entries.length / 2)] as { tag: string; when: number }
  // A migrated database, then the record of one middle migration removed: what a database looks
  // like when a branch's older migration landed after a newer one had been applied.
  const pg = await PGlite.create({ loadDataDir: await migratedTemplate() })
  const run = (text: string) => pg.query(text).then((r) => r.rows as Record<string, unknown>[])
  t.same(await unappliedMigrations(MIGRATIONS_FOLDER, run), [], 'the template has every migration')
  await pg.query('DELETE FROM drizzle.__drizzle_migrations WHERE created_at = $1', [skipped.when])
  t.same(
    (await unappliedMigrations(MIGRATIONS_FOLDER, run)).map((e) => e.tag),
    [skipped.tag],
  )
  const broken = await pg.dumpDataDir('none')
  await pg.close()
  await t.rejects(
    openDatabase({ databaseUrl: undefined, dataDir: 'memory://', poolSize: 1, pgliteTemplate: broken }),
    new RegExp(`lacks migration ${skipped.tag}, although newer ones are applied`),
  )
})
