// Every response the suite sees is checked against the committed openapi.yaml (issue 14: "every
// response and header matches openapi.yaml"). buildTestApp() wraps app.inject with
// watchContract(): a response whose status, media type, body or headers the description does not
// declare rejects the inject call, so the test that provoked it fails and names the mismatch.
// What is checked: the status is declared for the operation; the media type is declared; the body
// validates against the declared schema (Ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses);
// X-Request-Id is sent; each ETag, Location, Idempotent-Replayed, Allow, Retry-After and
// X-TAXII-Date-Added header sent is declared for that response and matches its schema. A path the
// document does not have answers a 404 in its API's error type; a method a path lacks, a 405
// (TAXII: 404) naming the methods it has.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import ajvModule from 'ajv/dist/2020.js'
import formatsModule from 'ajv-formats'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'

type AjvCtor = typeof import('ajv/dist/2020.js').default
const Ajv2020 = ((ajvModule as unknown as { default?: AjvCtor }).default ?? ajvModule) as AjvCtor
const addFormats = ((formatsModule as unknown as { default?: unknown }).default ?? formatsModule) as (ajv: InstanceType<AjvCtor>) => void

interface Resp {
  headers?: Record<string, { $ref?: string; schema?: unknown }>
  content?: Record<string, { schema?: unknown }>
}
interface Op {
  operationId: string
  responses: Record<string, Resp>
}
interface Doc {
  paths: Record<string, Record<string, Op>>
  components: { headers: Record<string, { schema: unknown }> }
}

let loaded: { doc: Doc; ajv: InstanceType<AjvCtor>; templates: { tpl: string; re: RegExp }[] } | undefined
function contract() {
  if (loaded) return loaded
  const doc = parse(readFileSync(fileURLToPath(new URL('../openapi.yaml', import.meta.url)), 'utf8')) as Doc
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  addFormats(ajv)
  ajv.addSchema(doc as object, 'openapi')
  // Literal paths before templated ones, so /v1/indicators/match is not read as /v1/indicators/{id}.
  const templates = Object.keys(doc.paths)
    .sort((a, b) => Number(a.includes('{')) - Number(b.includes('{')))
    .map((tpl) => ({ tpl, re: new RegExp(`^${tpl.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`) }))
  loaded = { doc, ajv, templates }
  return loaded
}

const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')
const SENT_HEADERS = [
  'etag',
  'location',
  'idempotent-replayed',
  'allow',
  'retry-after',
  'dcx-screening-epoch',
  'x-taxii-date-added-first',
  'x-taxii-date-added-last',
]
const TAXII_MEDIA = 'application/taxii+json'
const UNDESCRIBED = [/^\/openapi\.json$/, /^\/docs(\/|$)/]

type Sent = Pick<LightMyRequestResponse, 'statusCode' | 'headers' | 'body'>
const mediaOf = (res: Sent) => (String(res.headers['content-type'] ?? '').split(';')[0] ?? '').trim()

