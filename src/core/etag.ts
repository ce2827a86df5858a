// Optimistic concurrency: the ETag is the row version; If-Match must name the current one.
import { AppError } from './errors.js'

export const etag = (version: number) => `"${version}"`

/** What If-Match may be (openapi.yaml says the same): the quoted version, optionally weak. */
export const ETAG_PATTERN = '^\\s*(?:W/)?"(\\d{1,9})"\\s*$'
const ETAG_RE = new RegExp(ETAG_PATTERN)

/** The version a client expects, from If-Match; undefined when the header is absent. */
export function ifMatchVersion(header: string | undefined): number | undefined {
  if (header === undefined) return undefined
  const m = ETAG_RE.exec(header)
  if (!m) {
    throw new AppError('validation', 'header.if-match: send the ETag from a previous response, e.g. "3"', [
      { name: 'header.if-match', reason: 'not an ETag this API issued' },
    ])
  }
  return Number(m[1])
}

export function preconditionFailed(current: number): AppError {
  return new AppError('precondition_failed', `The resource has changed (now version ${current}); fetch it again and retry.`, undefined, {
    etag: etag(current),
  })
}
