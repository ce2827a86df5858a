import t from 'tap'
import { blind, blindEvaluate, CONTEXT, deriveKeyPair, evaluate, finalize, generateKeyPair, oprfInput, publicKeyOf } from '../../src/screening/oprf.js'
import { hex, toHex, VOPRF_KEY, VOPRF_VECTORS } from './vectors.js'

t.test('context string is OPRFV1-\\x01-ristretto255-SHA512', async (t) => {
  t.equal(Buffer.from(CONTEXT).toString('latin1'), 'OPRFV1-\x01-ristretto255-SHA512')
})

t.test('DeriveKeyPair matches RFC 9497 A.1.2', async (t) => {
  const keys = deriveKeyPair(hex(VOPRF_KEY.seed), hex(VOPRF_KEY.keyInfo))
  t.equal(toHex(keys.secretKey), VOPRF_KEY.skSm)
  t.equal(toHex(keys.publicKey), VOPRF_KEY.pkSm)
  t.equal(toHex(publicKeyOf(keys.secretKey)), VOPRF_KEY.pkSm)
})

for (const v of VOPRF_VECTORS) {
  t.test(`RFC 9497 ristretto255-SHA512 VOPRF ${v.name}`, async (t) => {
    const sk = hex(VOPRF_KEY.skSm)
    const pk = hex(VOPRF_KEY.pkSm)
    const states = v.input.map((input, i) => blind(hex(input), hex(v.blind[i] as string)))
    t.same(
      states.map((s) => toHex(s.blinded)),
      v.blindedElement,
      'BlindedElement',
    )
    const res = blindEvaluate(
      sk,
      pk,
      states.map((s) => s.blinded),
      hex(v.proofRandomScalar),
    )
    t.same(res.evaluated.map(toHex), v.evaluationElement, 'EvaluationElement')
    t.equal(toHex(res.proof), v.proof, 'Proof')
    const outputs = finalize(states, res.evaluated, pk, res.proof)
    t.same(outputs.map(toHex), v.output, 'Output')
    t.same(
      v.input.map((input) => toHex(evaluate(sk, hex(input)))),
      v.output,
      'Evaluate (server side, no round trip)',
    )
  })
}

t.test('finalize rejects a wrong proof, a wrong key and swapped elements', async (t) => {
  const keys = generateKeyPair()
  const other = generateKeyPair()
  const states = [blind(oprfInput('email', 'a@example.org')), blind(oprfInput('email', 'b@example.org'))]
  const res = blindEvaluate(
    keys.secretKey,
    keys.publicKey,
    states.map((s) => s.blinded),
  )
  t.equal(res.proof.length, 64)
  t.equal(finalize(states, res.evaluated, keys.publicKey, res.proof).length, 2)
  t.throws(() => finalize(states, res.evaluated, other.publicKey, res.proof), /proof/)
  const bad = Uint8Array.from(res.proof)
  bad[0] = (bad[0] as number) ^ 1
  t.throws(() => finalize(states, res.evaluated, keys.publicKey, bad))
  t.throws(() => finalize(states, [...res.evaluated].reverse(), keys.publicKey, res.proof), /proof/)
  // a server evaluating with another key than the one it published is caught
  const cheat = blindEvaluate(
    other.secretKey,
    keys.publicKey,
    states.map((s) => s.blinded),
  )
  t.throws(() => finalize(states, cheat.evaluated, keys.publicKey, cheat.proof), /proof/)
  t.throws(() => finalize(states.slice(1), res.evaluated, keys.publicKey, res.proof), /match/)
})

t.test('blindEvaluate rejects the identity and malformed elements', async (t) => {
  const keys = generateKeyPair()
  t.throws(() => blindEvaluate(keys.secretKey, keys.publicKey, [new Uint8Array(32)]))
  t.throws(() => blindEvaluate(keys.secretKey, keys.publicKey, [new Uint8Array(32).fill(0xff)]))
  t.throws(() => blindEvaluate(keys.secretKey, keys.publicKey, []))
})

t.test('oprfInput: <type>:<value>, type validated', async (t) => {
  t.equal(Buffer.from(oprfInput('postal_item', 'RR123456785DE')).toString('utf8'), 'postal_item:RR123456785DE')
  t.equal(Buffer.from(oprfInput('vendor_alias', 'ünï')).toString('utf8'), 'vendor_alias:ünï')
  for (const bad of ['', 'Email', 'e-mail', 'email:x', 'ema il', 'émail', 'a1']) {
    t.throws(() => oprfInput(bad, 'x'), RangeError, JSON.stringify(bad))
  }
  t.throws(() => oprfInput('url', 'x'.repeat(0x10000)), RangeError)
  const keys = generateKeyPair()
  t.not(toHex(evaluate(keys.secretKey, oprfInput('email', 'x'))), toHex(evaluate(keys.secretKey, oprfInput('domain', 'x'))))
})
