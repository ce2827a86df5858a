import { parsePhoneNumberFromString } from 'libphonenumber-js/max'
import { fail, ok, type Result } from './result.js'

/**
 * Phone numbers are normalised to E.164 ("+4930901820") so that every
 * national formatting ("030 901820", "+49 (0)30 90 18 20") of one line
 * matches. We require the international form (leading "+" or "00") because a
 * number without a country code is ambiguous across the partner countries.
 *
 * The "max" metadata is used so isValid() checks real number ranges per
 * country, not just plausible lengths.
 */

/*
 * Only phone-number characters. This also keeps libphonenumber from
 * "extracting" a number out of surrounding prose, and rejects extensions
 * ("ext. 12"), which E.164 cannot represent.
 */
const PHONE_CHARS = /^[+0-9 ()./\-\u00A0]+$/

export function normalizePhone(value: string): Result {
  if (!PHONE_CHARS.test(value)) {
    return fail('phone number may contain only digits, spaces and + ( ) - . / (no extensions)')
  }
  let v = value
  if (v.startsWith('00')) v = `+${v.slice(2)}`
  else if (!v.startsWith('+')) return fail('phone number must be in international format (leading + or 00)')
  const parsed = parsePhoneNumberFromString(v, { extract: false })
  if (parsed === undefined || !parsed.isValid()) return fail('not a valid international phone number')
  return ok(parsed.number)
}
