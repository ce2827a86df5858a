// The committed openapi.yaml is the document the app generates, it holds to the API conventions
// (operation ids, summaries, tags, bearer auth, 401/429 and problem+json errors; TAXII's own
// media type, auth and error message under /taxii2/), and it lints
// clean. Stale? Run `npm run openapi` and commit the result.
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { parse } from 'yaml'
import { buildTestApp, testConfig, testDatabase } from './helper.js'
import { firstDifference, generateOpenApi, OPENAPI_PATH, toYaml } from '../scripts/openapi.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']
const PROBLEM_REF = '#/components/schemas/Problem'
const TAXII_ERROR_REF = '#/components/schemas/TaxiiError'
const TAXII_MEDIA = 'application/taxii+json;version=2.1'

interface Media {
  schema?: { $ref?: string }
}
interface Operation {
  operationId?: string
  summary?: string
  tags?: string[]
  security?: Record<string, string[]>[]
  responses?: Record<string, { description?: string; content?: Record<string, Media> }>
}
interface Doc {
  openapi: string
  tags?: { name: string }[]
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, { required?: string[] }> }
}

const operations = (doc: Doc) =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ path, method, op, name: `${method.toUpperCase()} ${path}` })),
  )

// Generated on an in-memory database as npm run openapi does (started from the test template).
const generated = (await generateOpenApi(await testDatabase(testConfig({ DATABASE_URL: '' })))) as unknown as Doc
const committedText = await readFile(OPENAPI_PATH, 'utf8').catch(() => '')

t.test('openapi.yaml matches the generated document', async (t) => {
  const text = toYaml(generated)
  const diff = firstDifference(committedText, text)
  t.equal(diff, undefined, `openapi.yaml is stale: run npm run openapi${diff ? ` (first difference at ${diff})` : ''}`)
  t.same(parse(committedText), generated, 'parses back to the same document')
})

t.test('/openapi.json serves the generated document', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(res.json(), generated)
})

t.test('the document follows the API conventions', async (t) => {
  t.match(generated.openapi, /^3\.1\.\d+$/, 'OpenAPI 3.1')
  const problem = generated.components.schemas.Problem
  t.ok(problem, 'Problem schema is a named component')
  t.same([...(problem?.required ?? [])].sort(), ['detail', 'requestId', 'status', 'title', 'type'], 'Problem requires the RFC 9457 fields + requestId')

  const declaredTags = new Set((generated.tags ?? []).map((x) => x.name))
  const ids = new Set<string>()
  const ops = operations(generated)
  t.ok(ops.length >= 10, `${ops.length} operations`)
  // One list of violations, so a failure names every offending route at once.
  const violations: string[] = []
  const check = (ok: unknown, what: string) => {
    if (!ok) violations.push(what)
  }
  for (const { path, op, name } of ops) {
    check(op.operationId, `${name}: no operationId`)
    check(!ids.has(op.operationId ?? ''), `${name}: operationId ${op.operationId} is not unique`)
    ids.add(op.operationId ?? '')
    check(op.summary, `${name}: no summary`)
    check(op.tags?.length, `${name}: no tags`)
    for (const tag of op.tags ?? []) check(declaredTags.has(tag), `${name}: tag "${tag}" is not declared in src/plugins/openapi.ts`)

    const responses = op.responses ?? {}
    check(
      Object.keys(responses).some((s) => /^2\d\d$/.test(s)),
      `${name}: no 2xx response`,
    )
    check(responses['429'], `${name}: no 429 (rate limits apply everywhere)`)
    for (const [status, response] of Object.entries(responses)) check(response.description, `${name} ${status}: no description`)

    if (path.startsWith('/taxii2/')) {
      // TAXII 2.1: Bearer or HTTP Basic; every answer, errors included, in the TAXII media type.
      check(path.endsWith('/'), `${name}: a TAXII URL ends in a slash (§1.6.7)`)
      check(op.tags?.includes('taxii'), `${name}: not tagged taxii`)
      check(JSON.stringify(op.security) === JSON.stringify([{ bearer: [] }, { clientBasic: [] }]), `${name}: not Bearer or Basic`)
      check(responses['401'], `${name}: no 401`)
      for (const [status, response] of Object.entries(responses)) {
        const media = Object.keys(response.content ?? {})
        if (media.length === 0) continue
        check(media.length === 1 && media[0] === TAXII_MEDIA, `${name} ${status}: ${media.join(', ')}, not ${TAXII_MEDIA}`)
        if (Number(status) >= 400) check(response.content?.[TAXII_MEDIA]?.schema?.$ref === TAXII_ERROR_REF, `${name} ${status}: not the TAXII error message`)
      }
      continue
    }
    if (!path.startsWith('/v1/')) {
      check(Array.isArray(op.security) && op.security.length === 0, `${name}: outside /v1 but not marked security: []`)
      continue
    }
    check(!path.endsWith('/'), `${name}: a /v1 path ends in a slash`)
    if (op.operationId === 'issueToken') {
      t.same(op.security, [{}, { clientBasic: [] }], `${name}: credentials in the body or HTTP Basic, no bearer token`)
      continue
    }
    check(op.security === undefined || op.security.every((r) => 'bearer' in r), `${name}: does not need a bearer token`)
    check(responses['401'], `${name}: no 401`)
    for (const [status, response] of Object.entries(responses)) {
      if (Number(status) < 400) continue
      const media = Object.keys(response.content ?? {})
      check(
        media.length === 1 && media[0] === 'application/problem+json',
        `${name} ${status}: ${media.join(', ') || 'no content'}, not application/problem+json`,
      )
      check(response.content?.['application/problem+json']?.schema?.$ref === PROBLEM_REF, `${name} ${status}: not the Problem schema`)
    }
  }
  t.same(violations, [], `${ops.length} operations: operationId, summary, declared tags, 2xx, 401/429, problem+json (TAXII: TAXII error) errors`)
  t.ok(
    ops.some((o) => o.path.startsWith('/taxii2/')),
    'the TAXII endpoints are described',
  )
})

t.test('redocly lint: no errors', async (t) => {
  const bin = `${ROOT}node_modules/.bin/redocly`
  const run = promisify(execFile)
  const result = await run(bin, ['lint', 'openapi.yaml', '--format=json'], {
    cwd: ROOT,
    timeout: 20_000,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
  }).catch((err: { stdout?: string; code?: number }) => ({ stdout: err.stdout ?? '', stderr: String(err) }))
  const report = JSON.parse(result.stdout || '{}') as {
    totals?: { errors: number; warnings: number }
    problems?: { ruleId: string; message: string; location?: { pointer?: string }[] }[]
  }
  const lines = (report.problems ?? []).map((p) => `${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer ?? '?'}`)
  t.ok(report.totals, report.totals ? 'redocly ran' : `redocly did not run: ${result.stderr}`)
  t.equal(report.totals?.errors, 0, `npm run lint:openapi reports no errors\n${lines.join('\n')}`)
  if (report.totals?.warnings) t.comment(`redocly warnings (acceptable, but keep them few):\n${lines.join('\n')}`)
})
