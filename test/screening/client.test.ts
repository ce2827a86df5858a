import t from 'tap'
import { normalizeIndicator } from '../../src/modules/indicators/normalize.js'
import { canonicalise, completeScreening, MAX_ELEMENTS, prepareScreening, resolveRequest } from '../../src/screening/client.js'
import { loadFastOprf } from '../../src/screening/fast.js'
import { generateKeyPair, MODE, SUITE } from '../../src/screening/oprf.js'
import { answerEvaluate, holdingTag } from '../../src/screening/server.js'
import { type DigestMessage, encodeDigest, fromBase64url, type KeysEntry, TagSet, toBase64url } from '../../src/screening/wire.js'

const fast = await loadFastOprf()
const keys = generateKeyPair()
const epoch = 7
const serverKey = { ...keys, epoch }
const published: KeysEntry = { suite: SUITE, mode: MODE, epoch, publicKey: toBase64url(keys.publicKey), notAfter: '2027-01-01T00:00:00Z' }

const HOLDINGS = [
  { type: 'email', value: 'Vendor@Example.ORG' },
  { type: 'email', value: 'drops@example.net' },
  { type: 'postal_item', value: 'RR123456785DE' },
  { type: 'vendor_alias', value: 'marek' },
] as const

function digestFor(type: string): DigestMessage {
  const tags = HOLDINGS.filter((h) => h.type === type).map((h) => {
    const n = normalizeIndicator(h.type, h.value)
    if (!n.ok) throw new Error(n.reason)
    return holdingTag(fast, keys.secretKey, h.type, n.normalizedValue)
  })
  return encodeDigest(epoch, type, tags)
}

/** A full exchange, JSON on the wire both ways, as a partner's client would run it. */
function screen(type: string, values: string[], digest = digestFor(type)) {
  const batch = prepareScreening(type, values)
  const body = JSON.parse(JSON.stringify(batch.request(epoch)))
  const answer = JSON.parse(JSON.stringify(answerEvaluate(fast, serverKey, body)))
  const wireDigest = JSON.parse(JSON.stringify(digest))
  return { batch, body, answer, result: completeScreening(batch, published, answer, wireDigest) }
}

t.test('round trip: only holdings match, whatever the spelling', async (t) => {
  const { batch, body, answer, result } = screen('email', [
    ' vendor@example.org', // holding, other case and space
    'VENDOR@EXAMPLE.ORG', // same after normalisation: sent once
    'someone@example.com',
    'drops@exa\u200Bmple.net', // zero-width space folded by the normaliser
    'not an address',
  ])
  t.equal(body.elements.length, 3, 'three distinct valid values blinded')
  t.same(
    batch.invalid.map((i) => i.value),
    ['not an address'],
  )
  t.equal(fromBase64url(answer.proof, 'proof').length, 64, 'one 64-byte proof')
  t.equal(result.screened, 3)
  t.same(
    result.hits.map((h) => [h.normalizedValue, h.values]),
    [
      ['vendor@example.org', [' vendor@example.org', 'VENDOR@EXAMPLE.ORG']],
      ['drops@example.net', ['drops@exa\u200Bmple.net']],
    ],
  )
  const resolve = resolveRequest(epoch, 'email', result.hits)
  t.equal(resolve.tags.length, 2)
  t.ok(resolve.tags.every((tag) => fromBase64url(tag, 'tag').length === 8 && /^[A-Za-z0-9_-]{11}$/.test(tag)))
})

t.test('only the held postal item matches; an empty digest matches nothing', async (t) => {
  const { result } = screen('postal_item', ['RR123456790DE', 'rr 123 456 785 de'])
  t.same(
    result.hits.map((h) => h.normalizedValue),
    ['RR123456785DE'],
  )
  t.same(screen('domain', ['example.org']).result.hits, [])
})

t.test('the same text under another type does not match', async (t) => {
  t.equal(canonicalise('person_name', 'Marek').ok && canonicalise('vendor_alias', 'Marek').ok, true)
  // screened as a person name against the vendor_alias digest: the OPRF inputs differ
  const crossed = screen('person_name', ['Marek', 'marek'], { ...digestFor('vendor_alias'), type: 'person_name' })
  t.same(crossed.result.hits, [])
  t.same(
    screen('vendor_alias', ['Marek', 'Mare\u200Bk']).result.hits.map((h) => h.values),
    [['Marek', 'Mare\u200Bk']],
  )
})

t.test('the client refuses answers it cannot verify', async (t) => {
  const batch = prepareScreening('email', ['vendor@example.org', 'x@example.org'])
  const answer = answerEvaluate(fast, serverKey, batch.request(epoch))
  const digest = digestFor('email')
  const otherKey = generateKeyPair()
  t.throws(() => completeScreening(batch, { ...published, publicKey: toBase64url(otherKey.publicKey) }, answer, digest), /proof/)
  t.throws(() => completeScreening(batch, published, { ...answer, evaluated: [...answer.evaluated].reverse() }, digest), /proof/)
  t.throws(() => completeScreening(batch, published, { ...answer, evaluated: answer.evaluated.slice(1) }, digest), /one evaluated/)
  t.throws(() => completeScreening(batch, published, { ...answer, epoch: 8 }, digest), /epoch/)
  t.throws(() => completeScreening(batch, published, { ...answer, proof: `${answer.proof}=` }, digest), /base64url/)
  t.throws(() => completeScreening(batch, published, answer, { ...digest, type: 'domain' }), /digest is for/)
  // a server answering with another key than the published one is caught
  const cheat = answerEvaluate(fast, { ...otherKey, epoch }, batch.request(epoch))
  t.throws(() => completeScreening(batch, published, cheat, digest), /proof/)
  t.throws(() => prepareScreening('nope', ['x']), /unknown indicator type/)
  t.throws(() => answerEvaluate(fast, serverKey, { ...batch.request(epoch), epoch: 6 }), /epoch/)
  t.throws(() => answerEvaluate(fast, serverKey, { epoch, type: 'email', elements: ['AAAA'] }), /32 bytes/)
})

t.test('digest: sorted, unique, 8-byte tags; TagSet rejects malformed digests', async (t) => {
  const tags = [Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0), Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 9), Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0)]
  const d = encodeDigest(1, 'email', tags)
  t.same(d.tags, [toBase64url(tags[1] as Uint8Array), toBase64url(tags[0] as Uint8Array)])
  const set = TagSet.fromDigest(d)
  t.equal(set.size, 2)
  t.ok(set.has(tags[1] as Uint8Array))
  t.notOk(set.has(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 8)))
  t.throws(() => TagSet.fromDigest({ ...d, tags: [...d.tags].reverse() }), /sorted/)
  t.throws(() => TagSet.fromDigest({ ...d, tags: ['AAAA'] }), /8 bytes/)
  t.equal(MAX_ELEMENTS, 10_000)
})

t.test('a batch holds at most 10,000 distinct values (duplicates count once)', async (t) => {
  const many = Array.from({ length: MAX_ELEMENTS + 1 }, (_, i) => `user${i}@example.org`)
  t.throws(() => prepareScreening('email', many), /at most 10000 distinct values/)
})
