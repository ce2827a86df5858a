/**
 * The server's side of the wire (no routes yet): decode an evaluate body, answer it on the
 * fast path, and precompute holdings' tags for the digest. Values never reach the server in
 * screening; here they are the server's own holdings, already normalised.
 */
import type { FastKey, FastOprf } from './fast.js'
import { ELEMENT_BYTES, oprfInput } from './oprf.js'
import { type EvaluateRequest, type EvaluateResponse, fromBase64url, tagOf, toBase64url } from './wire.js'

export function answerEvaluate(fast: FastOprf, key: FastKey & { epoch: number }, body: EvaluateRequest): EvaluateResponse {
  if (body.epoch !== key.epoch) throw new RangeError(`epoch ${body.epoch} is not the key's (${key.epoch})`)
  if (!Array.isArray(body.elements)) throw new RangeError('elements must be an array')
  const blinded = body.elements.map((e, i) => fromBase64url(e, `element ${i}`, ELEMENT_BYTES))
  const { evaluated, proof } = fast.blindEvaluate(key, blinded)
  return { epoch: key.epoch, evaluated: evaluated.map(toBase64url), proof: toBase64url(proof) }
}

/** Tag = first 8 bytes of Evaluate(skS, "<type>:<normalizedValue>"). */
export function holdingTag(fast: FastOprf, secretKey: Uint8Array, type: string, normalizedValue: string): Uint8Array {
  return tagOf(fast.evaluate(secretKey, oprfInput(type, normalizedValue)))
}
