/**
 * The wire format of oblivious screening (DESIGN.md §8): every byte string is base64url
 * without padding; tags are the first 8 bytes of the 64-byte OPRF output. Shared by the
 * client library and the server so both ends decode the same way, strictly.
 */
import { MODE, OUTPUT_BYTES, SUITE } from './oprf.js'

export const TAG_BYTES = 8
/** Blinded elements per evaluate call, at most. */
export const MAX_EVALUATE_ELEMENTS = 10_000

export type KeysEntry = { suite: typeof SUITE; mode: typeof MODE; epoch: number; publicKey: string; notAfter: string }
export type DigestMessage = { epoch: number; type: string; tagBytes: typeof TAG_BYTES; tags: string[] }
export type EvaluateRequest = { epoch: number; type: string; elements: string[] }
export type EvaluateResponse = { epoch: number; evaluated: string[]; proof: string }
export type ResolveRequest = { epoch: number; type: string; tags: string[] }

const B64URL = /^[A-Za-z0-9_-]*$/

export function toBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}

/** Strict: only the base64url alphabet, no padding, canonical (re-encodes to the same text), and of `length` bytes when given. */
export function fromBase64url(text: unknown, label: string, length?: number): Uint8Array {
  if (typeof text !== 'string' || !B64URL.test(text) || text.length % 4 === 1) throw new RangeError(`${label} is not base64url without padding`)
  const bytes = new Uint8Array(Buffer.from(text, 'base64url'))
  if (toBase64url(bytes) !== text) throw new RangeError(`${label} is not canonical base64url`)
  if (length !== undefined && bytes.length !== length) throw new RangeError(`${label} must be ${length} bytes, got ${bytes.length}`)
  return bytes
}

/** A holding's or a client's tag: the first TAG_BYTES of the OPRF output. */
export function tagOf(output: Uint8Array): Uint8Array {
  if (output.length !== OUTPUT_BYTES) throw new RangeError(`an OPRF output is ${OUTPUT_BYTES} bytes`)
  return output.slice(0, TAG_BYTES)
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return a.length - b.length
}

/** The digest message for a set of tags (the server's side): sorted bytewise, duplicates dropped, no ids. */
export function encodeDigest(epoch: number, type: string, tags: Uint8Array[]): DigestMessage {
  const sorted = [...tags].sort(compareBytes)
  const unique = sorted.filter((t, i) => i === 0 || compareBytes(t, sorted[i - 1] as Uint8Array) !== 0)
  return { epoch, type, tagBytes: TAG_BYTES, tags: unique.map(toBase64url) }
}

/**
 * The client's view of a digest: the tags packed into one buffer, sorted, looked up by
 * binary search (8 bytes a tag in memory; 100k holdings are 800 kB).
 */
export class TagSet {
  private constructor(
    private readonly packed: Uint8Array,
    readonly size: number,
  ) {}

  static fromDigest(digest: DigestMessage): TagSet {
    if (digest.tagBytes !== TAG_BYTES) throw new RangeError(`digest tags must be ${TAG_BYTES} bytes`)
    if (!Array.isArray(digest.tags)) throw new RangeError('digest tags must be an array')
    const packed = new Uint8Array(digest.tags.length * TAG_BYTES)
    digest.tags.forEach((t, i) => packed.set(fromBase64url(t, `digest tag ${i}`, TAG_BYTES), i * TAG_BYTES))
    const set = new TagSet(packed, digest.tags.length)
    for (let i = 1; i < set.size; i++) {
      if (compareBytes(set.at(i - 1), set.at(i)) >= 0) throw new RangeError('digest tags must be sorted and unique')
    }
    return set
  }

  private at(i: number): Uint8Array {
    return this.packed.subarray(i * TAG_BYTES, (i + 1) * TAG_BYTES)
  }

  has(tag: Uint8Array): boolean {
    if (tag.length !== TAG_BYTES) return false
    let lo = 0
    let hi = this.size - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const c = compareBytes(this.at(mid), tag)
      if (c === 0) return true
      if (c < 0) lo = mid + 1
      else hi = mid - 1
    }
    return false
  }
}
