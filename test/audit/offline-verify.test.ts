// The offline verifier (scripts/audit-verify.ts): an outside auditor holding an unfiltered export
// and a signed checkpoint can check the log without trusting the server. Private database: the
// export is "everything", and one case tampers with the stored log.
import t from 'tap'
import { execFile } from 'node:child_process'
import { generateKeyPairSync, sign } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql } from 'drizzle-orm'
import { verifyExport } from '../../scripts/audit-verify.js'
import { canonicalJson, chainHashV2, GENESIS_HASH } from '../../src/audit/canonical.js'
import { toCanonical } from '../../src/audit/chain.js'
import { as, createAccount, createOrg, json, unique } from '../helper.js'
import { chainAll, owner, privateApp } from './private-db.js'

// Several apps (and databases) per file: on a loaded machine this file may need more than the
// default two minutes. A limit on the run, not an assertion on timing.
t.setTimeout(300_000)

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
interface Checkpoint {
  sequence: number
  hash: string
  time: string
  kid: string
  jws: string
  publicJwk: Record<string, string>
}
type Line = Record<string, unknown> & { sequence: number | null; action: string; hash: string | null; previousHash: string | null }

/** The real command line; resolves to its exit code. */
function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'scripts/audit-verify.ts', ...args], { cwd: ROOT }, (err, stdout) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 99) : 0, stdout })
    })
  })
}

