// Forged and malformed bearer tokens: each must answer 401 problem+json on GET /v1/me, while
// a correctly signed token for a live account passes (the control, so the forger is sound).
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto'
import t from 'tap'
import { as, buildTestApp, json, orgWith } from '../helper.js'
import { problem } from './support.js'

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')

/** A compact JWS signed with an Ed25519 key, with exactly the header and claims given. */
function eddsa(key: KeyObject, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64({ alg: 'EdDSA', typ: 'JWT', ...header })}.${b64(payload)}`
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`
}

const without = (o: Record<string, unknown>, k: string) => Object.fromEntries(Object.entries(o).filter(([key]) => key !== k))

t.test('token forgery', async (t) => {
  const app = await buildTestApp(t)
  const { reader, org } = await orgWith(app, ['reader'])
  const { org_admin: victim } = await orgWith(app, ['org_admin'])

  const jwks = json<{ keys: Record<string, string>[] }>(await app.inject({ method: 'GET', url: '/.well-known/jwks.json' }))
  const server = app.keys.signingKey()
  const jwk = jwks.keys.find((k) => k.kid === server.kid)
  t.ok(jwk, 'the signing key is published')
  const serverKey = createPrivateKey(server.privatePem)
  const now = Math.floor(Date.now() / 1000)
  const claims = {
    sub: reader.id,
    org: org.id,
    roles: ['reader'],
    client_id: reader.clientId,
    jti: randomUUID(),
    iss: 'urn:dcx',
    aud: 'urn:dcx:api',
    iat: now,
    exp: now + 300,
  }
  const kid = { kid: server.kid }

  const me = (token: string) => as(app, token).get('/v1/me')
  const refused = (name: string, token: string) =>
    t.test(name, async (t) => {
      const res = await me(token)
      problem(t, res, 401)
      t.match(res.headers['www-authenticate'], /^Bearer realm="dcx"/)
      t.notMatch(res.body, new RegExp(victim.id), 'no account named')
    })

  t.test('controls: an issued token and a hand-signed one with the server key pass', async (t) => {
    const issued = await me(reader.token)
    t.equal(issued.statusCode, 200, issued.body)
    const hand = await me(eddsa(serverKey, kid, claims))
    t.equal(hand.statusCode, 200, hand.body)
    t.equal(json<{ account: { id: string } }>(hand).account.id, reader.id)
    // Clock skew between nodes: nbf a few seconds ahead is within the tolerance.
    const skewed = await me(eddsa(serverKey, kid, { ...claims, nbf: now + 5 }))
    t.equal(skewed.statusCode, 200, skewed.body)
  })

  // Unsigned: alg none, empty signature.
  await refused('alg none', `${b64({ alg: 'none', typ: 'JWT', ...kid })}.${b64(claims)}.`)
  await refused('alg none with a signature part', `${b64({ alg: 'none', ...kid })}.${b64(claims)}.${b64('x')}`)

  // Algorithm confusion: HS256 keyed with the published public key.
  await t.test('HS256 keyed with the public key', async (t) => {
    t.ok(jwk)
    const pem = createPublicKey({ key: jwk as never, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString()
    t.equal(pem, server.publicPem, 'the JWKS key converts to the server public PEM')
    for (const alg of ['HS256', 'HS512']) {
      const input = `${b64({ alg, typ: 'JWT', ...kid })}.${b64(claims)}`
      const mac = createHmac(alg === 'HS256' ? 'sha256' : 'sha512', pem)
        .update(input)
        .digest('base64url')
      const res = await me(`${input}.${mac}`)
      problem(t, res, 401)
    }
  })

  // Tampered payload: another account's id under the reader's valid signature.
  {
    const [h, , s] = reader.token.split('.')
    const p = JSON.parse(Buffer.from(reader.token.split('.')[1] ?? '', 'base64url').toString())
    await refused('tampered sub, original signature', `${h}.${b64({ ...p, sub: victim.id, roles: ['org_admin'] })}.${s}`)
    await refused('tampered roles, original signature', `${h}.${b64({ ...p, roles: ['platform_admin'] })}.${s}`)
  }

  await refused('wrong aud', eddsa(serverKey, kid, { ...claims, aud: 'urn:other:api' }))
  await refused('wrong iss', eddsa(serverKey, kid, { ...claims, iss: 'urn:evil' }))
  await refused('array-valued iss', eddsa(serverKey, kid, { ...claims, iss: ['urn:dcx'] }))
  await refused('array-valued iss with a wrong value first', eddsa(serverKey, kid, { ...claims, iss: ['urn:evil', 'urn:dcx'] }))
  await refused('expired', eddsa(serverKey, kid, { ...claims, iat: now - 3600, exp: now - 600 }))
  await refused('missing exp', eddsa(serverKey, kid, without(claims, 'exp')))
  await refused('missing sub', eddsa(serverKey, kid, without(claims, 'sub')))
  await refused('missing iss', eddsa(serverKey, kid, without(claims, 'iss')))
  await refused('missing aud', eddsa(serverKey, kid, without(claims, 'aud')))
  await refused('sub not an account id', eddsa(serverKey, kid, { ...claims, sub: 'admin' }))
  await refused('sub of an account that does not exist', eddsa(serverKey, kid, { ...claims, sub: randomUUID() }))
  await refused('not yet valid (nbf in an hour)', eddsa(serverKey, kid, { ...claims, nbf: now + 3600 }))
  await refused('non-numeric exp', eddsa(serverKey, kid, { ...claims, exp: String(now + 300) }))
  await refused('unknown kid', eddsa(serverKey, { kid: 'k-unknown-0000' }, claims))
  await refused('no kid', eddsa(serverKey, {}, claims))
  await refused('oversized kid', eddsa(serverKey, { kid: 'k'.repeat(5000) }, claims))

  // Another Ed25519 key, claiming the real kid; also offering its own key in the header.
  {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    await refused('a different Ed25519 key with a real kid', eddsa(privateKey, kid, claims))
    await refused('embedded jwk header', eddsa(privateKey, { ...kid, jwk: { ...publicKey.export({ format: 'jwk' }), kid: server.kid } }, claims))
    await refused('jku header', eddsa(privateKey, { ...kid, jku: 'https://evil.example/jwks.json' }, claims))
  }

  // Malformed bearer values.
  await refused('garbage', 'not-a-token')
  await refused('three empty parts', '..')
  await refused('signature stripped', reader.token.split('.').slice(0, 2).join('.') + '.')
  await t.test('not a Bearer header', async (t) => {
    for (const authorization of ['Basic ' + b64(`${reader.clientId}:${reader.clientSecret}`), reader.token, `Bearer`, `Bearer ${reader.token} extra`]) {
      const res = await app.inject({ method: 'GET', url: '/v1/me', headers: { authorization } })
      problem(t, res, 401)
      t.match(res.headers['www-authenticate'], /^Bearer realm="dcx"/)
    }
  })
})
