// drizzle's migrator applies only the migrations newer than the newest one a database already has
// (it compares the journal's `when` with the last row of drizzle.__drizzle_migrations). A migration
// that reached main after a newer one had already been applied somewhere would be skipped there
// silently, and the service would then fail on a missing column or function. So after migrating,
// the boot checks that every journal entry is applied and refuses to start otherwise, naming the
// migrations; test/db/migrations.test.ts also holds the journal to increasing `when`s.
import { readFileSync } from 'node:fs'
import path from 'node:path'

export interface JournalEntry {
  idx: number
  tag: string
  when: number
}

export function journal(folder: string): JournalEntry[] {
  return (JSON.parse(readFileSync(path.join(folder, 'meta', '_journal.json'), 'utf8')) as { entries: JournalEntry[] }).entries
}

/** The journal entries the database has not applied (none after a successful migrate). */
export async function unappliedMigrations(folder: string, run: (text: string) => Promise<Record<string, unknown>[]>): Promise<JournalEntry[]> {
  const applied = new Set((await run('SELECT created_at FROM drizzle.__drizzle_migrations')).map((r) => Number(r.created_at)))
  return journal(folder).filter((e) => !applied.has(e.when))
}

/** Throws when a journal entry is not applied: the database was migrated out of order. */
export async function assertMigrated(folder: string, run: (text: string) => Promise<Record<string, unknown>[]>): Promise<void> {
  const missing = await unappliedMigrations(folder, run)
  if (missing.length === 0) return
  throw new Error(
    `The database lacks migration${missing.length > 1 ? 's' : ''} ${missing.map((m) => m.tag).join(', ')}, although newer ones are applied ` +
      '(drizzle applies only migrations newer than the newest applied). Apply the SQL of each from migrations/ by hand, in order, ' +
      'and add its row to drizzle.__drizzle_migrations, or restore the database from a backup; the service will not start on a partly migrated schema.',
  )
}
