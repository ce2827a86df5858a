// Verify a signed STIX export without trusting the server now:
//   npm run export:verify -- FILE SIGFILE [--jwks JWKS.json | --jwks https://dcx.example/.well-known/jwks.json]
// FILE is the body of GET /v1/export/stix?signed=true saved byte for byte; SIGFILE the value of its
// X-DCX-Signature header (a detached compact JWS, RFC 7515 Appendix F). The key is looked up by
// the JWS's kid in the JWKS — best a copy saved at export time, since rotated keys leave the live
// JWKS; without --jwks, the live one at http://127.0.0.1:3000/.well-known/jwks.json.
// Exit 0: the signature verifies over exactly these bytes. Exit 1: it does not. Exit 2: usage.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import { verifyDetached, type Jwk, type Verification } from '../src/modules/stix/stix.sign.js'

const DEFAULT_JWKS = 'http://127.0.0.1:3000/.well-known/jwks.json'

async function loadJwks(source: string): Promise<{ keys?: Jwk[] }> {
  if (/^https?:\/\//.test(source)) {
    const res = await fetch(source)
    if (!res.ok) throw new Error(`${source}: HTTP ${res.status}`)
    return (await res.json()) as { keys?: Jwk[] }
  }
  return JSON.parse(readFileSync(source, 'utf8')) as { keys?: Jwk[] }
}

export async function verifyExportFile(file: string, sigFile: string, jwksSource = DEFAULT_JWKS): Promise<Verification> {
  const bytes = readFileSync(file)
  const jws = readFileSync(sigFile, 'utf8').trim()
  return verifyDetached(jws, bytes, await loadJwks(jwksSource))
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { jwks: { type: 'string' } }, allowPositionals: true })
  const [file, sigFile] = positionals
  if (!file || !sigFile || positionals.length > 2) {
    process.stderr.write('usage: npm run export:verify -- FILE SIGFILE [--jwks JWKS.json|URL]\n')
    process.exit(2)
  }
  const result = await verifyExportFile(file, sigFile, values.jwks).catch((err: Error) => ({ ok: false as const, reason: err.message }))
  process.stdout.write(JSON.stringify({ file, ...result }, null, 2) + '\n')
  process.exit(result.ok ? 0 : 1)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
