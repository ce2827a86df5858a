// Keyset cursors: opaque base64url JSON of the last row's sort key. A cursor that fails to
// decode is a 400, never a 500 or an empty page.
import { AppError } from './errors.js'

export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

export function decodeCursor<T extends (string | number)[]>(cursor: string, shape: ('s' | 'n')[]): T {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown
    if (
      Array.isArray(v) &&
      v.length === shape.length &&
      v.every((x, i) => (shape[i] === 's' ? typeof x === 'string' && x.length < 200 : Number.isSafeInteger(x)))
    )
      return v as T
  } catch {
    /* fall through */
  }
  throw new AppError('validation', 'query.cursor: not a cursor this endpoint issued', [
    { name: 'query.cursor', reason: 'not a cursor this endpoint issued' },
  ])
}
