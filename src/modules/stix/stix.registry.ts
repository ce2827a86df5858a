// The fixed STIX objects DCX defines and serves: its identity, its extension definitions and every
// marking definition (TLP 2.0, and any list another module adds to stix.constants.ts). One
// registry, read by the file export and by every TAXII collection, so each reference an object
// makes to one of them resolves. Collected from stix.constants.ts's exports: any exported STIX
// object, or list of them, with an id of the form type--UUID is in it — a definition added there is
// served without being listed again here.
import { TLPS } from '../../access/visibility.js'
import * as constants from './stix.constants.js'
import type { StixObject } from './stix.mapping.js'

const STIX_ID = /^([a-z][a-z0-9-]*)--([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/

const isStix = (v: unknown): v is StixObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as StixObject).type === 'string' && STIX_ID.test(String((v as StixObject).id))

function collect(): StixObject[] {
  const found: StixObject[] = [...(constants.PREAMBLE as StixObject[]), ...(TLPS.map(constants.tlpMarkingDefinition) as StixObject[])]
  for (const v of Object.values(constants)) {
    if (isStix(v)) found.push(v)
    else if (Array.isArray(v)) found.push(...v.filter(isStix))
  }
  const byId = new Map<string, StixObject>()
  for (const o of found) if (!byId.has(o.id)) byId.set(o.id, o)
  return [...byId.values()]
}

/** Every fixed object, in a stable order: identity and extension definitions first, then markings. */
export const FIXED_OBJECTS: readonly StixObject[] = collect()

export const FIXED_BY_ID: ReadonlyMap<string, StixObject> = new Map(FIXED_OBJECTS.map((o) => [o.id, o]))

/** The uuid part of a STIX id (the TAXII page order's tie-break), or undefined. */
export const uuidOf = (stixId: string) => STIX_ID.exec(stixId)?.[2]

/** The time an object was added to DCX's definitions: its modified (or created) timestamp. */
export const fixedDate = (o: StixObject) => new Date(String(o.modified ?? o.created))
