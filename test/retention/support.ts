// Helpers for the retention tests (not a test file).
import type { FastifyInstance } from 'fastify'
import { sql } from 'drizzle-orm'
import { as, unique } from '../helper.js'

/** Move an item's review-by date to `daysAgo` days in the past, as the database owner (the API only takes future dates). */
export async function backdate(app: FastifyInstance, kind: 'indicator' | 'note', id: string, daysAgo: number) {
  const table = kind === 'indicator' ? sql`indicators` : sql`notes`
  await app.database.asOwner((q) => q(sql`update ${table} set review_by = now() - make_interval(days => ${daysAgo}) where id = ${id}::uuid`))
}

/** Raw rows as the owner, bypassing row-level security: what is really stored. */
export function stored(app: FastifyInstance, query: ReturnType<typeof sql>) {
  return app.database.asOwner((q) => q(query))
}

export async function postIndicator(app: FastifyInstance, token: string, body: Record<string, unknown> = {}) {
  const res = await as(app, token).post('/v1/indicators', {
    type: 'vendor_alias',
    value: unique('Vendor'),
    description: 'seen on a market',
    tags: ['retention-test'],
    distribution: 'community',
    tlp: 'green',
    ...body,
  })
  if (res.statusCode !== 201) throw new Error(`indicator fixture: ${res.statusCode} ${res.body}`)
  return res.json() as Record<string, unknown> & { id: string; version: number; reviewBy: string }
}

export async function postNote(app: FastifyInstance, token: string, body: Record<string, unknown> = {}) {
  const res = await as(app, token).post('/v1/notes', {
    title: unique('Profiling parcels'),
    summary: 'a summary',
    body: 'the body text',
    topics: ['risk_profiling'],
    distribution: 'community',
    tlp: 'green',
    ...body,
  })
  if (res.statusCode !== 201) throw new Error(`note fixture: ${res.statusCode} ${res.body}`)
  return res.json() as Record<string, unknown> & { id: string; version: number; reviewBy: string }
}

export const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString()
