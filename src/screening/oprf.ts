/**
 * RFC 9497 VOPRF (mode 0x01), suite ristretto255-SHA512, over @noble/curves.
 *
 * This is the reference implementation of oblivious screening: the client
 * library (blind, finalize) uses it as is, and the server's hot path
 * (src/screening/fast.ts) must agree with it byte for byte. Every byte string
 * is a Uint8Array here; the wire encoding (base64url) lives in wire.ts.
 *
 * OPRF input: the UTF-8 of `<type>:<normalizedValue>` (see oprfInput), so the
 * same text under two indicator types gives two unrelated outputs.
 */
import { ristretto255, ristretto255_hasher, ristretto255_oprf } from '@noble/curves/ed25519.js'
import { numberToBytesLE } from '@noble/curves/utils.js'
import { sha512 } from '@noble/hashes/sha2.js'

export const SUITE = 'ristretto255-SHA512'
export const MODE = 'voprf'
/** Serialized element (Ne) and scalar (Ns) sizes, output size (Nh). */
export const ELEMENT_BYTES = 32
export const SCALAR_BYTES = 32
export const OUTPUT_BYTES = 64
export const PROOF_BYTES = 2 * SCALAR_BYTES
/** contextString = "OPRFV1-" || I2OSP(mode, 1) || "-" || identifier */
export const CONTEXT = new Uint8Array([...utf8('OPRFV1-'), 0x01, ...utf8(`-${SUITE}`)])
export const HASH_TO_GROUP_DST = new Uint8Array([...utf8('HashToGroup-'), ...CONTEXT])
export const HASH_TO_SCALAR_DST = new Uint8Array([...utf8('HashToScalar-'), ...CONTEXT])
/** OPRF inputs are length-prefixed with two bytes. */
export const MAX_INPUT_BYTES = 0xffff

const voprf = ristretto255_oprf.voprf
const Point = ristretto255.Point
const Fn = Point.Fn

export type KeyPair = { secretKey: Uint8Array; publicKey: Uint8Array }
export type BlindState = { input: Uint8Array; blind: Uint8Array; blinded: Uint8Array }
export type Evaluation = { evaluated: Uint8Array[]; proof: Uint8Array }

const TYPE_RE = /^[a-z_]+$/

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

/** The OPRF input of one indicator: UTF-8 of `<type>:<normalizedValue>`; throws on a malformed type or an oversize input. */
export function oprfInput(type: string, normalizedValue: string): Uint8Array {
  if (!TYPE_RE.test(type)) throw new RangeError(`screening type must match ${TYPE_RE}`)
  const input = utf8(`${type}:${normalizedValue}`)
  if (input.length > MAX_INPUT_BYTES) throw new RangeError(`OPRF input longer than ${MAX_INPUT_BYTES} bytes`)
  return input
}

/**
 * An RNG for noble that yields a chosen scalar: noble draws 48 bytes and maps them
 * to `(LE(bytes) mod (L - 1)) + 1`, so handing it LE(s - 1) gives back s exactly.
 * Only for reproducing fixed vectors (the RFC's Blind and ProofRandomScalar).
 */
function scalarRng(scalar: Uint8Array): (n?: number) => Uint8Array {
  const s = Fn.fromBytes(scalar)
  if (Fn.is0(s)) throw new RangeError('scalar must be non-zero')
  return (n = 48) => {
    if (n !== 48) throw new Error(`unexpected RNG request of ${n} bytes`)
    return numberToBytesLE(s - 1n, 48)
  }
}

export function generateKeyPair(): KeyPair {
  return voprf.generateKeyPair()
}

/** DeriveKeyPair(seed, info) of RFC 9497 §3.2.1 (seed: 32 bytes). */
export function deriveKeyPair(seed: Uint8Array, info: Uint8Array): KeyPair {
  return voprf.deriveKeyPair(seed, info)
}

/** The public key of a secret key (pkS = skS * G). */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return Point.BASE.multiply(Fn.fromBytes(secretKey)).toBytes()
}

/** Client: Blind(input); `blind` fixes the blinding scalar (test vectors only). */
export function blind(input: Uint8Array, fixedBlind?: Uint8Array): BlindState {
  const r = fixedBlind === undefined ? voprf.blind(input) : voprf.blind(input, scalarRng(fixedBlind))
  return { input, blind: r.blind, blinded: r.blinded }
}

/** Server: BlindEvaluateBatch — every element times skS, plus ONE batch DLEQ proof (64 bytes). */
export function blindEvaluate(secretKey: Uint8Array, publicKey: Uint8Array, blinded: Uint8Array[], proofRandomScalar?: Uint8Array): Evaluation {
  if (blinded.length === 0) throw new RangeError('no elements to evaluate')
  return proofRandomScalar === undefined
    ? voprf.blindEvaluateBatch(secretKey, publicKey, blinded)
    : voprf.blindEvaluateBatch(secretKey, publicKey, blinded, scalarRng(proofRandomScalar))
}

/** Client: verify the batch proof against pkS (throws if it fails), then unblind and hash each item: 64-byte outputs, same order. */
export function finalize(items: BlindState[], evaluated: Uint8Array[], publicKey: Uint8Array, proof: Uint8Array): Uint8Array[] {
  if (items.length !== evaluated.length) throw new RangeError('evaluated elements do not match the blinded batch')
  if (items.length === 0) return []
  return voprf.finalizeBatch(
    items.map((item, i) => ({ input: item.input, blind: item.blind, blinded: item.blinded, evaluated: evaluated[i] as Uint8Array })),
    publicKey,
    proof,
  )
}

/** What Finalize hashes: I2OSP(len(input), 2) || input || I2OSP(len(element), 2) || element || "Finalize". */
export function finalizeMessage(input: Uint8Array, element: Uint8Array): Uint8Array {
  const suffix = utf8('Finalize')
  const msg = new Uint8Array(2 + input.length + 2 + element.length + suffix.length)
  const view = new DataView(msg.buffer)
  view.setUint16(0, input.length)
  msg.set(input, 2)
  view.setUint16(2 + input.length, element.length)
  msg.set(element, 4 + input.length)
  msg.set(suffix, 4 + input.length + element.length)
  return msg
}

/** Server: Evaluate(skS, input) — the output a client would finalize, without the round trip (precomputing a holding's tag). */
export function evaluate(secretKey: Uint8Array, input: Uint8Array): Uint8Array {
  if (input.length > MAX_INPUT_BYTES) throw new RangeError(`OPRF input longer than ${MAX_INPUT_BYTES} bytes`)
  const element = ristretto255_hasher.hashToCurve(input, { DST: HASH_TO_GROUP_DST })
  if (element.equals(Point.ZERO)) throw new Error('input maps to the identity')
  return sha512(finalizeMessage(input, element.multiply(Fn.fromBytes(secretKey)).toBytes()))
}
