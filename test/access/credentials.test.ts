// One credential check for the token endpoint and TAXII Basic: parallel guesses are bounded by
// the failure limit (each attempt is counted before the slow check), a success gives its
// reservation back, and both doors share one throttle.
import t from 'tap'
import { buildTestApp, orgWith } from '../helper.js'
import { parseBasic } from '../../src/access/credentials.js'

const LIMIT = 5
const app = await buildTestApp(t, { DCX_TOKEN_FAILURES_PER_MINUTE: String(LIMIT) })

const token = (clientId: string, clientSecret: string, ip: string) =>
  app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    remoteAddress: ip,
    payload: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret },
  })

t.test('twenty wrong secrets at once: only the limit is ever checked', async (t) => {
  const { reader } = await orgWith(app, ['reader'])
  const res = await Promise.all(Array.from({ length: 20 }, (_, i) => token(reader.clientId, `wrong-${i}`, '10.1.0.1')))
  const codes = res.map((r) => r.statusCode)
  t.equal(codes.filter((c) => c === 401).length, LIMIT, `exactly ${LIMIT} were checked and refused as wrong`)
  t.equal(codes.filter((c) => c === 429).length, 20 - LIMIT, 'the rest were throttled without a check')
  t.ok(
    res.filter((r) => r.statusCode === 429).every((r) => Number(r.headers['retry-after']) >= 1),
    'with Retry-After',
  )
  // Even the right secret waits out the window now: the client id is locked.
  t.equal((await token(reader.clientId, reader.clientSecret, '10.1.0.2')).statusCode, 429, 'locked per client id')
})

t.test('successes do not count as failures', async (t) => {
  const { reader } = await orgWith(app, ['reader'])
  for (let i = 0; i < LIMIT + 1; i++) t.equal((await token(reader.clientId, reader.clientSecret, '10.2.0.1')).statusCode, 200)
  const ok = await Promise.all(Array.from({ length: LIMIT }, () => token(reader.clientId, reader.clientSecret, '10.2.0.1')))
  t.same(
    ok.map((r) => r.statusCode),
    Array(LIMIT).fill(200),
    'parallel successes up to the limit all pass',
  )
})

t.test('the token endpoint and TAXII Basic share one throttle', async (t) => {
  const { reader } = await orgWith(app, ['reader'])
  for (let i = 0; i < LIMIT; i++) t.equal((await token(reader.clientId, `nope-${i}`, '10.3.0.1')).statusCode, 401)
  const basic = await app.inject({
    method: 'GET',
    url: '/taxii2/',
    remoteAddress: '10.3.0.9',
    headers: {
      accept: 'application/taxii+json;version=2.1',
      authorization: `Basic ${Buffer.from(`${reader.clientId}:${reader.clientSecret}`).toString('base64')}`,
    },
  })
  t.equal(basic.statusCode, 429, 'TAXII Basic for the same client id is throttled too')
})

t.test('one Basic parser', async (t) => {
  const b64 = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`
  t.same(parseBasic(b64('id:se:cret')), { id: 'id', secret: 'se:cret' }, 'the secret may hold a colon')
  t.same(parseBasic(b64('a%3Ab:c%25d'), { formEncoded: true }), { id: 'a:b', secret: 'c%d' }, 'OAuth form-encodes both parts')
  t.equal(parseBasic(b64('a%ZZ:b'), { formEncoded: true }), undefined, 'bad percent-encoding')
  t.equal(parseBasic(b64(':secret')), undefined, 'no id')
  t.equal(parseBasic(b64('nocolon')), undefined, 'no colon')
  t.equal(parseBasic('Bearer abc'), undefined, 'not Basic')
  t.equal(parseBasic(undefined), undefined, 'no header')
})
