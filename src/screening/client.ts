/**
 * The partner's side of oblivious screening (DESIGN.md §8): canonicalise each value with
 * DCX's own normaliser, blind the batch, send the blinded elements, verify the server's
 * batch proof against its published key, finalize, truncate to tags and look them up in
 * the digest. Only local hits (and only their tags) go back to the server, to resolve.
 *
 * const batch = prepareScreening('postal_item', manifest)
 * const answer = await post('/v1/screening/evaluate', batch.request(key.epoch))
 * const { hits } = completeScreening(batch, key, answer, digest)
 * if (hits.length) await post('/v1/screening/resolve', resolveRequest(key.epoch, batch.type, hits))
 */
import { INDICATOR_TYPES, type IndicatorType, normalizeIndicator } from '../modules/indicators/normalize.js'
import { type BlindState, blind, ELEMENT_BYTES, finalize, MODE, oprfInput, PROOF_BYTES, SUITE } from './oprf.js'
import {
  type DigestMessage,
  type EvaluateRequest,
  type EvaluateResponse,
  fromBase64url,
  type KeysEntry,
  MAX_EVALUATE_ELEMENTS,
  type ResolveRequest,
  TagSet,
  tagOf,
  toBase64url,
} from './wire.js'

/** The server's limit per evaluate call. */
export const MAX_ELEMENTS = MAX_EVALUATE_ELEMENTS

export type Canonical = { ok: true; normalizedValue: string } | { ok: false; reason: string }

/** The same normalisation the server stores and matches by (normalizeIndicator), folding invisible characters. */
export function canonicalise(type: string, value: string): Canonical {
  if (!(INDICATOR_TYPES as readonly string[]).includes(type)) return { ok: false, reason: 'unknown indicator type' }
  const n = normalizeIndicator(type as IndicatorType, value)
  return n.ok ? { ok: true, normalizedValue: n.normalizedValue } : { ok: false, reason: n.reason }
}

export type ScreeningItem = {
  normalizedValue: string
  /** Every input value that canonicalised to normalizedValue (one element is sent for all). */
  values: string[]
  state: BlindState
}

export type ScreeningBatch = {
  type: string
  items: ScreeningItem[]
  /** Values left out, with the normaliser's reason. */
  invalid: Array<{ value: string; reason: string }>
  request(epoch: number): EvaluateRequest
}

export type ScreeningHit = { values: string[]; normalizedValue: string; tag: string }
export type ScreeningResult = { screened: number; hits: ScreeningHit[] }

/** Canonicalise and blind a list of values of one type (duplicates after normalisation are sent once). */
export function prepareScreening(type: string, values: readonly string[]): ScreeningBatch {
  if (!(INDICATOR_TYPES as readonly string[]).includes(type)) throw new RangeError(`unknown indicator type ${JSON.stringify(type)}`)
  const byValue = new Map<string, string[]>()
  const invalid: ScreeningBatch['invalid'] = []
  for (const value of values) {
    const c = canonicalise(type, value)
    if (!c.ok) invalid.push({ value, reason: c.reason })
    else {
      const same = byValue.get(c.normalizedValue)
      if (same) same.push(value)
      else byValue.set(c.normalizedValue, [value])
    }
  }
  // checked before blinding, which is the costly part (about 1 ms a value)
  if (byValue.size > MAX_ELEMENTS) throw new RangeError(`at most ${MAX_ELEMENTS} distinct values per batch, got ${byValue.size}: split the list`)
  const items = [...byValue].map(([normalizedValue, same]) => ({ normalizedValue, values: same, state: blind(oprfInput(type, normalizedValue)) }))
  return {
    type,
    items,
    invalid,
    request: (epoch) => ({ epoch, type, elements: items.map((i) => toBase64url(i.state.blinded)) }),
  }
}

/**
 * Verify the server's answer (throws if the proof does not hold for `key.publicKey`, or if epochs
 * or counts disagree), finalize, and look every tag up in the digest: the local hits.
 */
export function completeScreening(
  batch: ScreeningBatch,
  key: Pick<KeysEntry, 'epoch' | 'publicKey' | 'suite' | 'mode'>,
  response: EvaluateResponse,
  digest: DigestMessage,
): ScreeningResult {
  if (key.suite !== SUITE || key.mode !== MODE) throw new RangeError(`unsupported suite ${key.suite}/${key.mode}`)
  if (response.epoch !== key.epoch || digest.epoch !== key.epoch) throw new RangeError('key, answer and digest are of different epochs')
  if (digest.type !== batch.type) throw new RangeError(`digest is for ${digest.type}, batch for ${batch.type}`)
  if (!Array.isArray(response.evaluated) || response.evaluated.length !== batch.items.length) {
    throw new RangeError('the answer does not hold one evaluated element per blinded element')
  }
  const publicKey = fromBase64url(key.publicKey, 'publicKey', ELEMENT_BYTES)
  const proof = fromBase64url(response.proof, 'proof', PROOF_BYTES)
  const evaluated = response.evaluated.map((e, i) => fromBase64url(e, `evaluated ${i}`, ELEMENT_BYTES))
  const outputs = finalize(
    batch.items.map((i) => i.state),
    evaluated,
    publicKey,
    proof,
  )
  const tags = TagSet.fromDigest(digest)
  const hits: ScreeningHit[] = []
  outputs.forEach((output, i) => {
    const tag = tagOf(output)
    const item = batch.items[i] as ScreeningItem
    if (tags.has(tag)) hits.push({ values: item.values, normalizedValue: item.normalizedValue, tag: toBase64url(tag) })
  })
  return { screened: batch.items.length, hits }
}

/** The resolve body for the local hits (tags only). */
export function resolveRequest(epoch: number, type: string, hits: readonly ScreeningHit[]): ResolveRequest {
  return { epoch, type, tags: hits.map((h) => h.tag) }
}