t.test('export + signed checkpoint verify offline; any alteration is caught', async (t) => {
  const app = await privateApp(t)
  app.chainer.stop() // chain by hand, so the first checkpoint covers every event below
  const dir = mkdtempSync(path.join(tmpdir(), 'dcx-audit-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = (name: string, content: string) => {
    const p = path.join(dir, name)
    writeFileSync(p, content)
    return p
  }

  const org = await createOrg(app)
  const auditor = await createAccount(app, org.id, ['auditor'])
  const contributor = await createAccount(app, org.id, ['contributor'])
  const C = as(app, contributor.token)
  for (let i = 0; i < 6; i++) {
    await C.post('/v1/indicators', { type: 'domain', value: `${unique('off')}.example`, distribution: 'community', tlp: 'green' })
    await C.get(`/v1/indicators?q=word${i}`)
    await as(app, undefined).get('/v1/me')
  }
  await chainAll(app)
  const cps = json<{ items: Checkpoint[] }>(await as(app, auditor.token).get('/v1/audit/checkpoints'))
  const cp = cps.items[0] as Checkpoint
  t.ok(cp.sequence >= 18, `a checkpoint covers the events (sequence ${cp.sequence})`)
  const exported = await as(app, auditor.token).get('/v1/audit/export')
  t.equal(exported.statusCode, 200)
  t.match(exported.headers['content-type'], /application\/x-ndjson/)
  const lines = exported.body.trim().split('\n')
  const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).body

  const cpFile = file('checkpoint.json', JSON.stringify(cp))
  const exportFile = file('audit.ndjson', exported.body)
  const jwksFile = file('jwks.json', jwks)

  // Intact.
  t.match(await verifyExport(exportFile, cp), { ok: true, checked: cp.sequence, firstInvalid: null, problems: [] })
  t.match(await verifyExport(exportFile, cp, JSON.parse(jwks)), { ok: true })
  const ok = await cli(['--export', exportFile, '--checkpoint', cpFile])
  t.equal(ok.code, 0, ok.stdout)
  t.match(JSON.parse(ok.stdout), { ok: true, checkpoint: { sequence: cp.sequence, hash: cp.hash } })
  t.equal(
    (await cli(['--export', exportFile, '--checkpoint', file('page.json', JSON.stringify(cps)), '--jwks', jwksFile])).code,
    0,
    'a saved checkpoint page and a JWKS work too',
  )

  // One line altered: an action changed.
  const parsed = lines.map((l) => JSON.parse(l) as Line)
  const victim = parsed.find((e) => e.sequence === Math.ceil(cp.sequence / 2)) as Line
  const altered =
    lines
      .map((l, i) =>
        parsed[i] === victim ? JSON.stringify({ ...victim, action: 'account.me.read' === victim.action ? 'indicator.list' : 'account.me.read' }) : l,
      )
      .join('\n') + '\n'
  const alteredFile = file('altered.ndjson', altered)
  t.match(await verifyExport(alteredFile, cp), { ok: false, firstInvalid: victim.sequence })
  const bad = await cli(['--export', alteredFile, '--checkpoint', cpFile])
  t.equal(bad.code, 1, 'exit 1 on an altered line')
  t.match(JSON.parse(bad.stdout), { ok: false, firstInvalid: victim.sequence })

  // One line dropped.
  const droppedFile = file('dropped.ndjson', lines.filter((_, i) => parsed[i] !== victim).join('\n') + '\n')
  t.match(await verifyExport(droppedFile, cp), { ok: false, firstInvalid: victim.sequence })

  // The tail cut off before the checkpoint.
  const cut = lines.filter((_, i) => (parsed[i]?.sequence ?? 0) < cp.sequence).join('\n') + '\n'
  t.match(await verifyExport(file('cut.ndjson', cut), cp), { ok: false, firstInvalid: null, problems: [/should hold/] })

  // The checkpoint tampered: its JWS payload, its signature, or its claims beside the JWS.
  const [h, p, s] = cp.jws.split('.') as [string, string, string]
  const forgedPayload = Buffer.from(canonicalJson({ hash: '0'.repeat(64), sequence: cp.sequence, time: cp.time })).toString('base64url')
  const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11)
  for (const [what, forged] of [
    ['JWS payload', { ...cp, jws: `${h}.${forgedPayload}.${s}` }],
    ['JWS signature', { ...cp, jws: `${h}.${p}.${flipped}` }],
    ['claimed hash', { ...cp, hash: '0'.repeat(64) }],
    ['claimed sequence', { ...cp, sequence: cp.sequence - 1 }],
  ] as const) {
    const v = await verifyExport(exportFile, forged)
    t.equal(v.ok, false, `the checkpoint's ${what} tampered: ${v.problems.join('; ')}`)
  }
  const forgedJws = { ...cp, jws: `${h}.${forgedPayload}.${s}` }
  t.equal((await cli(['--export', exportFile, '--checkpoint', file('cp-jws.json', JSON.stringify(forgedJws))])).code, 1, 'CLI: exit 1 on a tampered JWS')

  // History rewritten consistently and re-signed with the forger's own key: the checkpoint's
  // embedded key would vouch for it, which is why --jwks (saved from the service) matters.
  let previous = GENESIS_HASH
  const rewritten = parsed
    .filter((e) => e.sequence !== null && e.sequence <= cp.sequence)
    .sort((a, b) => Number(a.sequence) - Number(b.sequence))
    .map((e) => {
      const changed = e === victim ? { ...e, outcome: 'denied' } : e
      const hash = chainHashV2(previous, Number(e.sequence), toCanonical(changed), String(changed.payloadDigest))
      const out = { ...changed, previousHash: previous, hash }
      previous = hash
      return JSON.stringify(out)
    })
  const forger = generateKeyPairSync('ed25519')
  const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: cp.kid, typ: 'dcx-audit-checkpoint+jws' })).toString('base64url')
  const body = Buffer.from(canonicalJson({ sequence: cp.sequence, hash: previous, time: cp.time })).toString('base64url')
  const sig = sign(null, Buffer.from(`${header}.${body}`), forger.privateKey).toString('base64url')
  const forgedCp = { ...cp, hash: previous, jws: `${header}.${body}.${sig}`, publicJwk: { ...forger.publicKey.export({ format: 'jwk' }), kid: cp.kid } }
  const rewrittenFile = file('rewritten.ndjson', rewritten.join('\n') + '\n')
  t.match(await verifyExport(rewrittenFile, forgedCp), { ok: true }, "without a JWKS the forger's own key is trusted (documented)")
  t.match(await verifyExport(rewrittenFile, forgedCp, JSON.parse(jwks)), { ok: false, problems: [/signature/] }, 'with the saved JWKS the forgery fails')
  t.equal((await cli(['--export', rewrittenFile, '--checkpoint', file('forged.json', JSON.stringify(forgedCp)), '--jwks', jwksFile])).code, 1, 'CLI too')

  // Back on the server: the newest events and their links removed by a superuser, then the
  // service carries on and re-chains over the gap. The chain is consistent again, but the
  // checkpoint taken earlier no longer matches.
  const tail = (await owner(
    app,
    `select event_id::int as id, sequence::int as s from audit_chain where sequence > ${cp.sequence - 3} and sequence <= ${cp.sequence}`,
  )) as { id: number; s: number }[]
  await app.database.asOwner(async (q) => {
    for (const statement of [
      'ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_append_only',
      'ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only',
      `DELETE FROM audit_chain WHERE sequence >= ${Math.min(...tail.map((r) => r.s))}`,
      `DELETE FROM audit_events WHERE id IN (${tail.map((r) => r.id).join(',')})`,
      'ALTER TABLE audit_chain ENABLE TRIGGER audit_chain_append_only',
      'ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only',
    ])
      await q(sql.raw(statement))
  })
  for (let i = 0; i < 5; i++) await C.get('/v1/me')
  await chainAll(app)
  const serverSide = json<{ ok: boolean }>(await as(app, auditor.token).get('/v1/audit/verify'))
  t.equal(serverSide.ok, false, 'GET /v1/audit/verify notices the cut tail (the stored checkpoint no longer matches)')
  const after = await as(app, auditor.token).get('/v1/audit/export')
  const res = await cli(['--export', file('after.ndjson', after.body), '--checkpoint', cpFile, '--jwks', jwksFile])
  t.equal(res.code, 1, 'the offline check against the earlier checkpoint catches it')
  t.match(readFileSync(cpFile, 'utf8'), cp.jws, 'checkpoint file unchanged')
})
