// One handler turns every error — ours, the framework's, a plugin's — into RFC 9457
// application/problem+json carrying the request id. 5xx bodies say nothing internal: the
// detail goes to the log only.
import fp from 'fastify-plugin'
import { sendTaxiiError } from '../modules/taxii/taxii.media.js'
import { allowedMethods, recordRoutes } from './method-not-allowed.js'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod'
import { deadlineIn } from '../core/deadline.js'
import { AppError, codeForStatus, PROBLEM_TYPE_BASE, titleFor, type ErrorCode, type FieldProblem } from '../core/errors.js'

export interface ProblemBody {
  type: string
  title: string
  status: number
  detail: string
  requestId: string
  errors?: FieldProblem[]
}

export function sendProblem(reply: FastifyReply, code: ErrorCode, status: number, detail: string, fields?: FieldProblem[]): FastifyReply {
  const body: ProblemBody = {
    type: PROBLEM_TYPE_BASE + code.replaceAll('_', '-'),
    title: titleFor(code),
    status,
    detail,
    requestId: String(reply.request.id),
  }
  if (fields?.length) body.errors = fields
  return reply.code(status).type('application/problem+json; charset=utf-8').send(body)
}

// Framework error codes whose message is safe and useful to show, mapped to our codes.
const frameworkCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'validation',
  FST_ERR_CTP_INVALID_JSON_BODY: 'validation',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_VALIDATION: 'validation',
}

const MAX_FIELD_PROBLEMS = 100

const contextNames: Record<string, string> = { querystring: 'query', headers: 'header', params: 'params', body: 'body' }

function toProblem(err: FastifyError | Error, request: FastifyRequest): { code: ErrorCode; status: number; detail: string; fields?: FieldProblem[] } {
  // The request's deadline passed (core/deadline.ts), thrown by our code or inside a query, where
  // drizzle wraps it (DrizzleQueryError, the deadline error its cause): a 503, nothing committed.
  const deadline = deadlineIn(err)
  if (deadline) return { code: deadline.code, status: deadline.status, detail: deadline.detail }
  if (err instanceof AppError) return { code: err.code, status: err.status, detail: err.detail, fields: err.fields }
  if (hasZodFastifySchemaValidationErrors(err)) {
    // Fastify says querystring/headers; field names use query/header (lib/errors.ts, lib/cursor.ts).
    const context = (err as FastifyError).validationContext ?? 'body'
    const where = contextNames[context] ?? context
    const fields = err.validation.flatMap((v) => {
      const params = v.params as { issue?: { path?: PropertyKey[]; message?: string }; keys?: unknown } | undefined
      const path = params?.issue?.path ?? v.instancePath.split('/').filter(Boolean)
      // An unknown property is named itself (body.admin), not its parent object.
      if (v.keyword === 'unrecognized_keys' && Array.isArray(params?.keys) && params.keys.length) {
        return params.keys.map((k) => ({ name: [where, ...path.map(String), String(k)].join('.'), reason: 'is not a known property' }))
      }
      const name = [where, ...path.map(String)].join('.')
      return [{ name, reason: v.message ?? 'is invalid' }]
    })
    // Bounded: a body with 40,000 unknown keys must not buy a response many times its size.
    const shown = fields.slice(0, MAX_FIELD_PROBLEMS)
    if (fields.length > shown.length) shown.push({ name: where, reason: `and ${fields.length - shown.length} more problems` })
    const detail =
      shown
        .slice(0, 20)
        .map((f) => `${f.name}: ${f.reason}`)
        .join('; ') + (shown.length > 20 ? `; … (${fields.length} problems)` : '')
    return { code: 'validation', status: 400, detail, fields: shown }
  }
  if (isResponseSerializationError(err)) return { code: 'internal', status: 500, detail: 'An internal error occurred.' }
  const fe = err as FastifyError & { code?: string }
  if (fe.code && frameworkCodes[fe.code]) {
    const code = frameworkCodes[fe.code] as ErrorCode
    const status = fe.statusCode ?? 400
    let detail = fe.message
    if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY') detail = 'The request body is not valid JSON.'
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') detail = `The request body exceeds the limit of ${request.routeOptions.bodyLimit ?? ''} bytes.`
    return { code, status, detail, fields: code === 'validation' ? [{ name: 'body', reason: detail }] : undefined }
  }
  if (err instanceof SyntaxError && (fe.statusCode === 400 || (err as { status?: number }).status === 400)) {
    return { code: 'validation', status: 400, detail: 'The request body is not valid JSON.', fields: [{ name: 'body', reason: 'not valid JSON' }] }
  }
  // A unique-key race the service did not pre-check: a conflict, not a crash. Drizzle wraps the
  // driver's error (DrizzleQueryError), so the SQLSTATE may sit on its cause.
  if ((err as { code?: string }).code === '23505' || (err as { cause?: { code?: string } }).cause?.code === '23505')
    return { code: 'conflict', status: 409, detail: 'A resource with these unique values already exists.' }
  const db = databaseFailure(err)
  if (db) return db
  const status = fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500 ? fe.statusCode : 500
  if (status < 500) return { code: codeForStatus(status), status, detail: fe.message || titleFor(codeForStatus(status)) }
  return { code: 'internal', status: 500, detail: 'An internal error occurred. Quote the request id when reporting it.' }
}

