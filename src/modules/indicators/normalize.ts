/**
 * Validation and normalisation of DCX risk indicators.
 *
 * Every indicator is stored and matched by its normalised value, so two
 * agencies reporting the same onion service, wallet or parcel number in
 * different spellings get a match. Validation happens here (and only here)
 * so that junk such as mistyped addresses never enters the exchange.
 *
 * Pure functions: no I/O, and normalizeIndicator never throws, whatever string
 * it is given — invalid input yields `{ ok: false, reason }` for a 400 response.
 */
import { normalizeCryptoAddress } from './validators/crypto.js'
import { normalizeFileHash, normalizePgpFingerprint } from './validators/hex.js'
import { normalizeDomain, normalizeEmail, normalizeUrl } from './validators/net.js'
import { normalizeOnionUrl } from './validators/onion.js'
import { normalizePhone } from './validators/phone.js'
import { fail, type Invalid, type Normalized } from './validators/result.js'
import { normalizePostalItem } from './validators/s10.js'
import {
  type ControlPolicy,
  controlCharReason,
  foldInvisible,
  hasLoneSurrogate,
  normalizeFoldedText,
  normalizeShippingPattern,
  normalizeVendorAlias,
} from './validators/text.js'

export type { Invalid, Normalized } from './validators/result.js'
export { foldInvisible, INVISIBLE_CHARACTERS } from './validators/text.js'

export const INDICATOR_TYPES = [
  'onion_url',
  'url',
  'domain',
  'crypto_address',
  'email',
  'phone',
  'pgp_fingerprint',
  'vendor_alias',
  'postal_item',
  'postal_address',
  'person_name',
  'file_hash',
  'shipping_pattern',
] as const

export type IndicatorType = (typeof INDICATOR_TYPES)[number]

/** types that hold personal data */
export const PERSONAL_DATA_TYPES: ReadonlySet<IndicatorType> = new Set<IndicatorType>(['postal_address', 'person_name', 'email', 'phone'])

type Rule = {
  validate: (trimmed: string) => Normalized | Invalid
  /** Maximum length in UTF-16 code units, applied to the raw input and to the normalised value. */
  maxLength: number
  controls: ControlPolicy
  /** Fold invisible characters (foldInvisible) out of the whole value first; e-mail folds its local part itself. */
  foldInvisible?: true
}

const DEFAULT_MAX = 2048
const LONG_TEXT_MAX = 4000

const RULES: Record<IndicatorType, Rule> = {
  onion_url: { validate: normalizeOnionUrl, maxLength: DEFAULT_MAX, controls: 'none' },
  url: { validate: normalizeUrl, maxLength: DEFAULT_MAX, controls: 'none' },
  domain: { validate: normalizeDomain, maxLength: DEFAULT_MAX, controls: 'none' },
  crypto_address: { validate: normalizeCryptoAddress, maxLength: DEFAULT_MAX, controls: 'none' },
  email: { validate: normalizeEmail, maxLength: DEFAULT_MAX, controls: 'none' },
  phone: { validate: normalizePhone, maxLength: DEFAULT_MAX, controls: 'none', foldInvisible: true },
  pgp_fingerprint: { validate: normalizePgpFingerprint, maxLength: DEFAULT_MAX, controls: 'none' },
  vendor_alias: { validate: normalizeVendorAlias, maxLength: DEFAULT_MAX, controls: 'none', foldInvisible: true },
  postal_item: { validate: normalizePostalItem, maxLength: DEFAULT_MAX, controls: 'none' },
  postal_address: {
    validate: normalizeFoldedText('postal address'),
    maxLength: LONG_TEXT_MAX,
    controls: 'whitespace',
    foldInvisible: true,
  },
  person_name: { validate: normalizeFoldedText('person name'), maxLength: DEFAULT_MAX, controls: 'whitespace', foldInvisible: true },
  file_hash: { validate: normalizeFileHash, maxLength: DEFAULT_MAX, controls: 'none' },
  shipping_pattern: { validate: normalizeShippingPattern, maxLength: LONG_TEXT_MAX, controls: 'tab-newline', foldInvisible: true },
}

function isIndicatorType(type: unknown): type is IndicatorType {
  return typeof type === 'string' && Object.hasOwn(RULES, type)
}

export function normalizeIndicator(type: IndicatorType, value: string): Normalized | Invalid {
  try {
    // Defensive: callers in plain JS (or a mis-typed JSON body) may pass anything.
    if (!isIndicatorType(type)) return fail('unknown indicator type')
    if (typeof value !== 'string') return fail('value must be a string')
    const rule = RULES[type]
    // Length first, on the raw input, so no validator ever runs on huge input.
    if (value.length > rule.maxLength) return fail(`value is longer than ${rule.maxLength} characters`)
    if (value.includes('\u0000')) return fail('value contains NUL characters')
    if (hasLoneSurrogate(value)) return fail('value contains invalid Unicode (unpaired surrogate)')
    // Browsers submit textarea line breaks as CRLF; for the one layout-preserving type treat it as LF.
    const unixed = type === 'shipping_pattern' ? value.replace(/\r\n/g, '\n') : value
    // Invisible characters must not split one value into two (`Mare\u200Bk` is `Marek`).
    const visible = rule.foldInvisible ? foldInvisible(unixed) : unixed
    // Leading/trailing whitespace (incl. a stray newline from copy-paste) is trimmed before any check.
    const trimmed = visible.trim()
    if (trimmed === '') return fail('value is empty')
    const control = controlCharReason(trimmed, rule.controls)
    if (control !== null) return fail(control)
    const result = rule.validate(trimmed)
    if (!result.ok) return result
    // NFKC can expand text (e.g. U+FDFA); the stored value must itself pass validation again.
    if (result.normalizedValue.length > rule.maxLength) return fail('value is too long after normalisation')
    if (result.normalizedValue === '') return fail('value is empty after normalisation')
    return result
  } catch {
    // Last line of defence for the "never throws" contract; every known failure has its own reason above.
    return fail('value could not be parsed')
  }
}

/**
 * Types tried for an untyped match request. Free-text types are left out:
 * shipping_pattern, person_name and postal_address would accept nearly any
 * string and produce noisy matches. vendor_alias IS included (and also
 * accepts nearly anything) because aliases are the most common untyped query.
 */
const UNTYPED_CANDIDATES: readonly IndicatorType[] = INDICATOR_TYPES.filter((t) => t !== 'shipping_pattern' && t !== 'person_name' && t !== 'postal_address')

/**
 * For a match request with no type: every (type, normalizedValue) under which
 * the raw value is valid, in INDICATOR_TYPES order, without duplicates.
 */
export function candidateTypes(value: string): Array<{ type: IndicatorType; normalizedValue: string }> {
  const out: Array<{ type: IndicatorType; normalizedValue: string }> = []
  const seen = new Set<string>()
  for (const type of UNTYPED_CANDIDATES) {
    const r = normalizeIndicator(type, value)
    if (!r.ok) continue
    const key = `${type}\u0000${r.normalizedValue}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push({ type, normalizedValue: r.normalizedValue })
  }
  return out
}
