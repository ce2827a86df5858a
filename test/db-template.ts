// One migrated PGlite cluster for the whole run, instead of initdb + migrations for every app.
// tap runs test files in parallel processes: the first to get here builds the template into
// os.tmpdir() under a lock (a directory, created atomically), the others wait for it, and every
// later run reuses it while the migrations and the engine are unchanged — the file name carries
// a hash of the migrations folder and of the PGlite and drizzle versions. The file appears by an
// atomic rename, so a reader never sees half of one.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { MIGRATIONS_FOLDER, pgliteTemplate } from '../src/db/client.js'

const PREFIX = 'dcx-pglite-template-'
/** A lock whose holder has not finished in this long is taken over (a machine can be very slow). */
const STALE_LOCK_MS = 10 * 60_000
/** Templates of other migration states unused this long are deleted. */
const PRUNE_AFTER_MS = 24 * 3600_000

function packageVersion(name: string): string {
  const require = createRequire(import.meta.url)
  let dir = path.dirname(require.resolve(name))
  for (;;) {
    const file = path.join(dir, 'package.json')
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string }
      if (pkg.name === name) return pkg.version ?? '?'
    }
    const up = path.dirname(dir)
    if (up === dir) return '?'
    dir = up
  }
}

function key(): string {
  const h = createHash('sha256')
  h.update(`pglite ${packageVersion('@electric-sql/pglite')}\ndrizzle-orm ${packageVersion('drizzle-orm')}\n`)
  const files = (readdirSync(MIGRATIONS_FOLDER, { recursive: true }) as string[]).filter((f) => statSync(path.join(MIGRATIONS_FOLDER, f)).isFile()).sort()
  for (const f of files)
    h.update(`${f}\n`)
      .update(readFileSync(path.join(MIGRATIONS_FOLDER, f)))
      .update('\n')
  return h.digest('hex').slice(0, 20)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** True when the lock's holder is gone (its pid no longer runs) or has held it implausibly long. */
function stale(lock: string): boolean {
  try {
    const pid = Number(readFileSync(path.join(lock, 'pid'), 'utf8'))
    if (pid && !alive(pid)) return true
  } catch {
    /* the holder has not written its pid yet, or has just released the lock */
  }
  try {
    return Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS
  } catch {
    return false
  }
}

function prune(dir: string, keep: string) {
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(PREFIX) || !name.endsWith('.tar') || name === keep) continue
    const file = path.join(dir, name)
    try {
      if (Date.now() - statSync(file).mtimeMs > PRUNE_AFTER_MS) unlinkSync(file)
    } catch {
      /* another run pruned it */
    }
  }
}

async function templateFile(): Promise<Buffer> {
  const dir = tmpdir()
  const name = `${PREFIX}${key()}.tar`
  const file = path.join(dir, name)
  const lock = `${file}.lock`
  for (;;) {
    if (existsSync(file)) {
      try {
        // Mark it in use, so pruning by a run on other migrations leaves it alone.
        const now = new Date()
        utimesSync(file, now, now)
        return readFileSync(file)
      } catch (e) {
        // Pruned between the check and the read (unused for a day): build it again.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      }
    }
    try {
      mkdirSync(lock)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      if (stale(lock)) rmSync(lock, { recursive: true, force: true })
      else await sleep(100)
      continue
    }
    try {
      writeFileSync(path.join(lock, 'pid'), String(process.pid))
      if (!existsSync(file)) {
        const tarball = Buffer.from(await (await pgliteTemplate()).arrayBuffer())
        const partial = `${file}.${process.pid}.partial`
        writeFileSync(partial, tarball)
        renameSync(partial, file)
        prune(dir, name)
      }
    } finally {
      rmSync(lock, { recursive: true, force: true })
    }
  }
}

let template: Promise<Blob> | undefined

/** The migrated template as a Blob for PGlite's loadDataDir (read once per process). */
export function migratedTemplate(): Promise<Blob> {
  template ??= templateFile().then((tarball) => new Blob([tarball]))
  return template
}
