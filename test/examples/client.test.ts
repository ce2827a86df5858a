// The example client (examples/client.ts) against the real API over HTTP: the generated types
// match what the server answers, and examples/generated/dcx.d.ts is current with openapi.yaml.
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript'
import t from 'tap'
import { buildTestApp, createAccount, orgWith } from '../helper.js'
import { createDcxClient, DcxTokenError, type DcxClient, type Problem, type Schemas } from '../../examples/client.js'

const ROOT = new URL('../../', import.meta.url)

async function inDirectory(dcx: DcxClient, id: string): Promise<Schemas['Organisation'] | undefined> {
  // The shared PostgreSQL database holds other files' organisations: page until found.
  let cursor: string | undefined
  do {
    const { data, error } = await dcx.GET('/v1/organisations', { params: { query: { limit: 500, ...(cursor ? { cursor } : {}) } } })
    if (!data) throw new Error(`directory: ${error.detail}`)
    const hit = data.items.find((o) => o.id === id)
    if (hit) return hit
    cursor = data.nextCursor ?? undefined
  } while (cursor)
  return undefined
}

// One app for the file, on a real socket: each case makes its own organisation and accounts.
const app = await buildTestApp(t)
await app.listen({ port: 0, host: '127.0.0.1' })
const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

t.test('createDcxClient: token, /v1/me, directory, typed problem', async (t) => {
  const { org, reader } = await orgWith(app, ['reader'])

  const dcx = await createDcxClient(baseUrl, reader.clientId, reader.clientSecret)

  const me = await dcx.GET('/v1/me')
  t.equal(me.response.status, 200)
  t.equal(me.data?.account.id, reader.id, 'the account behind the token')
  t.equal(me.data?.organisation.id, org.id)
  t.same(me.data?.effectiveRoles, ['reader'])

  const listed = await inDirectory(dcx, org.id)
  t.ok(listed, 'the directory lists the organisation')
  t.equal(listed?.name, org.name)
  t.match(listed?.contact, { email: /@example\.org$/, phone: '+31701234567' }, 'with its contact point')

  const missing = await dcx.GET('/v1/organisations/{id}', { params: { path: { id: randomUUID() } } })
  t.equal(missing.response.status, 404)
  t.match(missing.response.headers.get('content-type'), /^application\/problem\+json/)
  t.equal(missing.data, undefined)
  const problem: Problem | undefined = missing.error
  t.match(problem, { status: 404, type: String, title: String, detail: String, requestId: String }, 'a typed RFC 9457 problem')

  const invalid = await dcx.GET('/v1/organisations/{id}', { params: { path: { id: 'not-a-uuid' } } })
  t.equal(invalid.response.status, 400)
  t.match(invalid.error?.errors, [{ name: String, reason: String }], 'the invalid field is named')
})

t.test('createDcxClient: refused credentials are a DcxTokenError; a disabled account stops working', async (t) => {
  const { org, org_admin } = await orgWith(app, ['org_admin'])
  const reader = await createAccount(app, org.id, ['reader'])

  await t.rejects(createDcxClient(baseUrl, reader.clientId, 'wrong-secret'), new DcxTokenError(401, 'invalid_client', 'Unknown client or wrong secret.'))

  const admin = await createDcxClient(baseUrl, org_admin.clientId, org_admin.clientSecret)
  const dcx = await createDcxClient(baseUrl, reader.clientId, reader.clientSecret)
  const disabled = await admin.PATCH('/v1/accounts/{id}', { params: { path: { id: reader.id } }, body: { disabled: true } })
  t.equal(disabled.data?.disabled, true, disabled.error?.detail ?? 'disabled')
  const me = await dcx.GET('/v1/me')
  t.equal(me.response.status, 401)
  t.equal(me.error?.status, 401)
})

t.test('examples/generated/dcx.d.ts is current with openapi.yaml', async (t) => {
  const expected = COMMENT_HEADER + astToString(await openapiTS(new URL('openapi.yaml', ROOT), { silent: true }))
  const committed = await readFile(new URL('examples/generated/dcx.d.ts', ROOT), 'utf8').catch(() => '')
  t.ok(committed === expected, 'up to date (if not: run npm run openapi, or npm run examples:generate)')
})
