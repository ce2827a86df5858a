import { fail, ok, type Result } from './result.js'

/**
 * UPU S10 postal item identifiers, e.g. "RR 123 456 785 DE":
 *   2 letters (service indicator) + 8-digit serial + 1 check digit + 2 letters (ISO 3166-1 country).
 * The check digit lets us reject mistyped tracking numbers at submission time.
 *
 * The country code is checked for shape only (two letters), not against the
 * ISO 3166 list: posts occasionally use codes a static list would lag behind.
 */

const WEIGHTS = [8, 6, 4, 2, 3, 5, 9, 7] as const
const S10 = /^([A-Z]{2})([0-9]{8})([0-9])([A-Z]{2})$/

/** Check digit for an 8-digit serial: 11 - (weighted sum mod 11), with 10 -> 0 and 11 -> 5. */
export function s10CheckDigit(serial: string): number {
  let sum = 0
  WEIGHTS.forEach((w, i) => {
    sum += w * Number(serial[i])
  })
  const check = 11 - (sum % 11)
  if (check === 10) return 0
  if (check === 11) return 5
  return check
}

export function normalizePostalItem(value: string): Result {
  const v = value.replace(/\s+/gu, '').toUpperCase()
  const m = S10.exec(v)
  if (!m) return fail('postal item must be an S10 identifier: 2 letters, 9 digits, 2 letters (e.g. RR123456785DE)')
  const serial = m[2] ?? ''
  const expected = s10CheckDigit(serial)
  if (Number(m[3]) !== expected) return fail(`S10 check digit does not match (expected ${expected})`)
  return ok(v)
}
