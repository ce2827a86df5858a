// openapi.yaml tells a generated client the truth (issue 14): every response this file provokes
// — the interchange paths a partner's tooling walks, and the refusals around them — is checked
// against the committed description: the status is declared for the operation, the media type is
// declared, the body validates against the declared schema (Ajv, JSON Schema 2020-12 as OpenAPI
// 3.1 uses), X-Request-Id is sent, every ETag / Location / Idempotent-Replayed / Allow the server
// sends is declared for that response, and each declared header sent matches its schema.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import ajvModule from 'ajv/dist/2020.js'
import formatsModule from 'ajv-formats'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp, json, orgWith } from '../helper.js'

type AjvCtor = typeof import('ajv/dist/2020.js').default
const Ajv2020 = ((ajvModule as unknown as { default?: AjvCtor }).default ?? ajvModule) as AjvCtor
const addFormats = ((formatsModule as unknown as { default?: unknown }).default ?? formatsModule) as (ajv: InstanceType<AjvCtor>) => void

interface Media {
  schema?: unknown
}
interface Resp {
  headers?: Record<string, { $ref?: string; schema?: unknown }>
  content?: Record<string, Media>
}
interface Op {
  operationId: string
  responses: Record<string, Resp>
}
const doc = parse(readFileSync(fileURLToPath(new URL('../../openapi.yaml', import.meta.url)), 'utf8')) as {
  paths: Record<string, Record<string, Op>>
  components: { headers: Record<string, { schema: unknown }> }
}
const ajv = new Ajv2020({ strict: false, allErrors: true })
addFormats(ajv)
ajv.addSchema(doc as object, 'openapi')

const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')

/** The path template of the document that a concrete path matches. */
function templateOf(path: string): string | undefined {
  return Object.keys(doc.paths).find((tpl) => new RegExp(`^${tpl.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path))
}

const SENT_HEADERS = ['etag', 'location', 'idempotent-replayed', 'allow', 'retry-after']

/** Check one response against the description of its operation; returns the problems found. */
function check(method: string, url: string, res: { statusCode: number; headers: Record<string, unknown>; body: string }): string[] {
  const path = url.split('?')[0] as string
  const tpl = templateOf(path)
  const op = tpl ? doc.paths[tpl]?.[method.toLowerCase()] : undefined
  const errors: string[] = []
  // A method the path does not have: the 405 is the path's (Allow names the methods it has).
  if (!op) {
    // A path that does not exist: a 404 problem, like every refusal.
    if (!tpl && res.statusCode === 404) return String(res.headers['content-type']).startsWith('application/problem+json') ? [] : ['404 is not problem+json']
    if (res.statusCode !== 405 || !tpl) return [`${method} ${path}: no operation in openapi.yaml`]
    const allow = String(res.headers.allow ?? '').split(', ')
    const has = Object.keys(doc.paths[tpl] ?? {}).map((m) => m.toUpperCase())
    if (!has.every((m) => allow.includes(m))) errors.push(`Allow ${allow} does not name ${has}`)
    if (!String(res.headers['content-type']).startsWith('application/problem+json')) errors.push('405 is not problem+json')
    return errors
  }
  const r = op.responses[String(res.statusCode)]
  if (!r) return [`${op.operationId}: status ${res.statusCode} not declared`]
  const ct = String(res.headers['content-type'] ?? '')
  const mediaKey = Object.keys(r.content ?? {}).find((m) => ct.split(';')[0]?.trim() === m.split(';')[0]?.trim())
  if (r.content && res.body.length > 0) {
    if (!mediaKey) errors.push(`${op.operationId} ${res.statusCode}: media type ${ct} not declared (${Object.keys(r.content)})`)
    else if (r.content[mediaKey]?.schema) {
      const ref = `openapi#/${pointer('paths', tpl as string, method.toLowerCase(), 'responses', String(res.statusCode), 'content', mediaKey, 'schema')}`
      const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref })
      if (!validate(JSON.parse(res.body))) errors.push(`${op.operationId} ${res.statusCode}: body ${ajv.errorsText(validate.errors)}`)
    }
  }
  if (!res.headers['x-request-id']) errors.push(`${op.operationId} ${res.statusCode}: no X-Request-Id`)
  const declared = new Map(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]))
  for (const h of SENT_HEADERS) {
    const value = res.headers[h]
    if (value === undefined) continue
    const d = declared.get(h)
    if (!d) {
      errors.push(`${op.operationId} ${res.statusCode}: sends ${h} that openapi.yaml does not declare`)
      continue
    }
    const schema = d.$ref ? doc.components.headers[d.$ref.split('/').at(-1) as string]?.schema : d.schema
    if (schema) {
      const v = ajv.compile(schema as object)
      const typed = (schema as { type?: string }).type === 'integer' ? Number(value) : String(value)
      if (!v(typed)) errors.push(`${op.operationId} ${res.statusCode}: ${h}: ${String(value)} ${ajv.errorsText(v.errors)}`)
    }
  }
  return errors
}

