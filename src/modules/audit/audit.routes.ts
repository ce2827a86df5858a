import { Readable } from 'node:stream'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { problems, timestamp, uuid } from '../../core/schemas.js'
import { auditService, type AuditEvent } from './audit.service.js'
import { requireJustification } from '../../access/justification.js'

const tags = ['audit']

const filters = {
  accountId: z.uuid().optional(),
  organisationId: z.uuid().optional(),
  action: z.string().min(1).max(100).optional().describe('An event type of the audit vocabulary, e.g. indicator.read, indicator.match, auth.token.issue'),
  resourceType: z.string().min(1).max(50).optional(),
  resourceId: z.string().min(1).max(100).optional(),
  outcome: z.enum(['ok', 'denied', 'error']).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
}

const auditEvent = z
  .object({
    id: z.number().int(),
    sequence: z.number().int().nullable().describe('Position in the hash chain; null until the chainer reaches it (about a second)'),
    time: timestamp,
    accountId: uuid.nullable(),
    organisationId: uuid.nullable(),
    clientId: z.string().nullable(),
    action: z.string(),
    resourceType: z.string().nullable(),
    resourceId: z.string().nullable(),
    outcome: z.enum(['ok', 'denied', 'error']),
    status: z.number().int().nullable(),
    requestId: z.string().nullable(),
    clientAddress: z.string().nullable(),
    userAgent: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).nullable().describe('null once the payload is pruned'),
    hash: z.string().nullable(),
    previousHash: z.string().nullable(),
    scheme: z
      .number()
      .int()
      .nullable()
      .describe(
        'How the hash is computed: 1 over the whole event (chained before payload pruning existed), 2 over the header and payloadDigest; null until chained',
      ),
    payloadDigest: z
      .string()
      .nullable()
      .describe(
        'Scheme 2: SHA-256 of the canonical payload {details, clientAddress, userAgent}, fixed when chained; what the chain covers once the payload is pruned',
      ),
    pruned: z
      .boolean()
      .describe('The payload (details, clientAddress, userAgent) was cleared after DCX_AUDIT_PAYLOAD_RETENTION_MONTHS; the header and digest remain'),
  })
  .meta({ id: 'AuditEvent' })

const CSV_COLUMNS: (keyof AuditEvent)[] = [
  'id',
  'sequence',
  'time',
  'accountId',
  'organisationId',
  'clientId',
  'action',
  'resourceType',
  'resourceId',
  'outcome',
  'status',
  'requestId',
  'clientAddress',
  'userAgent',
  'details',
  'hash',
  'previousHash',
  'scheme',
  'payloadDigest',
  'pruned',
]

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return ''
  let s = typeof v === 'object' ? JSON.stringify(v) : String(v)
  // Spreadsheet formula injection: a cell must never start as a formula.
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

const routes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/audit/events',
    {
      schema: {
        tags,
        operationId: 'listAuditEvents',
        summary: "Audit events, newest first (auditor, platform_admin; org_admin: own organisation's)",
        querystring: z
          .object({ ...filters, limit: z.coerce.number().int().min(1).max(1000).default(100), cursor: z.string().min(1).max(512).optional() })
          .strict(),
        response: {
          200: z.object({ items: z.array(auditEvent), nextCursor: z.string().nullable() }).meta({ id: 'AuditEventPage' }),
          ...problems(400, 401, 403, 429, 500),
        },
      },
    },
    async (req) => {
      const { limit, cursor, ...f } = req.query
      req.auditState && Object.assign(req.auditState.details, { filters: f })
      return auditService.list(app.db, req.actor, f, limit, cursor)
    },
  )

  app.get(
    '/audit/export',
    {
      schema: {
        tags,
        operationId: 'exportAuditEvents',
        summary: 'Stream audit events oldest first as NDJSON (default) or CSV; constant memory for any size',
        produces: ['application/x-ndjson', 'text/csv'],
        querystring: z.object({ ...filters, format: z.enum(['ndjson', 'csv']).default('ndjson') }).strict(),
        response: { 200: z.string().describe('One AuditEvent JSON object per line, or CSV with a header row'), ...problems(400, 401, 403, 429, 500) },
      },
    },
    async (req, reply) => {
      const { format, ...f } = req.query
      // Every audit export consults personal data (who looked at what, from where).
      requireJustification(req, 'an audit export')
      req.auditState && Object.assign(req.auditState.details, { filters: f, format })
      const events = auditService.export(app.db, req.actor, f)
      // The first batch is read before any byte is sent: a filter the database refuses becomes a
      // proper 4xx problem, not a stream cut off halfway.
      const first = await events.next()
      const line = (e: AuditEvent) => (format === 'csv' ? CSV_COLUMNS.map((c) => csvCell(e[c])).join(',') + '\n' : JSON.stringify(e) + '\n')
      async function* lines() {
        if (format === 'csv') yield CSV_COLUMNS.join(',') + '\n'
        if (first.done) return
        yield line(first.value)
        for await (const e of events) yield line(e)
      }
      const stamp = new Date().toISOString().replaceAll(':', '-')
      reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
        .header('content-disposition', `attachment; filename="dcx-audit-${stamp}.${format === 'csv' ? 'csv' : 'ndjson'}"`)
        .header('cache-control', 'no-store')
      return reply.send(Readable.from(lines()) as unknown as string)
    },
  )

  app.get(
    '/audit/verify',
    {
      schema: {
        tags,
        operationId: 'verifyAuditLog',
        summary: 'Recompute the hash chain and name the first altered event (auditor, platform_admin)',
        querystring: z.object({ from: z.coerce.number().int().min(1).optional(), to: z.coerce.number().int().min(1).optional() }).strict(),
        response: {
          200: z
            .object({
              ok: z.boolean(),
              checked: z.number().int(),
              firstInvalid: z.number().int().nullable().describe('Sequence of the first event whose link or content does not verify'),
              chainedThrough: z.number().int().describe('The chain covers events up to this sequence'),
              pending: z.number().int().describe('Committed events the chainer has not reached yet (still in open transactions)'),
              checkpoints: z.number().int().describe('Signed checkpoints checked against the chain'),
            })
            .meta({ id: 'AuditVerification' }),
          ...problems(400, 401, 403, 429, 500),
        },
      },
    },
    async (req) => {
      // Chain everything committed so far first, so the answer covers it.
      await app.chainer.chainNow()
      return auditService.verify(app.db, req.query)
    },
  )

  app.get(
    '/audit/checkpoints',
    {
      schema: {
        tags,
        operationId: 'listAuditCheckpoints',
        summary: 'Signed checkpoints of the chain head (Ed25519 compact JWS) with the key that signed each',
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100), cursor: z.string().min(1).max(512).optional() }).strict(),
        response: {
          200: z
            .object({
              items: z.array(
                z.object({
                  sequence: z.number().int(),
                  hash: z.string(),
                  time: timestamp,
                  kid: z.string(),
                  jws: z.string().describe('Compact JWS over {"hash","sequence","time"} (keys sorted)'),
                  publicJwk: z.record(z.string(), z.string()),
                }),
              ),
              nextCursor: z.string().nullable(),
            })
            .meta({ id: 'AuditCheckpointPage' }),
          ...problems(400, 401, 403, 429, 500),
        },
      },
    },
    async (req) => {
      return auditService.checkpoints(app.db, req.query.limit, req.query.cursor)
    },
  )
}

export default routes
