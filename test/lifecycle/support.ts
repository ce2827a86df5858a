// Shared helpers for the lifecycle tests (not a test file: tap runs *.test.ts only).
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { sql } from 'drizzle-orm'
import { rows } from '../../src/db/client.js'
import { toEvent, type AuditEvent } from '../../src/modules/audit/audit.service.js'

/** The audit events one response caused (normally exactly one), found by its request id. */
export async function eventsOf(app: FastifyInstance, res: LightMyRequestResponse): Promise<AuditEvent[]> {
  const rid = res.headers['x-request-id'] as string
  const rs = await rows<Record<string, unknown>>(app.db, sql`select * from audit_events where request_id = ${rid} order by id`)
  return rs.map(toEvent)
}
