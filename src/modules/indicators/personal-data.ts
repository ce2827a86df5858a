// Which results consult personal data (DESIGN §7, "Justification"): an indicator of a
// personal-data type (PERSONAL_DATA_TYPES), for access/justification.ts.
import { candidateTypes, PERSONAL_DATA_TYPES } from './normalize.js'
import type { IndicatorType } from './normalize.js'

export const isPersonalType = (t: string | null | undefined): boolean => !!t && PERSONAL_DATA_TYPES.has(t as IndicatorType)

export const anyPersonal = (items: Iterable<{ type?: string | null | undefined } | null | undefined>): boolean => {
  for (const i of items) if (isPersonalType(i?.type)) return true
  return false
}

/**
 * Whether screening these values consults personal data: a value typed as a personal-data type,
 * or an untyped one that is valid as one (an email address or phone number: it is tried as that
 * type, so it is screened against personal data).
 */
export function screensPersonal(values: readonly { type?: string | undefined; value: string }[]): boolean {
  return values.some((v) => (v.type ? isPersonalType(v.type) : candidateTypes(v.value).some((c) => isPersonalType(c.type))))
}

/** Whether STIX objects (an export, a TAXII page) hold a DCX indicator of a personal-data type. */
export function stixPersonal(objects: Iterable<unknown>): boolean {
  for (const o of objects) {
    const exts = (o as { type?: string; extensions?: Record<string, { dcx_type?: unknown }> } | null)?.extensions
    if (!exts) continue
    for (const e of Object.values(exts)) if (typeof e?.dcx_type === 'string' && isPersonalType(e.dcx_type)) return true
  }
  return false
}
