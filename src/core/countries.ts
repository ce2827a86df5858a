import countries from 'i18n-iso-countries'

/** ISO 3166-1 alpha-2, upper case, assigned (XK for Kosovo is accepted, as EU institutions use it). */
export function isCountryCode(code: string): boolean {
  return /^[A-Z]{2}$/.test(code) && countries.isValid(code)
}

/**
 * Codes partners often send that ISO 3166-1 does not assign, with the code meant. UK and EL are the
 * EU's own abbreviations (Interinstitutional Style Guide) for the United Kingdom and Greece.
 */
const COMMON_MISTAKES: Record<string, string> = { UK: 'GB', EL: 'GR' }

/** Why a country code is refused (the one rule for every field and filter), or null when it is assigned. */
export function countryCodeProblem(code: string): string | null {
  if (isCountryCode(code)) return null
  const meant = COMMON_MISTAKES[code.toUpperCase()]
  return `not an assigned ISO 3166-1 alpha-2 code${meant ? ` (${code.toUpperCase()} → use ${meant})` : ''}`
}
