import countries from 'i18n-iso-countries'

/** ISO 3166-1 alpha-2, upper case, assigned (XK for Kosovo is accepted, as EU institutions use it). */
export function isCountryCode(code: string): boolean {
  return /^[A-Z]{2}$/.test(code) && countries.isValid(code)
}
