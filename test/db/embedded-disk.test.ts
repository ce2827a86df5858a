// The embedded database on disk, as `npm start` keeps it: a fresh data directory is created and
// migrated by a short-lived child process (initdb's memory is never given back to a process), the
// files already in the directory survive, nothing is left aside, and the server's own process
// opens the result with nothing left to migrate. PGlite only: on PostgreSQL there is no data dir.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { sql } from 'drizzle-orm'
import { migratedTo, migrationsHead, openDatabase } from '../../src/db/client.js'

t.test('a fresh data directory on disk', { skip: process.env.DATABASE_URL ? 'PGlite only' : false }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dcx-embedded-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(path.join(dir, 'master.key'), 'kept\n')
  const warnings: string[] = []
  const open = () => openDatabase({ databaseUrl: undefined, dataDir: dir, poolSize: 1, pgliteSharedBuffersMb: 16, log: (m) => warnings.push(m) })

  const first = await open()
  const [row] = await first.asOwner((q) => q(sql`select count(*)::int as n, current_setting('shared_buffers') as sb from drizzle.__drizzle_migrations`))
  t.ok(Number(row?.n) > 0, 'migrated')
  t.equal(row?.sb, '16MB', 'the configured page cache')
  await first.db.execute(sql`select 1 from organisations limit 1`)
  await first.close()

  t.same(warnings, [], 'prepared in the child, no fallback')
  t.equal(readFileSync(path.join(dir, 'master.key'), 'utf8'), 'kept\n', 'files already there survive')
  t.ok(existsSync(path.join(dir, 'PG_VERSION')), 'a whole cluster')
  t.same(
    readdirSync(dir).filter((f) => f.startsWith('.initdb-')),
    [],
    'nothing left aside',
  )

  t.ok(migratedTo(dir, migrationsHead()), 'the directory records the newest migration: a restart skips the child process')

  const again = await open()
  const [n] = await again.asOwner((q) => q(sql`select count(*)::int as n from drizzle.__drizzle_migrations`))
  t.equal(n?.n, row?.n, 'reopened: the same migrations, none run twice')
  await again.close()

  // A directory whose record names an older migration (or none) goes through the child again,
  // and comes out recording the newest.
  writeFileSync(path.join(dir, '.dcx-migrated'), '0000_foundation 1\n')
  t.notOk(migratedTo(dir, migrationsHead()), 'an older record: not taken as migrated')
  const third = await open()
  await third.close()
  t.same(warnings, [], 'still no fallback')
  t.ok(migratedTo(dir, migrationsHead()), 'recorded again after migrating')
  rmSync(path.join(dir, 'PG_VERSION'))
  t.notOk(migratedTo(dir, migrationsHead()), 'no cluster: never taken as migrated, whatever the record says')
})