// The database is unreachable or going away: a 503 the client may retry, never a 500 or a hang.
// SQLSTATE classes 08 (connection exception), 57P0x (admin/crash shutdown, cannot connect now),
// 53300 (too many connections); the driver's socket errors; node-postgres' own messages.
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300'])
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|connection error and is not queryable|Cannot use a pool after calling end|database did not answer within|Query read timeout/i
export const DB_RETRY_AFTER_SECONDS = 5

/** A database-side failure caused by the request's data or by the database being away; undefined for anything else. */
function databaseFailure(err: unknown): { code: ErrorCode; status: number; detail: string } | undefined {
  // Drizzle wraps the driver's error; follow the cause chain a few links.
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    const code = typeof e.code === 'string' ? e.code : ''
    const message = typeof e.message === 'string' ? e.message : ''
    if (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08') || UNAVAILABLE_NODE_CODES.has(code) || UNAVAILABLE_MESSAGES.test(message)) {
      return { code: 'unavailable', status: 503, detail: `The database is not reachable; retry in ${DB_RETRY_AFTER_SECONDS} s.` }
    }
    // query_canceled: statement_timeout fired.
    if (code === '57014') return { code: 'timeout', status: 503, detail: `The database did not answer in time; retry in ${DB_RETRY_AFTER_SECONDS} s.` }
    // Class 22, data exception: a value the database cannot store or compare (a NUL character,
    // a date outside years 1–9999, …). The request's fault, not the server's.
    // program_limit_exceeded: e.g. a value too large for its btree index entry (~2.7 kB).
    if (code === '54000') {
      return { code: 'validation', status: 400, detail: 'A value in the request is too large to be stored and indexed; shorten it.' }
    }
    if (/^22[0-9A-Z]{3}$/.test(code)) {
      return {
        code: 'validation',
        status: 400,
        detail: 'A value in the request cannot be stored or compared (for example a NUL character, or a date outside the years 1–9999).',
      }
    }
  }
  return undefined
}

/**
 * A database error carries the statement's parameters (and its message repeats them): a secret
 * hash or personal value must not reach the log. Keep the SQL text and the driver's code only.
 */
function loggable(err: unknown): unknown {
  const e = err as { query?: unknown; params?: unknown; cause?: { message?: string; code?: string }; stack?: string }
  if (e && typeof e === 'object' && 'params' in e && 'query' in e) {
    return { type: 'DatabaseError', query: e.query, code: e.cause?.code, message: e.cause?.message }
  }
  return err
}

