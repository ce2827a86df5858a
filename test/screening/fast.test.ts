import { randomBytes } from 'node:crypto'
import t from 'tap'
import { expandMessageXmd64, loadFastOprf, MAX_BATCH } from '../../src/screening/fast.js'
import { blind, blindEvaluate, evaluate, finalize, generateKeyPair } from '../../src/screening/oprf.js'
import { hex, toHex, VOPRF_KEY, VOPRF_VECTORS } from './vectors.js'

const fast = await loadFastOprf()
const key = { secretKey: hex(VOPRF_KEY.skSm), publicKey: hex(VOPRF_KEY.pkSm) }

for (const v of VOPRF_VECTORS) {
  t.test(`fast path on RFC 9497 ${v.name}`, async (t) => {
    const res = fast.blindEvaluate(key, v.blindedElement.map(hex), hex(v.proofRandomScalar))
    t.same(res.evaluated.map(toHex), v.evaluationElement, 'EvaluationElement')
    t.equal(toHex(res.proof), v.proof, 'Proof')
    t.same(
      v.input.map((i) => toHex(fast.evaluate(key.secretKey, hex(i)))),
      v.output,
      'Evaluate',
    )
  })
}

t.test('fast path agrees with noble on random keys, inputs and batches', async (t) => {
  for (const size of [1, 2, 7, 64, 120]) {
    const keys = generateKeyPair()
    const states = Array.from({ length: size }, (_, i) => blind(new Uint8Array(randomBytes(i % 40))))
    const blinded = states.map((s) => s.blinded)
    const r = blind(new Uint8Array(0)).blind // any non-zero scalar, reused as the proof's randomness
    const a = fast.blindEvaluate(keys, blinded, r)
    const b = blindEvaluate(keys.secretKey, keys.publicKey, blinded, r)
    t.same(a.evaluated.map(toHex), b.evaluated.map(toHex), `evaluated, batch of ${size}`)
    t.equal(toHex(a.proof), toHex(b.proof), `proof, batch of ${size}`)
    // with its own randomness the fast proof still verifies in the client's (noble) finalize
    const own = fast.blindEvaluate(keys, blinded)
    const outputs = finalize(states, own.evaluated, keys.publicKey, own.proof)
    t.same(
      outputs.map(toHex),
      states.map((s) => toHex(evaluate(keys.secretKey, s.input))),
      'finalized outputs = noble Evaluate',
    )
    t.same(
      states.map((s) => toHex(fast.evaluate(keys.secretKey, s.input))),
      outputs.map(toHex),
      'fast Evaluate = finalized outputs',
    )
  }
})

t.test('fast path rejects bad batches', async (t) => {
  const keys = generateKeyPair()
  const good = blind(new Uint8Array([1])).blinded
  t.throws(() => fast.blindEvaluate(keys, []), RangeError)
  t.throws(() => fast.blindEvaluate(keys, [good, new Uint8Array(32)]), /element 1/)
  t.throws(() => fast.blindEvaluate(keys, [new Uint8Array(32).fill(0xff)]), /element 0/)
  t.throws(() => fast.blindEvaluate(keys, [good.subarray(0, 31)]), /element 0/)
  t.throws(
    () =>
      fast.blindEvaluate(
        keys,
        Array.from({ length: MAX_BATCH + 1 }, () => good),
      ),
    RangeError,
  )
  t.throws(() => fast.blindEvaluate({ ...keys, secretKey: new Uint8Array(31) }, [good]), /secret key/)
  t.throws(() => fast.blindEvaluate({ ...keys, secretKey: new Uint8Array(32) }, [good]), /secret key/)
  t.throws(() => fast.blindEvaluate({ ...keys, secretKey: new Uint8Array(32).fill(0xff) }, [good]), /canonical/)
  t.throws(() => fast.blindEvaluate({ ...keys, publicKey: generateKeyPair().publicKey }, [good]), /public key/)
  t.throws(() => fast.blindEvaluate(keys, [good], new Uint8Array(32)), /proof random scalar/)
  t.throws(() => fast.evaluate(new Uint8Array(32), new Uint8Array(1)), /secret key/)
})

t.test('expand_message_xmd over libsodium SHA-512 = noble (RFC 9380)', async (t) => {
  const { expand_message_xmd } = await import('@noble/curves/abstract/hash-to-curve.js')
  const { sha512 } = await import('@noble/hashes/sha2.js')
  for (const [msgLen, dstLen] of [
    [0, 1],
    [1, 40],
    [200, 255],
    [5000, 13],
  ] as const) {
    const msg = new Uint8Array(randomBytes(msgLen))
    const dst = new Uint8Array(randomBytes(dstLen))
    t.equal(toHex(expandMessageXmd64(msg, dst)), toHex(expand_message_xmd(msg, dst, 64, sha512)), `msg ${msgLen}, DST ${dstLen}`)
  }
  t.throws(() => expandMessageXmd64(new Uint8Array(1), new Uint8Array(256)), RangeError)
})
