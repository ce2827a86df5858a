// Signing keys: the JWKS publishes only public Ed25519 keys; rotation switches signing to a new
// kid while tokens signed by the old key keep working; private keys are sealed at rest.
import t from 'tap'
import { inArray } from 'drizzle-orm'
import { signingKeys } from '../../src/db/schema/index.js'
import { as, buildTestApp, json, orgWith } from '../helper.js'

interface Jwk {
  kty: string
  crv: string
  x: string
  kid: string
  alg: string
  use: string
  d?: string
}

const kidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()).kid as string

t.test('signing keys', async (t) => {
  const app = await buildTestApp(t)
  const { reader } = await orgWith(app, ['reader'])
  const jwks = async () => {
    const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
    t.equal(res.statusCode, 200)
    return { res, keys: json<{ keys: Jwk[] }>(res).keys }
  }

  t.test('JWKS: public EdDSA/OKP keys with kids, no private parts, no token needed', async (t) => {
    const { res, keys } = await jwks()
    t.match(res.headers['content-type'], /^application\/json/)
    t.match(res.headers['cache-control'], /max-age=/)
    t.ok(keys.length >= 1, 'at least one key')
    for (const k of keys) {
      t.match(k, { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: /^\S+$/, x: /^[A-Za-z0-9_-]{43}$/ })
      t.notOk('d' in k, `no private scalar in ${k.kid}`)
      t.same(Object.keys(k).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x'], 'only public members')
    }
    t.notMatch(res.body, /PRIVATE|"d"/, 'no private material anywhere in the document')
    t.ok(
      keys.some((k) => k.kid === kidOf(reader.token)),
      'the kid of an issued token is published',
    )
  })

  t.test('rotation: new tokens carry the new kid; old tokens still verify; both published', async (t) => {
    const oldToken = reader.token
    const oldKid = kidOf(oldToken)
    t.equal(app.keys.signingKey().kid, oldKid)
    t.equal(await app.keys.rotateIfDue(true), true, 'forced rotation rotates')
    const newKid = app.keys.signingKey().kid
    t.not(newKid, oldKid, 'a new signing key')

    const tok = await as(app, undefined).post('/v1/auth/token', {
      grant_type: 'client_credentials',
      client_id: reader.clientId,
      client_secret: reader.clientSecret,
    })
    t.equal(tok.statusCode, 200, tok.body)
    const newToken = json<{ access_token: string }>(tok).access_token
    t.equal(kidOf(newToken), newKid, 'the new token names the new kid')

    t.equal((await as(app, newToken).get('/v1/me')).statusCode, 200, 'the new token works')
    t.equal((await as(app, oldToken).get('/v1/me')).statusCode, 200, 'the old token still works')
    const kids = (await jwks()).keys.map((k) => k.kid)
    t.ok(kids.includes(oldKid), 'the retired key is still published')
    t.ok(kids.includes(newKid), 'the new key is published')

    const rows = await app.db
      .select({ kid: signingKeys.kid, retiredAt: signingKeys.retiredAt })
      .from(signingKeys)
      .where(inArray(signingKeys.kid, [oldKid, newKid]))
    const byKid = new Map(rows.map((r) => [r.kid, r]))
    t.ok(byKid.get(oldKid)?.retiredAt, 'the old key is marked retired')
    t.equal(byKid.get(newKid)?.retiredAt, null, 'the new key is current')

    t.equal(await app.keys.rotateIfDue(false), false, 'a fresh key is not due for rotation')
    t.equal(app.keys.signingKey().kid, newKid)
  })

  t.test('private keys are sealed in the database', async (t) => {
    const kids = (await jwks()).keys.map((k) => k.kid)
    const rows = await app.db.select().from(signingKeys).where(inArray(signingKeys.kid, kids))
    t.equal(rows.length, kids.length, 'every published key has a row')
    for (const row of rows) {
      t.notMatch(row.privateKeyEnc, /PRIVATE KEY|BEGIN/, `${row.kid}: no PEM at rest`)
      t.notOk(row.privateKeyEnc.includes(row.kid), `${row.kid}: sealed text does not look like plain data`)
      t.notOk('d' in (row.publicJwk as Record<string, unknown>), `${row.kid}: the public JWK column holds no private part`)
      t.match(row.privateKeyEnc, /^v1\.[\w-]+\.[\w-]+\.[\w-]+$/, `${row.kid}: a sealed box (v1.iv.tag.ciphertext)`)
      const decoded = row.privateKeyEnc.split('.').map((part) => Buffer.from(part, 'base64url').toString('latin1'))
      t.notOk(
        decoded.some((d) => d.includes('PRIVATE KEY') || d.includes('MC4CAQAw')),
        `${row.kid}: not merely an encoding of the PEM`,
      )
    }
  })
})
