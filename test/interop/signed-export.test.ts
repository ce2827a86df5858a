// Signed evidential exports: GET /v1/export/stix?signed=true returns the bundle bytes and a
// detached JWS over exactly those bytes (X-DCX-Signature); it verifies against the published JWKS,
// in process and with `npm run export:verify`, and a single altered byte fails.
import t from 'tap'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql } from 'drizzle-orm'
import { rows } from '../../src/db/client.js'
import { verifyDetached } from '../../src/modules/stix/stix.sign.js'
import { as, buildTestApp, orgWith } from '../helper.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

function runVerify(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(path.join(ROOT, 'node_modules/.bin/tsx'), ['scripts/export-verify.ts', ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }),
    )
  })
}

t.test('a signed export verifies against the JWKS; a tampered byte does not', async (t) => {
  const app = await buildTestApp(t)
  const a = await orgWith(app, ['contributor'], { sector: 'prosecution' })
  const A = as(app, a.contributor.token)
  await A.post('/v1/indicators', {
    type: 'crypto_address',
    value: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq',
    distribution: 'organisation',
    description: 'seized wallet',
  })

  const res = await A.get(`/v1/export/stix?organisationId=${a.org.id}&signed=true`)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/stix+json;version=2.1')
  const jws = res.headers['x-dcx-signature'] as string
  t.match(jws, /^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$/, 'a detached compact JWS: header..signature')
  const header = JSON.parse(Buffer.from(jws.split('.')[0] as string, 'base64url').toString('utf8'))
  t.match(header, { alg: 'EdDSA', kid: String, typ: 'dcx-stix-export+jws', cty: 'application/stix+json;version=2.1', iat: Number })

  const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: { kid: string }[] }
  t.ok(
    jwks.keys.some((k) => k.kid === header.kid),
    'signed with a published key',
  )
  const bytes = res.rawPayload
  t.match(verifyDetached(jws, bytes, jwks), { ok: true, kid: header.kid })

  const tampered = Buffer.from(bytes)
  const at = tampered.indexOf('seized wallet')
  tampered[at] = 'S'.charCodeAt(0)
  t.match(verifyDetached(jws, tampered, jwks), { ok: false, reason: /does not match/ }, 'one altered byte fails')
  t.match(verifyDetached(jws, Buffer.concat([bytes, Buffer.from('\n')]), jwks), { ok: false }, 'an appended byte fails')
  t.match(verifyDetached(jws, bytes, { keys: [] }), { ok: false, reason: /no Ed25519 key/ }, 'an unknown key fails')
  const none = `${Buffer.from(JSON.stringify({ ...header, alg: 'none' })).toString('base64url')}..${jws.split('.')[2]}`
  t.match(verifyDetached(none, bytes, jwks), { ok: false, reason: /unexpected alg/ }, 'the algorithm is pinned')

  const [ev] = await rows<{ details: { sha256: string; kid: string; objects: number } }>(
    app.db,
    sql`select details from audit_events where request_id = ${res.headers['x-request-id'] as string}`,
  )
  t.equal(ev?.details.sha256, createHash('sha256').update(bytes).digest('hex'), 'the audit event holds the digest of the bytes sent')
  t.equal(ev?.details.kid, header.kid)

  const unsigned = await A.get(`/v1/export/stix?organisationId=${a.org.id}`)
  t.equal(unsigned.headers['x-dcx-signature'], undefined, 'unsigned exports carry no signature')

  // The command an outside party runs, with the JWKS saved at export time.
  const dir = mkdtempSync(path.join(tmpdir(), 'dcx-export-'))
  const file = path.join(dir, 'export.json')
  const sig = path.join(dir, 'export.jws')
  const keys = path.join(dir, 'jwks.json')
  const bad = path.join(dir, 'tampered.json')
  writeFileSync(file, bytes)
  writeFileSync(sig, `${jws}\n`)
  writeFileSync(keys, JSON.stringify(jwks))
  writeFileSync(bad, tampered)
  const good = await runVerify([file, sig, '--jwks', keys])
  t.equal(good.code, 0, `export:verify accepts the export: ${good.stdout}`)
  t.match(JSON.parse(good.stdout), { ok: true, kid: header.kid })
  const fail = await runVerify([bad, sig, '--jwks', keys])
  t.equal(fail.code, 1, 'export:verify refuses a tampered file')
  t.match(JSON.parse(fail.stdout), { ok: false })
  t.equal((await runVerify([file])).code, 2, 'usage error without SIGFILE')
})
