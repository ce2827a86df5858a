// OpenAPI 3.1 generated from the route zod schemas; served at /openapi.json, docs at /docs.
// The committed openapi.yaml is this document (npm run openapi); test/openapi.test.ts fails when
// they drift, and `npm run lint:openapi` holds it to redocly.yaml.
import fp from 'fastify-plugin'
import swagger, { type SwaggerTransform, type SwaggerTransformObject } from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'
import { isOperation, POLICY, rolesAllowed, type Rule } from '../access/policy.js'
import { eventSpec } from '../audit/events.js'
import { applyContract } from './openapi-contract.js'

const PROBLEM_REF = '#/components/schemas/Problem'
const TAXII_ERROR_REF = '#/components/schemas/TaxiiError'
const TAXII_MEDIA = 'application/taxii+json;version=2.1'
const SCHEMAS = '#/components/schemas/'

// Said once here rather than "Default Response" on every status of every route.
const STATUS_TEXT: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No content',
  400: 'Invalid request',
  401: 'Not authenticated: missing, invalid or expired credentials',
  403: "The caller's role may not do this",
  404: 'Not found, or not visible to the caller',
  406: 'Accept names no media type this operation answers in',
  409: 'Conflicts with the current state',
  412: 'If-Match does not name the current version',
  413: 'The request body is too large',
  415: 'Unsupported content type',
  422: 'The request is well-formed but cannot be processed',
  428: "The answer holds personal data: send a DCX-Justification header or set the account's defaultJustification",
  429: 'Rate limit reached; retry after Retry-After seconds',
  500: 'Internal error; quote the requestId when reporting it',
  503: 'Not available now (shutting down, database away, or the request passed its deadline and nothing of it was committed); retry after Retry-After seconds',
}

/** Per route, before the document is assembled: zod → JSON Schema, then our defaults. */
const transform: SwaggerTransform = (input) => {
  const out = jsonSchemaTransform(input as Parameters<typeof jsonSchemaTransform>[0])
  const schema = out.schema as Record<string, unknown> | undefined
  if (!schema || schema.hide) return out
  // Public routes (config.public: health, metrics, JWKS) need no token: say so, rather than
  // inheriting the document-wide bearer requirement.
  if (input.route.config?.public && schema.security === undefined) schema.security = []
  // Who may call it and what the audit log records, from the one policy and the one vocabulary.
  const operation = schema.operationId
  if (isOperation(operation)) {
    const rule: Rule = POLICY[operation]
    schema['x-dcx-roles'] = rolesAllowed(rule)
    if (rule.conditions?.length) schema['x-dcx-conditions'] = [...rule.conditions]
    if (rule.justification) schema['x-dcx-justification'] = rule.justification
    const event = eventSpec(operation)
    if (event) schema['x-dcx-audit'] = { event: event.type, resourceType: event.resource, details: [...event.details] }
  }
  // Every operation gets a summary; a route without one is titled from its operationId.
  if (!schema.summary && typeof schema.operationId === 'string') {
    const words = schema.operationId.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase()
    schema.summary = words.charAt(0).toUpperCase() + words.slice(1)
  }
  return out
}

/** The whole document: components from the zod registry, then media types, descriptions, pruning. */
const transformObject: SwaggerTransformObject = (input) => {
  const doc = jsonSchemaTransformObject(input as Parameters<typeof jsonSchemaTransformObject>[0]) as OpenApiDoc
  for (const [path, pathItem] of Object.entries(doc.paths ?? {})) {
    // TAXII answers its errors as TAXII error messages in its own media type (modules/taxii).
    const error: Record<string, { schema: { $ref: string } }> = path.startsWith('/taxii2/')
      ? { [TAXII_MEDIA]: { schema: { $ref: TAXII_ERROR_REF } } }
      : { 'application/json': { schema: { $ref: PROBLEM_REF } } }
    for (const op of Object.values(pathItem)) {
      op.responses ??= {}
      // The per-address limit (plugins/rate-limit.ts) runs before routing: any route can answer 429.
      op.responses['429'] ??= { description: 'Default Response', content: error }
      // And any route can answer 503: while the server shuts down, when the database is away, or
      // when the request passed its deadline (core/deadline.ts) and nothing of it was committed.
      op.responses['503'] ??= { description: 'Default Response', content: error }
      // A body is parsed before the route runs: any route that takes one can refuse it as too
      // large or of a media type it does not read.
      if (op.requestBody) {
        op.responses['413'] ??= { description: 'Default Response', content: error }
        op.responses['415'] ??= { description: 'Default Response', content: error }
      }
      // A TAXII push is sent as TAXII, as STIX (a bundle) or as plain JSON (modules/taxii/taxii.media.ts).
      const body = op.requestBody as { content?: Record<string, unknown> } | undefined
      const json = body?.content?.['application/json']
      if (path.startsWith('/taxii2/') && body && json) {
        body.content = { [TAXII_MEDIA]: json, 'application/stix+json;version=2.1': json, 'application/json': json }
      }
      for (const [status, response] of Object.entries(op.responses)) describeResponse(status, response)
    }
  }
  // Headers, PATCH bodies and the export's body as the routes really treat them (openapi-contract.ts).
  applyContract(doc as Parameters<typeof applyContract>[0])
  pruneSchemas(doc)
  const used = new Set(Object.values(doc.paths ?? {}).flatMap((item) => Object.values(item).flatMap((op) => op.tags ?? [])))
  if (doc.tags) doc.tags = doc.tags.filter((tag) => used.has(tag.name))
  return doc as ReturnType<SwaggerTransformObject>
}

