// What openapi.yaml must say that the route schemas alone do not (issue 14: a generated client
// should be told the whole truth): the exact form of the If-Match and Idempotency-Key headers the
// API accepts, the response headers it sends (X-Request-Id on every answer; ETag, Location and
// Idempotent-Replayed where the routes set them), that PATCH bodies need one property, and that
// GET /v1/export/stix answers a bundle object. Applied to the assembled document by
// plugins/openapi.ts; test/interop/openapi-responses.test.ts checks responses against it.
import { ETAG_PATTERN } from '../core/etag.js'
import { IDEMPOTENCY_KEY_PATTERN } from '../access/idempotency.js'
import { JUSTIFICATION_MAX, JUSTIFICATION_MIN } from '../access/justification.js'

/** The operations whose 200/201 answers carry an ETag (the item's version), per the routes. */
export const ETAG_OPERATIONS = new Set([
  'createIndicator',
  'getIndicator',
  'updateIndicator',
  'revokeIndicator',
  'createNote',
  'getNote',
  'updateNote',
  'revokeNote',
  'createSharingGroup',
  'getSharingGroup',
  'updateSharingGroup',
  'createOrganisation',
  'getOrganisation',
  'updateOrganisation',
  'createAccount',
  'getAccount',
  'updateAccount',
  'rotateAccountSecret',
  'reviewIndicator',
  'reviewNote',
  'getOrganisationSettings',
  'updateOrganisationSettings',
  'createWarningList',
  'getWarningList',
  'updateWarningList',
])

/** The TAXII operations whose 200 answers say the date_added span of what they return (TAXII 2.1 §3.4). */
const DATE_ADDED_OPERATIONS = new Set(['taxiiGetManifest', 'taxiiGetObjects', 'taxiiGetObject', 'taxiiGetVersions'])

/** The operations whose 201 answer carries a Location (the new item's URL). */
export const LOCATION_OPERATIONS = new Set(['createIndicator', 'createNote', 'createSharingGroup', 'createOrganisation', 'createAccount', 'createWarningList'])

interface Param {
  in?: string
  name?: string
  required?: boolean
  schema?: Record<string, unknown>
  description?: string
}
interface Resp {
  description?: string
  headers?: Record<string, unknown>
  content?: Record<string, { schema?: unknown }>
}
interface Op {
  operationId?: string
  'x-dcx-justification'?: string
  parameters?: Param[]
  requestBody?: { content?: Record<string, { schema?: Record<string, unknown> }> }
  responses?: Record<string, Resp>
}

const header = (description: string, schema: Record<string, unknown>) => ({ description, schema })

/** Declared once under components.headers, referenced by every response that sends them. */
const HEADERS = {
  XRequestId: header('The request id (yours when you sent a sane X-Request-Id); quote it when reporting a problem', { type: 'string' }),
  ETag: header("The item's version, for If-Match", { type: 'string', pattern: ETAG_PATTERN }),
  Location: header('The new item', { type: 'string', format: 'uri-reference' }),
  IdempotentReplayed: header('true when this is the stored answer to an earlier request with the same Idempotency-Key', { const: 'true' }),
  DigestETag: header("The digest's version (its epoch, type and tags): send it as If-None-Match to get 304 while nothing changed", {
    type: 'string',
    pattern: '^"sd-[A-Za-z0-9_-]{22}"$',
  }),
  DcxScreeningEpoch: header('The screening key epoch the tags were made under', { type: 'integer', minimum: 0 }),
  XTaxiiDateAddedFirst: header('The date_added of the first object returned', { type: 'string' }),
  XTaxiiDateAddedLast: header('The date_added of the last object returned (page on with added_after or next)', { type: 'string' }),
}

// One line of text, no control characters, no leading or trailing space (access/justification.ts).
const LINE = '[^\\x00-\\x1f\\x7f-\\x9f]'
const EDGE = '[^\\s\\x00-\\x1f\\x7f-\\x9f]'
const JUSTIFICATION_PARAM = {
  in: 'header',
  name: 'DCX-Justification',
  required: false,
  description:
    `The purpose of consulting personal data (a case reference or purpose, ${JUSTIFICATION_MIN}–${JUSTIFICATION_MAX} characters; UTF-8 allowed), ` +
    "recorded in the audit event. Without it the account's defaultJustification is used; with neither, an answer holding personal data is refused with 428.",
  schema: { type: 'string', minLength: JUSTIFICATION_MIN, maxLength: JUSTIFICATION_MAX, pattern: `^${EDGE}(?:${LINE}*${EDGE})?$` },
}
const PROBLEM = { $ref: '#/components/schemas/Problem' }
const ref = (name: keyof typeof HEADERS) => ({ $ref: `#/components/headers/${name}` })