const app = await buildTestApp(t)

t.test('the interchange paths and their refusals answer as openapi.yaml says', async (t) => {
  const a = await orgWith(app, ['contributor'])
  const token = a.contributor.token
  const auth = { authorization: `Bearer ${token}` }
  const seen: { method: string; url: string; res: LightMyRequestResponse }[] = []
  const send = async (method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = {}) => {
    const res = await app.inject({ method, url, headers: { ...auth, ...headers }, ...(payload !== undefined ? { payload: payload as object } : {}) })
    seen.push({ method, url, res })
    return res
  }
  const created = await send('POST', '/v1/indicators', { type: 'domain', value: `contract-${randomUUID().slice(0, 8)}.example`, distribution: 'organisation' })
  t.equal(created.statusCode, 201)
  t.ok(created.headers.etag && created.headers.location, 'ETag and Location')
  const id = json<{ id: string }>(created).id
  await send('GET', `/v1/indicators/${id}`)
  await send('PATCH', `/v1/indicators/${id}`, { description: 'v2' }, { 'if-match': '"1"' })
  t.equal((await send('PATCH', `/v1/indicators/${id}`, { description: 'v3' }, { 'if-match': '"1"' })).statusCode, 412)
  t.equal((await send('PATCH', `/v1/indicators/${id}`, { description: 'v3' }, { 'if-match': 'yesterday' })).statusCode, 400)
  t.equal((await send('PATCH', `/v1/indicators/${id}`, {})).statusCode, 400, 'an empty PATCH (minProperties: 1)')
  t.equal((await send('GET', `/v1/indicators/${randomUUID()}`)).statusCode, 404)
  const put = await send('PUT', '/v1/indicators', { type: 'domain' })
  t.equal(put.statusCode, 405, 'PUT /v1/indicators: 405')
  t.equal(put.headers.allow, 'GET, HEAD, POST')
  t.equal((await send('DELETE', '/v1/indicators')).statusCode, 405)
  t.equal((await send('GET', '/v1/no-such-thing')).statusCode, 404, 'a path that does not exist is still a 404')
  const exported = await send('GET', `/v1/export/stix?organisationId=${a.org.id}`)
  t.equal(exported.statusCode, 200)
  t.equal(json<{ type: string }>(exported).type, 'bundle')
  const bundle = {
    type: 'bundle',
    id: `bundle--${randomUUID()}`,
    objects: [
      {
        type: 'indicator',
        spec_version: '2.1',
        id: `indicator--${randomUUID()}`,
        created: '2026-01-01T00:00:00.000Z',
        modified: '2026-01-01T00:00:00.000Z',
        pattern: `[domain-name:value = 'contract-import-${randomUUID().slice(0, 8)}.example']`,
        pattern_type: 'stix',
        valid_from: '2026-01-01T00:00:00Z',
      },
    ],
  }
  const key = `contract-${randomUUID()}`
  await send('POST', '/v1/import/stix', bundle, { 'idempotency-key': key })
  const replay = await send('POST', '/v1/import/stix', bundle, { 'idempotency-key': key })
  t.equal(replay.headers['idempotent-replayed'], 'true', 'a replay says so')
  t.equal((await send('POST', '/v1/import/stix', bundle, { 'idempotency-key': 'has space' })).statusCode, 400)
  t.equal((await send('POST', '/v1/import/stix', { type: 'bundle' })).statusCode, 400)
  const note = await send('POST', '/v1/notes', { title: 'T', summary: 's', body: 'b', topics: ['training'], distribution: 'organisation' })
  t.equal(note.statusCode, 201)
  await send('GET', `/v1/notes/${json<{ id: string }>(note).id}`)

  for (const s of seen) t.same(check(s.method, s.url, s.res), [], `${s.method} ${s.url.split('?')[0]} → ${s.res.statusCode}`)
})

t.test('a request the HTTP parser refuses (a header with a control character) answers problem+json', async (t) => {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('GET /v1/indicators HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n'))
    let out = ''
    socket.on('data', (d) => {
      out += d.toString('utf8')
    })
    socket.on('end', () => resolve(out))
    socket.on('error', reject)
  })
  const [head = '', body = ''] = raw.split('\r\n\r\n')
  t.match(head, /^HTTP\/1\.1 400 /)
  t.match(head, /content-type: application\/problem\+json/i)
  t.match(head, /x-request-id: /i)
  t.match(JSON.parse(body), { type: /\/problems\/bad-request$/, title: 'Bad request', status: 400, detail: String, requestId: String })
})