interface Response {
  description?: string
  headers?: Record<string, unknown>
  content?: Record<string, { schema?: { $ref?: string } }>
}
interface OpenApiDoc {
  tags?: { name: string }[]
  paths?: Record<string, Record<string, { tags?: string[]; requestBody?: unknown; responses?: Record<string, Response> }>>
  components?: { schemas?: Record<string, unknown> }
}

function describeResponse(status: string, response: Response): void {
  if (response.description === 'Default Response') response.description = STATUS_TEXT[status] ?? `HTTP ${status}`
  // Errors are sent as RFC 9457 application/problem+json (plugins/error-handler.ts); @fastify/swagger
  // labels them application/json, or with the route's `produces` (NDJSON, CSV) for every status.
  // OAuth token errors (RFC 6749 §5.2, not the Problem schema) stay application/json.
  const media = Object.values(response.content ?? {})
  if (Number(status) >= 400 && media.length > 0 && media.every((m) => m.schema?.$ref === PROBLEM_REF)) {
    response.content = { 'application/problem+json': media[0]! }
  }
  if ((status === '429' || status === '503') && !response.headers) {
    // Headers before content, as a reader expects them.
    const body = response.content
    delete response.content
    const description = status === '429' ? 'Seconds until the limit resets' : 'Seconds to wait before retrying'
    response.headers = { 'Retry-After': { description, schema: { type: 'integer', minimum: 1 } } }
    if (body) response.content = body
  }
}

/**
 * The zod registry is process-wide and yields an input and an output variant of every named
 * schema. Keep only the schemas the paths reach, and drop the "Input" suffix where the output
 * variant is not used, so clients see OrganisationCreate rather than OrganisationCreateInput.
 */
function pruneSchemas(doc: OpenApiDoc): void {
  const all = doc.components?.schemas
  if (!all) return
  const reached = new Set<string>()
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit)
    if (!node || typeof node !== 'object') return
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith(SCHEMAS)) {
        const name = v.slice(SCHEMAS.length)
        if (!reached.has(name)) {
          reached.add(name)
          visit(all[name])
        }
      } else visit(v)
    }
  }
  visit(doc.paths)
  const rename = new Map<string, string>()
  for (const name of reached) {
    const base = name.replace(/Input$/, '')
    if (base !== name && !reached.has(base)) rename.set(name, base)
  }
  const kept: Record<string, unknown> = {}
  for (const [name, schema] of Object.entries(all)) {
    if (reached.has(name)) kept[rename.get(name) ?? name] = schema
  }
  doc.components!.schemas = kept
  if (rename.size === 0) return
  const rewrite = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(rewrite)
    if (!node || typeof node !== 'object') return
    const obj = node as Record<string, unknown>
    for (const [k, v] of Object.entries(obj)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith(SCHEMAS)) {
        const to = rename.get(v.slice(SCHEMAS.length))
        if (to) obj[k] = SCHEMAS + to
      } else rewrite(v)
    }
  }
  rewrite(doc.paths)
  rewrite(doc.components!.schemas)
}

export default fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'DCX — Drug-related Cybercrime Exchange',
          version: '1.0.0',
          description:
            'Secure exchange of drug-related cybercrime risk indicators and best-practice notes between police, ' +
            'customs, border forces, prosecutors, postal operators, couriers and industry partners. ' +
            'Errors are RFC 9457 application/problem+json.',
          license: { name: 'Proprietary', identifier: 'LicenseRef-DCX' },
        },
        servers: [{ url: '/', description: 'This server' }],
        // Every tag a route uses must be here (redocly: operation-tag-defined); tags no route
        // uses yet are dropped from the document.
        tags: [
          { name: 'auth', description: 'Tokens and signing keys' },
          { name: 'accounts', description: 'Accounts and client credentials' },
          { name: 'organisations', description: 'Directory of partner organisations' },
          { name: 'sharing-groups', description: 'Named sets of organisations that items can be shared with' },
          { name: 'indicators', description: 'Risk indicators, matching, sightings and correlations' },
          { name: 'warning-lists', description: 'Shared infrastructure a match on which says so: platform-curated and per-organisation lists' },
          { name: 'notes', description: 'Best-practice notes and their revisions' },
          { name: 'screening', description: 'Oblivious screening (RFC 9497 VOPRF): keys, tag digest, evaluate, resolve, disclosures' },
          { name: 'handling', description: 'SIENA handling codes: H1 consents, H2 share requests' },
          { name: 'retention', description: 'Review-by dates, the review queue, extension and erasure' },
          { name: 'changes', description: 'Feed of created, updated and revoked items the caller may see' },
          { name: 'audit', description: 'Audit events, export, verification and checkpoints' },
          { name: 'taxii', description: 'TAXII 2.1 server (OASIS TAXII 2.1): collections per audience, STIX objects in and out' },
          { name: 'stats', description: 'Counts for the annual monitoring report' },
          { name: 'operations', description: 'Health, readiness and metrics' },
        ],
        components: {
          securitySchemes: {
            bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
            clientBasic: { type: 'http', scheme: 'basic', description: 'client_id and client_secret' },
          },
        },
        security: [{ bearer: [] }],
      },
      transform,
      transformObject,
    })
    if (app.config.docs) {
      await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } })
    }
    app.get('/openapi.json', { schema: { hide: true }, config: { public: true } }, async () => app.swagger())
  },
  { name: 'dcx-openapi' },
)