/**
 * Refused before its body arrived (401, 429, 404, 415, …): close the connection after the answer.
 * Otherwise Node keeps the socket open for the rest of the body, up to the keep-alive timeout
 * (72 s), and a client that promises a body and never sends it holds a socket that long.
 */
function closeIfBodyUnread(request: FastifyRequest, reply: FastifyReply) {
  const h = request.headers
  const announcesBody = (h['content-length'] !== undefined && h['content-length'] !== '0') || h['transfer-encoding'] !== undefined
  if (announcesBody && !request.raw.complete) reply.header('connection', 'close')
}

/**
 * Fastify's router answers a malformed URL (FST_ERR_BAD_URL) or an over-long path parameter
 * (FST_ERR_MAX_PARAM_LENGTH) itself, before any route or error handler, with a bare JSON body
 * that names framework internals. app.ts passes this as the frameworkErrors server option so
 * that they are problem+json like every other error.
 */
export function frameworkErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  closeIfBodyUnread(request, reply)
  // No route matched, so no hook ran: set what app.ts's onSend and helmet would have.
  reply.header('x-request-id', request.id).header('x-content-type-options', 'nosniff').header('cache-control', 'no-store')
  const long = err.code === 'FST_ERR_MAX_PARAM_LENGTH'
  const detail = long ? 'No resource has an id that long.' : 'The URL is not valid (a malformed percent-encoding?).'
  // Under /taxii2/ a TAXII client reads TAXII error messages only (modules/taxii/taxii.media.ts).
  if (request.url.startsWith('/taxii2/')) return sendTaxiiError(reply, long ? 404 : 400, long ? 'not_found' : 'bad_request', detail)
  return long ? sendProblem(reply, 'not_found', 404, detail) : sendProblem(reply, 'bad_request', 400, detail)
}

export default fp(
  async (app) => {
    // Every route, for 405 + Allow on a path that exists with other methods (method-not-allowed.ts).
    recordRoutes(app)
    app.setErrorHandler((err: FastifyError | Error, request, reply) => {
      const p = toProblem(err, request)
      if (p.code === 'timeout' && deadlineIn(err)) request.log.warn({ code: p.code, status: p.status }, 'request past its deadline: rolled back')
      else if (p.status >= 500) request.log.error({ err: loggable(err) }, 'request failed')
      else request.log.info({ code: p.code, status: p.status }, 'request refused')
      const appErr = err instanceof AppError ? err : deadlineIn(err)
      if (appErr) for (const [k, v] of Object.entries(appErr.headers)) reply.header(k, v)
      if (p.status === 503) reply.header('retry-after', String(DB_RETRY_AFTER_SECONDS))
      closeIfBodyUnread(request, reply)
      // The token endpoint speaks OAuth 2.0 (RFC 6749 §5.2): its 400/401 bodies are OAuth error
      // objects, and its response schema serialises nothing else for those statuses. A body the
      // framework refuses before the handler (malformed JSON, …) must answer the same way, not 500.
      if (request.routeOptions.schema?.operationId === 'issueToken' && (p.status === 400 || p.status === 401)) {
        return reply
          .code(p.status)
          .header('cache-control', 'no-store')
          .send({ error: p.status === 401 ? 'invalid_client' : 'invalid_request', error_description: p.detail })
      }
      return sendProblem(reply, p.code, p.status, p.detail, p.fields)
    })
    app.setNotFoundHandler((request, reply) => {
      closeIfBodyUnread(request, reply)
      const path = request.url.split('?')[0] ?? ''
      const allow = allowedMethods(path)
      if (allow.length && !allow.includes(request.method)) {
        reply.header('allow', allow.join(', '))
        return sendProblem(reply, 'method_not_allowed', 405, `${request.method} is not allowed on ${path.slice(0, 200)}; use ${allow.join(', ')}.`)
      }
      return sendProblem(reply, 'not_found', 404, `No route ${request.method} ${(request.url.split('?')[0] ?? '').slice(0, 200)}.`)
    })
  },
  { name: 'dcx-error-handler' },
)
