// Keyset cursors: opaque base64url JSON of the last row's sort key. A cursor that fails to
// decode is a 400, never a 500 or an empty page.
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
  throw new AppError('validation', 'query.cursor: not a cursor this endpoint issued', [
    { name: 'query.cursor', reason: 'not a cursor this endpoint issued' },
  ])
}