/** A STIX 2.1 bundle, as GET /v1/export/stix streams it (each object validates against the OASIS schemas). */
const BUNDLE = {
  type: 'object',
  description: 'A STIX 2.1 bundle',
  required: ['type', 'id', 'objects'],
  properties: {
    type: { const: 'bundle' },
    id: { type: 'string', pattern: '^bundle--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' },
    objects: {
      type: 'array',
      items: { type: 'object', required: ['type', 'id'], properties: { type: { type: 'string' }, id: { type: 'string' } } },
    },
  },
}

export function applyContract(doc: { paths?: Record<string, Record<string, Op>>; components?: Record<string, unknown> }): void {
  doc.components ??= {}
  doc.components.headers = { ...((doc.components.headers as object) ?? {}), ...HEADERS }
  for (const item of Object.values(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(item)) {
      // Consultations of personal data take a justification (access/policy.ts says which).
      if (op['x-dcx-justification']) {
        op.parameters = [...(op.parameters ?? []), { ...JUSTIFICATION_PARAM }]
        op.responses ??= {}
        op.responses['428'] ??= {
          description: 'The answer holds personal data and no justification was given',
          content: { 'application/problem+json': { schema: PROBLEM } },
        }
      }
      const params = op.parameters ?? []
      for (const p of params) {
        if (p.in !== 'header') continue
        if (p.name === 'if-match') {
          p.schema = { type: 'string', pattern: ETAG_PATTERN, examples: ['"3"'] }
          p.description = 'The ETag of the version you read (optimistic concurrency): a quoted version number, optionally weak (W/"3")'
        }
        if (p.name === 'idempotency-key') {
          p.schema = { type: 'string', minLength: 1, maxLength: 200, pattern: IDEMPOTENCY_KEY_PATTERN }
          p.description = 'A key of your choosing (1–200 printable ASCII characters): a retry with it answers the first response'
        }
      }
      const idempotent = params.some((p) => p.in === 'header' && p.name === 'idempotency-key')
      if (method === 'patch') {
        for (const media of Object.values(op.requestBody?.content ?? {})) {
          if (media.schema) media.schema = { ...media.schema, minProperties: 1 }
        }
      }
      for (const [status, r] of Object.entries(op.responses ?? {})) {
        const headers: Record<string, unknown> = { ...(r.headers ?? {}) }
        headers['X-Request-Id'] = ref('XRequestId')
        const ok = status === '200' || status === '201'
        if (ok && op.operationId && ETAG_OPERATIONS.has(op.operationId)) headers.ETag = ref('ETag')
        // A stale If-Match is told the current version (core/etag.ts preconditionFailed).
        if (status === '412') headers.ETag = ref('ETag')
        if (status === '201' && op.operationId && LOCATION_OPERATIONS.has(op.operationId)) {
          headers.Location = ref('Location')
        }
        if (ok && idempotent) headers['Idempotent-Replayed'] = ref('IdempotentReplayed')
        if (status === '200' && op.operationId && DATE_ADDED_OPERATIONS.has(op.operationId)) {
          headers['X-TAXII-Date-Added-First'] = ref('XTaxiiDateAddedFirst')
          headers['X-TAXII-Date-Added-Last'] = ref('XTaxiiDateAddedLast')
        }
        const content = r.content
        delete r.content
        r.headers = headers
        if (content) r.content = content
      }
      if (op.operationId === 'getScreeningDigest') {
        op.parameters = [
          ...(op.parameters ?? []),
          { in: 'header', name: 'If-None-Match', required: false, description: 'The ETag of the digest you hold', schema: { type: 'string', maxLength: 1000 } },
        ]
        const ok = op.responses?.['200']
        if (ok) {
          const content = ok.content
          delete ok.content
          ok.headers = { ...(ok.headers ?? {}), ETag: ref('DigestETag'), 'DCX-Screening-Epoch': ref('DcxScreeningEpoch') }
          if (content) ok.content = content
        }
        op.responses = {
          ...op.responses,
          304: {
            description: 'Not modified: the digest is the one If-None-Match names',
            headers: { 'X-Request-Id': ref('XRequestId'), ETag: ref('DigestETag'), 'DCX-Screening-Epoch': ref('DcxScreeningEpoch') },
          },
        }
      }
      if (op.operationId === 'exportStix') {
        const ok = op.responses?.['200']
        for (const media of Object.values(ok?.content ?? {})) media.schema = BUNDLE
      }
    }
  }
}
