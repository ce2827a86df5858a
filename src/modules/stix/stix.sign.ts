// Detached JWS over an export's exact bytes (RFC 7515 Appendix F): the compact serialisation with
// the payload part left empty. Signed with the service's current Ed25519 key, named by kid, so
// anyone holding the published JWKS can show the bundle was not altered after export.
import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
import type { KeyStore } from '../../access/keys.js'
import { STIX_MEDIA_TYPE } from './stix.constants.js'

export const SIGNATURE_TYP = 'dcx-stix-export+jws'

export function signDetached(keys: KeyStore, payload: Buffer, now = new Date()): { jws: string; kid: string; sha256: string } {
  const key = keys.signingKey()
  const header = { alg: 'EdDSA', kid: key.kid, typ: SIGNATURE_TYP, cty: STIX_MEDIA_TYPE, iat: Math.floor(now.getTime() / 1000) }
  const h = Buffer.from(JSON.stringify(header)).toString('base64url')
  const signature = sign(null, Buffer.from(`${h}.${payload.toString('base64url')}`), createPrivateKey(key.privatePem))
  return { jws: `${h}..${signature.toString('base64url')}`, kid: key.kid, sha256: createHash('sha256').update(payload).digest('hex') }
}

export interface Jwk {
  kty?: string
  crv?: string
  x?: string
  kid?: string
}

export type Verification = { ok: true; kid: string; signedAt: string | null } | { ok: false; reason: string }

/** Verify a detached JWS over payload with a key from the JWKS, chosen by the header's kid only. */
export function verifyDetached(jws: string, payload: Buffer, jwks: { keys?: Jwk[] }): Verification {
  const parts = jws.trim().split('.')
  if (parts.length !== 3 || parts[1] !== '') return { ok: false, reason: 'not a detached compact JWS (header..signature)' }
  let header: { alg?: unknown; kid?: unknown; iat?: unknown }
  try {
    header = JSON.parse(Buffer.from(parts[0] ?? '', 'base64url').toString('utf8'))
  } catch {
    return { ok: false, reason: 'the JWS header is not valid JSON' }
  }
  // Pinned: a header naming another algorithm (or "none") is refused, never followed.
  if (header.alg !== 'EdDSA') return { ok: false, reason: `unexpected alg ${String(header.alg)}` }
  const jwk = (jwks.keys ?? []).find((k) => k.kid === header.kid)
  if (!jwk || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.x) return { ok: false, reason: `no Ed25519 key with kid ${String(header.kid)} in the JWKS` }
  const input = Buffer.from(`${parts[0]}.${payload.toString('base64url')}`)
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' })
  if (!verify(null, input, key, Buffer.from(parts[2] ?? '', 'base64url'))) return { ok: false, reason: 'the signature does not match these bytes' }
  const signedAt = typeof header.iat === 'number' ? new Date(header.iat * 1000).toISOString() : null
  return { ok: true, kid: String(header.kid), signedAt }
}
