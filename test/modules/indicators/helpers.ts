import { type IndicatorType, normalizeIndicator } from '../../../src/modules/indicators/normalize.js'

/** The few tap assertions the table-driven helpers need (keeps them independent of tap's plugin generics). */
export interface Asserts {
  strictSame(found: unknown, wanted: unknown, message: string): boolean
  equal(found: unknown, wanted: unknown, message: string): boolean
  match(found: unknown, pattern: RegExp, message: string): boolean
}

/** [input, expected normalised value, expected network?] */
export type ValidCase = readonly [string, string, string?]
/** [input, regexp the reason must match] */
export type InvalidCase = readonly [string, RegExp]

export function expectValid(t: Asserts, type: IndicatorType, cases: readonly ValidCase[]): void {
  for (const [input, normalizedValue, network] of cases) {
    const want = network === undefined ? { ok: true, normalizedValue } : { ok: true, normalizedValue, network }
    t.strictSame(normalizeIndicator(type, input), want, `${type} valid: ${JSON.stringify(input).slice(0, 80)}`)
  }
}

export function expectInvalid(t: Asserts, type: IndicatorType, cases: readonly InvalidCase[]): void {
  for (const [input, reason] of cases) {
    const r = normalizeIndicator(type, input)
    const label = `${type} invalid: ${JSON.stringify(input).slice(0, 80)}`
    t.equal(r.ok, false, label)
    t.match(r.ok ? '(accepted)' : r.reason, reason, `${label} -> reason`)
  }
}
