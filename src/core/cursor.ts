// Keyset cursors: opaque base64url JSON of the last row's sort key. A cursor that fails to
// decode is a 400, never a 500 or an empty page. Where the sort key itself tells something (the
// change feed's transaction ids count everyone's writes), the cursor is sealed: see CursorSeal.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import { AppError } from './errors.js'

export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/

// 's' any short string, 'n' a safe integer, 't' an ISO timestamp, 'u' a UUID: a forged cursor
// with a value the column cannot hold must be a 400, not a database error.
function fits(x: unknown, kind: 's' | 'n' | 't' | 'u' | undefined): boolean {
  if (kind === 'n') return Number.isSafeInteger(x)
  if (typeof x !== 'string' || x.length >= 200) return false
  if (kind === 't') return ISO_TIME.test(x) && !Number.isNaN(Date.parse(x))
  if (kind === 'u') return UUID.test(x)
  return kind === 's'
}

export function decodeCursor<T extends (string | number)[]>(cursor: string, shape: ('s' | 'n' | 't' | 'u')[]): T {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown
    if (Array.isArray(v) && v.length === shape.length && v.every((x, i) => fits(x, shape[i]))) return v as T
  } catch {
    /* fall through */
  }
  throw notOurCursor()
}

const notOurCursor = () =>
  new AppError('validation', 'query.cursor: not a cursor this endpoint issued', [{ name: 'query.cursor', reason: 'not a cursor this endpoint issued' }])

const SEAL_VERSION = 1
const IV_BYTES = 12
const TAG_BYTES = 16

/**
 * Sealed cursors: a position (a few unsigned 64-bit integers) that the caller can neither read
 * nor forge, bound to whom it was issued to. AES-256-GCM under a key derived from DCX_MASTER_KEY
 * (so every node of one deployment opens every node's cursors); the nonce is synthetic — an HMAC
 * of the binding and the position under a second derived key — so one position always seals to
 * one cursor and no two different plaintexts ever share a nonce, however many cursors are issued.
 * The plaintext has a fixed size, so the cursor's length says nothing about the position either.
 *
 * Layout, base64url: version (1 byte) ‖ nonce (12) ‖ ciphertext (8 per integer) ‖ tag (16).
 * Anything else — another format, another binding, one altered bit, a non-canonical encoding —
 * is the same 400 as any cursor this endpoint did not issue.
 */
export class CursorSeal {
  private readonly encKey: Buffer
  private readonly ivKey: Buffer
  constructor(
    masterKey: string,
    private readonly purpose: string,
  ) {
    const derive = (label: string) => Buffer.from(hkdfSync('sha256', Buffer.from(masterKey, 'utf8'), Buffer.alloc(0), `dcx:cursor:${purpose}:${label}`, 32))
    this.encKey = derive('enc')
    this.ivKey = derive('iv')
  }

  private aad(boundTo: string): Buffer {
    return Buffer.from(`dcx:cursor:${this.purpose}:v${SEAL_VERSION}:${boundTo}`, 'utf8')
  }

  seal(position: readonly bigint[], boundTo: string): string {
    const plain = Buffer.alloc(8 * position.length)
    position.forEach((n, i) => plain.writeBigUInt64BE(n, 8 * i))
    const aad = this.aad(boundTo)
    const iv = createHmac('sha256', this.ivKey).update(aad).update(plain).digest().subarray(0, IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.encKey, iv).setAAD(aad)
    const body = Buffer.concat([cipher.update(plain), cipher.final()])
    return Buffer.concat([Buffer.from([SEAL_VERSION]), iv, body, cipher.getAuthTag()]).toString('base64url')
  }

  /** The position sealed in cursor for boundTo (size integers); a 400 naming query.cursor otherwise. */
  open(cursor: string, boundTo: string, size: number): bigint[] {
    const bytes = Buffer.from(cursor, 'base64url')
    // Buffer.from skips characters outside the alphabet: only the exact encoding we issue is ours.
    if (bytes.toString('base64url') !== cursor) throw notOurCursor()
    if (bytes.length !== 1 + IV_BYTES + 8 * size + TAG_BYTES || bytes[0] !== SEAL_VERSION) throw notOurCursor()
    const iv = bytes.subarray(1, 1 + IV_BYTES)
    const body = bytes.subarray(1 + IV_BYTES, bytes.length - TAG_BYTES)
    const aad = this.aad(boundTo)
    let plain: Buffer
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.encKey, iv).setAAD(aad)
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES))
      plain = Buffer.concat([decipher.update(body), decipher.final()])
    } catch {
      throw notOurCursor()
    }
    const expectedIv = createHmac('sha256', this.ivKey).update(aad).update(plain).digest().subarray(0, IV_BYTES)
    if (!timingSafeEqual(iv, expectedIv)) throw notOurCursor()
    return Array.from({ length: size }, (_, i) => plain.readBigUInt64BE(8 * i))
  }
}