/** The problems of one response against the description of its operation ([] when it holds). */
export function contractProblems(method: string, url: string, res: Sent): string[] {
  const { doc, ajv, templates } = contract()
  const path = url.split('?')[0] as string
  if (UNDESCRIBED.some((re) => re.test(path))) return []
  const taxii = path.startsWith('/taxii2')
  const errorMedia = taxii ? TAXII_MEDIA : 'application/problem+json'
  const m = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase()
  const tpl = templates.find((x) => x.re.test(path))?.tpl
  const op = tpl ? doc.paths[tpl]?.[m] : undefined
  const errors: string[] = []
  // The per-address rate limit runs before routing: any path can answer 429.
  if (!op && res.statusCode === 429) return mediaOf(res) === errorMedia || mediaOf(res) === 'application/problem+json' ? [] : [`429 is not ${errorMedia}`]
  // A path the router reads otherwise than the document's template (a "." segment, say) can meet
  // another path's methods: a 405 naming them is still an answer in the error shape.
  if (op && res.statusCode === 405 && !op.responses['405']) {
    return res.headers.allow && mediaOf(res) === errorMedia ? [] : [`${method} ${path} 405: no Allow, or not ${errorMedia}`]
  }
  if (!op) {
    if (!tpl || taxii)
      return res.statusCode === 404 && mediaOf(res) === errorMedia
        ? []
        : [`${method} ${path} → ${res.statusCode}: no such operation, and not a 404 ${errorMedia}`]
    if (res.statusCode !== 405) return [`${method} ${path} → ${res.statusCode}: no such operation, and not a 405`]
    const allow = String(res.headers.allow ?? '').split(', ')
    const has = Object.keys(doc.paths[tpl] ?? {}).map((x) => x.toUpperCase())
    if (!has.every((x) => allow.includes(x))) errors.push(`${method} ${path} 405: Allow ${allow} does not name ${has}`)
    if (mediaOf(res) !== errorMedia) errors.push(`${method} ${path} 405: not ${errorMedia}`)
    return errors
  }
  const name = `${op.operationId} ${res.statusCode}`
  const r = op.responses[String(res.statusCode)]
  if (!r) return [`${op.operationId}: status ${res.statusCode} is not declared`]
  const ct = mediaOf(res)
  const mediaKey = Object.keys(r.content ?? {}).find((k) => ct === (k.split(';')[0] ?? '').trim())
  if (res.body.length > 0 && m !== 'head') {
    if (!r.content) errors.push(`${name}: a body where none is declared`)
    else if (!mediaKey) errors.push(`${name}: media type ${ct} is not declared (${Object.keys(r.content)})`)
    else if (r.content[mediaKey]?.schema && /[/+]json$/.test(ct)) {
      const ref = `openapi#/${pointer('paths', tpl as string, m, 'responses', String(res.statusCode), 'content', mediaKey, 'schema')}`
      const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref })
      let body: unknown
      try {
        body = JSON.parse(res.body)
      } catch {
        errors.push(`${name}: the body is not JSON`)
      }
      if (body !== undefined && !validate(body)) errors.push(`${name}: body ${ajv.errorsText(validate.errors).slice(0, 500)}`)
    }
  }
  if (!res.headers['x-request-id']) errors.push(`${name}: no X-Request-Id`)
  const declared = new Map(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]))
  for (const h of SENT_HEADERS) {
    const value = res.headers[h]
    if (value === undefined) continue
    const d = declared.get(h)
    if (!d) {
      errors.push(`${name}: sends ${h}, which is not declared`)
      continue
    }
    const schema = d.$ref ? doc.components.headers[d.$ref.split('/').at(-1) as string]?.schema : d.schema
    if (schema) {
      const v = ajv.compile(schema as object)
      const typed = (schema as { type?: string }).type === 'integer' ? Number(value) : String(value)
      if (!v(typed)) errors.push(`${name}: ${h}: ${String(value)} ${ajv.errorsText(v.errors)}`)
    }
  }
  return errors
}

export class ContractError extends Error {
  override name = 'ContractError'
}

/** Wrap app.inject so that every response is checked against openapi.yaml (see the top of this file). */
export function watchContract(app: FastifyInstance): void {
  const inject = app.inject.bind(app) as (opts?: InjectOptions | string, cb?: unknown) => unknown
  const checked = (opts?: InjectOptions | string, cb?: unknown) => {
    // The chained form (app.inject().get(...)) and the callback form are left as they are.
    if (opts === undefined || cb !== undefined) return inject(opts, cb)
    const o = typeof opts === 'string' ? { url: opts } : opts
    const method = String(o.method ?? 'GET')
    const url = typeof o.url === 'string' ? o.url : typeof o.path === 'string' ? o.path : String((o.url as { pathname?: string } | undefined)?.pathname ?? '/')
    return (inject(opts) as Promise<LightMyRequestResponse>).then((res) => {
      const problems = contractProblems(method, url, res)
      if (problems.length)
        throw new ContractError(`${method} ${url.split('?')[0]} → ${res.statusCode} does not match openapi.yaml:\n  ${problems.join('\n  ')}`)
      return res
    })
  }
  Object.defineProperty(app, 'inject', { value: checked, configurable: true, writable: true })
}
