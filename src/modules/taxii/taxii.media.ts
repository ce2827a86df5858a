// TAXII 2.1 media types (§1.6.8) and its error message resource (§3.6.1). TAXII answers in its own
// shape, not problem+json: a standard TAXII client parses only this.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { deadlineIn } from '../../core/deadline.js'
import { AppError, codeForStatus, titleFor } from '../../core/errors.js'
import { STIX_MEDIA_TYPE } from '../stix/stix.constants.js'

export const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1'

interface Range {
  type: string
  params: Map<string, string>
}

function ranges(header: string): Range[] {
  return header.split(',').map((range) => {
    const [type = '', ...params] = range.split(';').map((p) => p.trim())
    const kv = new Map(
      params.map((p) => {
        const i = p.indexOf('=')
        return [
          p.slice(0, i).trim().toLowerCase(),
          p
            .slice(i + 1)
            .trim()
            .replace(/^"|"$/g, ''),
        ] as [string, string]
      }),
    )
    return { type: type.toLowerCase(), params: kv }
  })
}

const refused = (r: Range) => r.params.has('q') && Number(r.params.get('q')) === 0
const version21 = (r: Range) => !r.params.has('version') || r.params.get('version') === '2.1'

/**
 * Whether a media-type list (Accept or Content-Type) names application/taxii+json version 2.1.
 * No version parameter means the latest the server speaks (§1.6.8.1), here 2.1; q=0 refuses.
 */
export function namesTaxii21(header: string | undefined): boolean {
  if (!header) return false
  return ranges(header).some((r) => r.type === 'application/taxii+json' && !refused(r) && version21(r))
}

// What an Accept may name to get the TAXII media type: the TAXII type itself, the STIX type (what a
// client that thinks in bundles asks for), JSON, and the wildcards; no Accept at all is */* (RFC 9110 §12.5.1).
const ACCEPTABLE = new Set(['application/taxii+json', 'application/stix+json', 'application/json', 'application/*', '*/*'])

/** Whether the TAXII media type satisfies this Accept. */
export function acceptsTaxii(header: string | undefined): boolean {
  if (header === undefined || header.trim() === '') return true
  return ranges(header).some((r) => ACCEPTABLE.has(r.type) && !refused(r) && (r.type.includes('*') || r.type === 'application/json' || version21(r)))
}

// What a pushed body may be sent as: a TAXII envelope or a STIX bundle, as TAXII, STIX or plain JSON.
const BODY_TYPES = new Set(['application/taxii+json', 'application/stix+json', 'application/json'])

export function checkMediaTypes(request: FastifyRequest): void {
  if (!acceptsTaxii(request.headers.accept)) {
    throw new AppError('not_acceptable', `Send Accept: ${TAXII_MEDIA_TYPE}; this server speaks TAXII 2.1 only.`)
  }
  const hasBody = request.method === 'POST' || request.method === 'PUT'
  const ct = request.headers['content-type']
  if (hasBody && !(ct && ranges(ct).some((r) => BODY_TYPES.has(r.type) && (r.type === 'application/json' || version21(r))))) {
    throw new AppError('unsupported_media_type', `Send Content-Type: ${TAXII_MEDIA_TYPE} (or ${STIX_MEDIA_TYPE} for a bundle).`)
  }
}

export interface TaxiiError {
  title: string
  description: string
  error_id: string
  error_code: string
  http_status: string
}

export function sendTaxiiError(reply: FastifyReply, status: number, code: string, description: string): FastifyReply {
  const body: TaxiiError = {
    title: titleFor(codeForStatus(status)),
    description,
    error_id: String(reply.request.id),
    error_code: code,
    http_status: String(status),
  }
  return sendTaxii(reply.code(status), body)
}

/**
 * Send a TAXII body with the media type exactly as the spec writes it. Fastify rewrites a JSON
 * Content-Type for object and string payloads (adds a charset, quotes version="2.1"), which
 * strict TAXII clients refuse; a Buffer payload keeps the header as set.
 */
export function sendTaxii(reply: FastifyReply, body: unknown): FastifyReply {
  const bytes = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body), 'utf8')
  return reply.header('content-type', TAXII_MEDIA_TYPE).send(bytes)
}

const FRAMEWORK_STATUS: Record<string, number> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 415,
  FST_ERR_CTP_BODY_TOO_LARGE: 413,
  FST_ERR_CTP_EMPTY_JSON_BODY: 400,
  FST_ERR_CTP_INVALID_JSON_BODY: 400,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 400,
}

/** The TAXII scope's error handler: every error in the TAXII error shape; 5xx bodies say nothing internal. */
export function taxiiErrorHandler(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  // The request's deadline passed, also when drizzle wrapped it (core/deadline.ts): 503, nothing committed.
  err = deadlineIn(err) ?? err
  if (err instanceof AppError) {
    for (const [k, v] of Object.entries(err.headers)) reply.header(k, v)
    request.log.info({ code: err.code, status: err.status }, 'taxii request refused')
    return sendTaxiiError(reply, err.status, err.code, err.detail)
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const where = (err as FastifyError).validationContext === 'querystring' ? 'query' : ((err as FastifyError).validationContext ?? 'body')
    const detail = err.validation.map((v) => `${[where, ...v.instancePath.split('/').filter(Boolean)].join('.')}: ${v.message ?? 'is invalid'}`).join('; ')
    return sendTaxiiError(reply, 400, 'validation', detail)
  }
  const fe = err as FastifyError & { cause?: { code?: string } }
  const status = FRAMEWORK_STATUS[fe.code ?? ''] ?? (err instanceof SyntaxError ? 400 : undefined)
  if (status) return sendTaxiiError(reply, status, codeForStatus(status), status === 400 ? 'The request body is not valid JSON.' : fe.message)
  // A value the database cannot store or compare (SQLSTATE class 22) is the request's fault.
  const sqlState = fe.cause?.code ?? (fe as { code?: string }).code ?? ''
  if (/^22[0-9A-Z]{3}$/.test(sqlState)) return sendTaxiiError(reply, 400, 'validation', 'A value in the request cannot be stored or compared.')
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return sendTaxiiError(reply, fe.statusCode, codeForStatus(fe.statusCode), fe.message)
  // Name and SQLSTATE only: a database error's message repeats its parameters (personal data).
  request.log.error({ err: { type: err.name, code: sqlState } }, 'taxii request failed')
  return sendTaxiiError(reply, 500, 'internal', 'An internal error occurred. Quote the error_id when reporting it.')
}
