// A database of one's own for destructive audit tests. The hash chain is global, so a test that
// tampers with it, floods it or revokes a grant must not do so on the PostgreSQL that parallel
// test files share. On PGlite every build() is already a fresh in-memory database.
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { sql } from 'drizzle-orm'
import { buildTestApp, type TapLike } from '../helper.js'

export const onPg = !!process.env.DATABASE_URL

function adminUrl(): URL {
  const url = new URL(process.env.DATABASE_URL as string)
  url.pathname = '/postgres'
  return url
}

/** An app on a private database: created here, dropped (WITH FORCE) in teardown. */
export async function privateApp(t: TapLike, env: Record<string, string> = {}): Promise<FastifyInstance> {
  if (!onPg) return buildTestApp(t, env)
  const name = `dcx_audit_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: adminUrl().toString() })
  await admin.connect()
  try {
    // CREATE DATABASE copies template1 and fails while another session is copying it too.
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${name}`)
        break
      } catch (e) {
        if (attempt >= 20 || !/being accessed by other users/.test(String(e))) throw e
        await new Promise((r) => setTimeout(r, 100 * attempt))
      }
    }
  } finally {
    await admin.end()
  }
  // tap runs teardowns last-registered first: this one, registered before buildTestApp's
  // app.close(), runs after it. FORCE ends any straggling connection.
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: adminUrl().toString() })
    await c.connect()
    try {
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    } finally {
      await c.end()
    }
  })
  const url = new URL(process.env.DATABASE_URL as string)
  url.pathname = `/${name}`
  const app = await buildTestApp(t, { ...env, DATABASE_URL: url.toString() })
  return app
}

/** Run one statement as the owner (superuser on PostgreSQL, role postgres on PGlite). */
export async function owner(app: FastifyInstance, text: string): Promise<Record<string, unknown>[]> {
  return app.database.asOwner((q) => q(sql.raw(text)))
}

/** The error a statement raises, or undefined when it succeeds. */
export async function refusal(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p
    return undefined
  } catch (e) {
    const err = e as { message?: string; cause?: { message?: string } }
    return [err.message, err.cause?.message].filter(Boolean).join(' | ')
  }
}

/**
 * Chain every committed event of a private database. A transaction of this database still
 * finishing holds the chainer's horizon (dcx_horizon()) back for a moment: wait until every event
 * is below it, then chain — in one run, so the first checkpoint covers them all.
 */
export async function chainAll(app: FastifyInstance): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const [state] = (await app.database.asOwner((q) =>
      q(sql`select (select count(*)::int from audit_events where xid >= (select horizon from dcx_horizon())) as above,
                   (select count(*)::int from audit_events e where not exists (select 1 from audit_chain c where c.event_id = e.id)) as unchained`),
    )) as { above: number; unchained: number }[]
    if (state?.unchained === 0) return
    if (state?.above === 0) await app.chainer.chainNow()
    else await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('audit events stayed unchained')
}
