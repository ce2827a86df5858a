import { fail, ok, type Result } from './result.js'

/**
 * Generic text hygiene plus the free-text indicator types
 * (vendor_alias, person_name, postal_address, shipping_pattern).
 */

/**
 * Inside a `u` regex a well-formed surrogate pair is read as one code point,
 * so \p{Cs} only matches *unpaired* surrogates. Those cannot be encoded as
 * UTF-8 (Postgres would reject them) and are a classic matching-evasion trick.
 */
const LONE_SURROGATE = /\p{Cs}/u

export function hasLoneSurrogate(value: string): boolean {
  return LONE_SURROGATE.test(value)
}

/**
 * Characters that render as nothing (or only steer the rendering of their neighbours), so two
 * values that look the same differ only by them — a classic way to dodge exact matching:
 * zero-width space / non-joiner / joiner (U+200B–U+200D), word joiner (U+2060) and the invisible
 * operators (U+2061–U+2064), soft hyphen (U+00AD), BOM / zero-width no-break space (U+FEFF),
 * combining grapheme joiner (U+034F), Mongolian vowel separator (U+180E), the bidi controls
 * (ALM U+061C, LRM/RLM U+200E/U+200F, embeddings and overrides U+202A–U+202E, isolates
 * U+2066–U+2069, and the deprecated format controls U+206A–U+206F), and the variation selectors
 * (U+FE00–U+FE0F, U+E0100–U+E01EF).
 *
 * The list is explicit (not \p{Default_Ignorable_Code_Point}, whose extent changes with the
 * Unicode version of the engine) so that a client in any language folds exactly the same set.
 */
export const INVISIBLE_CHARACTERS =
  // The class lists combining and joining code points on purpose: they are what it removes.
  // eslint-disable-next-line no-misleading-character-class
  /[\u00AD\u034F\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFE00-\uFE0F\uFEFF\u{E0100}-\u{E01EF}]/gu

/**
 * The canonicaliser's invisible-character fold: removes every INVISIBLE_CHARACTERS code point.
 * Applied by normalizeIndicator() to the free-text types (vendor_alias, person_name,
 * postal_address, shipping_pattern) and phone numbers, and to e-mail local parts, before any
 * other step; a client that computes normalised values (e.g. for oblivious screening) must apply
 * it the same way.
 */
export function foldInvisible(value: string): string {
  return value.replace(INVISIBLE_CHARACTERS, '')
}

/** Which control characters a type tolerates (they are folded away or kept by the type). */
export type ControlPolicy = 'none' | 'whitespace' | 'tab-newline'

/* C0 (U+0000-U+001F), DEL (U+007F) and C1 (U+0080-U+009F). */
const CONTROL: Record<ControlPolicy, RegExp> = {
  none: /[\u0000-\u001F\u007F-\u009F]/,
  // person_name / postal_address: tab, LF and CR are whitespace that gets folded to a space.
  whitespace: /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/,
  // shipping_pattern: tab and LF are meaningful layout and are kept as-is.
  'tab-newline': /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/,
}

/** Returns a reason naming the first offending control character, or null. */
export function controlCharReason(value: string, policy: ControlPolicy): string | null {
  const m = CONTROL[policy].exec(value)
  if (!m) return null
  const cp = m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')
  return `value contains a control character (U+${cp})`
}

/**
 * NFKC + lower-case + whitespace folding, iterated to a fixed point.
 *
 * NFKC folds compatibility look-alikes (full-width letters, ligatures, ℌ, ①…)
 * that vendors use to dodge exact matching. `toLowerCase()` after NFKC is our
 * case-fold: locale-independent and close to Unicode case folding. Known
 * differences from full folding: ß stays ß (not "ss"), and a word-final Σ
 * becomes ς (so "ΟΔΟΣ" matches "οδος" but not "οδοσ"). Lower-casing can
 * in rare cases produce a sequence that NFKC changes again, so we iterate
 * until the value is stable; that guarantees normalisation is idempotent.
 * Returns null in the (theoretical) case that it does not converge.
 */
export function foldText(value: string): string | null {
  const step = (s: string): string => s.normalize('NFKC').toLowerCase().normalize('NFKC').replace(/\s+/gu, ' ').trim()
  let cur = value
  for (let i = 0; i < 5; i++) {
    const next = step(cur)
    if (next === cur) return cur
    cur = next
  }
  return null
}

const ALIAS_MAX = 200

export function normalizeVendorAlias(value: string): Result {
  const folded = foldText(value)
  if (folded === null) return fail('vendor alias could not be normalised stably')
  if (folded === '') return fail('vendor alias is empty after normalisation')
  // Count code points, not UTF-16 units, so emoji/CJK aliases are not penalised.
  if ([...folded].length > ALIAS_MAX) return fail(`vendor alias must be at most ${ALIAS_MAX} characters`)
  return ok(folded)
}

/** person_name and postal_address: folded to one line so formatting differences do not defeat matching. */
export function normalizeFoldedText(label: string): (value: string) => Result {
  return (value) => {
    const folded = foldText(value)
    if (folded === null) return fail(`${label} could not be normalised stably`)
    if (folded === '') return fail(`${label} is empty after normalisation`)
    return ok(folded)
  }
}

/**
 * shipping_pattern is descriptive free text (e.g. "vacuum-sealed inside a DVD
 * case\n- return address: ..."), so layout is kept; only NFC is applied so
 * that visually identical text is byte-identical. CRLF has already been
 * turned into LF by the caller (browsers submit textareas with CRLF).
 */
export function normalizeShippingPattern(value: string): Result {
  const v = value.normalize('NFC').trim()
  if (v === '') return fail('shipping pattern is empty')
  return ok(v)
}
