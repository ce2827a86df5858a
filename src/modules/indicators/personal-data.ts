// Which results consult personal data (DESIGN §7, "Justification"): an indicator of a
// personal-data type (PERSONAL_DATA_TYPES), for access/justification.ts. Whether a match call
// screens personal data is told by its own normalisation (indicators.batch.ts, prepareMatch).
import { PERSONAL_DATA_TYPES } from './normalize.js'
import type { IndicatorType } from './normalize.js'

export const isPersonalType = (t: string | null | undefined): boolean => !!t && PERSONAL_DATA_TYPES.has(t as IndicatorType)

export const anyPersonal = (items: Iterable<{ type?: string | null | undefined } | null | undefined>): boolean => {
  for (const i of items) if (isPersonalType(i?.type)) return true
  return false
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
