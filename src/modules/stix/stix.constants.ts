// Fixed STIX 2.1 objects and identifiers DCX publishes. Every id here is part of the contract with
// partner systems (they deduplicate by id), so none may ever change.
import type { Tlp } from '../../access/visibility.js'
import type { IndicatorType } from '../indicators/normalize.js'
import type { HandlingCode } from '../handling/handling.js'

export const STIX_MEDIA_TYPE = 'application/stix+json;version=2.1'

/** The DCX platform itself: the creator of the extension definitions. */
export const DCX_IDENTITY_ID = 'identity--a915e2a2-65d4-4e0a-9d3d-65001e23ed40'
/** DCX properties on standard objects (indicator grading, distribution, sector, outcome …). */
export const DCX_PROPERTIES_EXT = 'extension-definition--3d1b5bde-85df-4f34-b431-cb1f1a58b1a6'
/** DCX's own cyber-observable types (crypto address, postal item, …), STIX 2.1 §7.3 new-sco. */
export const DCX_OBSERVABLES_EXT = 'extension-definition--610f8035-7045-4b75-b153-1517358ed924'
/** UUIDv5 namespace for ids DCX derives (aggregated sightings). */
export const DCX_UUID_NAMESPACE = 'c6aba769-2c53-49cb-a3a1-79960a432e89'

const DEFINED = '2026-01-01T00:00:00.000Z'

// TLP 2.0 as published by OASIS (cti-stix-common-objects, extension-definition-specifications/tlp-2.0).
export const TLP2_EXT = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d'
export const TLP_MARKING_IDS: Record<Tlp, string> = {
  clear: 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  green: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  amber: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  'amber+strict': 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  red: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
}
// TLP 1.0 markings predefined by STIX 2.1 §7.2.1.4: still what many producers send.
const TLP1_MARKING_IDS: Record<string, Tlp> = {
  'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9': 'clear',
  'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da': 'green',
  'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82': 'amber',
  'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed': 'red',
}
export const TLP_BY_MARKING: ReadonlyMap<string, Tlp> = new Map<string, Tlp>([
  ...(Object.entries(TLP_MARKING_IDS).map(([tlp, id]) => [id, tlp as Tlp]) as [string, Tlp][]),
  ...(Object.entries(TLP1_MARKING_IDS) as [string, Tlp][]),
])

export function tlpMarkingDefinition(tlp: Tlp) {
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id: TLP_MARKING_IDS[tlp],
    created: '2022-10-01T00:00:00.000Z',
    name: `TLP:${tlp.toUpperCase()}`,
    extensions: { [TLP2_EXT]: { extension_type: 'property-extension', tlp_2_0: tlp } },
  }
}

// SIENA handling codes (Europol; Council manual 6261-18) as statement marking definitions, one per
// code. The ids are UUIDv5 of "siena-handling-code:<code>" in DCX_UUID_NAMESPACE, written out
// here because they are part of the contract. H3's own restriction travels in the DCX extension
// (handling_note) of the object it marks. HANDLING_MARKING_DEFINITIONS is the one registry: the
// export and TAXII serve exactly these objects, and the import reads them back.
export const HANDLING_MARKING_IDS: Record<HandlingCode, string> = {
  H0: 'marking-definition--496de2fb-358d-5f5e-81ef-cd504d9edd5a',
  H1: 'marking-definition--9b31c12a-5199-54b3-8a32-939ab9793bb6',
  H2: 'marking-definition--27732c12-15d5-5e27-ba94-fe5357032311',
  H3: 'marking-definition--99c4c4f1-51a3-59e4-a884-b7b55018c1ea',
}
const HANDLING_STATEMENTS: Record<HandlingCode, string> = {
  H0: 'SIENA handling code H0: this information may be used only for the purpose of preventing and combating crime.',
  H1: 'SIENA handling code H1: this information may not be used in judicial proceedings without the permission of its provider.',
  H2: 'SIENA handling code H2: this information may not be disseminated onward without the permission of its provider.',
  H3: 'SIENA handling code H3: other restrictions apply, as stated with the object (DCX extension, handling_note).',
}
export const HANDLING_MARKING_DEFINITIONS = (Object.keys(HANDLING_MARKING_IDS) as HandlingCode[]).map((code) => ({
  type: 'marking-definition',
  spec_version: '2.1',
  id: HANDLING_MARKING_IDS[code],
  created_by_ref: DCX_IDENTITY_ID,
  created: DEFINED,
  name: `SIENA handling code ${code}`,
  definition_type: 'statement',
  definition: { statement: HANDLING_STATEMENTS[code] },
}))
export const HANDLING_BY_MARKING: ReadonlyMap<string, HandlingCode> = new Map(
  (Object.entries(HANDLING_MARKING_IDS) as [HandlingCode, string][]).map(([code, id]) => [id, code]),
)

/**
 * How each DCX type appears in a STIX pattern: the standard cyber-observable where STIX has one,
 * else a DCX observable type defined by DCX_OBSERVABLES_EXT. `normalized`: the pattern carries the
 * normalised value (canonical forms other tools match on); free text keeps what the source wrote.
 */
export const OBSERVABLE: Record<IndicatorType, { sco: string; property: string; normalized: boolean }> = {
  url: { sco: 'url', property: 'value', normalized: true },
  onion_url: { sco: 'url', property: 'value', normalized: true },
  domain: { sco: 'domain-name', property: 'value', normalized: true },
  email: { sco: 'email-addr', property: 'value', normalized: true },
  file_hash: { sco: 'file', property: 'hashes', normalized: true },
  crypto_address: { sco: 'dcx-crypto-address', property: 'value', normalized: true },
  phone: { sco: 'dcx-phone-number', property: 'value', normalized: true },
  pgp_fingerprint: { sco: 'dcx-pgp-fingerprint', property: 'value', normalized: true },
  postal_item: { sco: 'dcx-postal-item', property: 'value', normalized: true },
  vendor_alias: { sco: 'dcx-vendor-alias', property: 'value', normalized: false },
  postal_address: { sco: 'dcx-postal-address', property: 'value', normalized: false },
  person_name: { sco: 'dcx-person-name', property: 'value', normalized: false },
  shipping_pattern: { sco: 'dcx-shipping-pattern', property: 'value', normalized: false },
}

/** file_hash network → the STIX hash-algorithm-ov name. */
export const HASH_NAMES: Record<string, string> = { md5: 'MD5', sha1: 'SHA-1', sha256: 'SHA-256' }

export const dcxIdentity = {
  type: 'identity',
  spec_version: '2.1',
  id: DCX_IDENTITY_ID,
  created: DEFINED,
  modified: DEFINED,
  name: 'DCX — Drug-related Cybercrime Exchange',
  identity_class: 'system',
}

const scoTypes = [
  ...new Set(
    Object.values(OBSERVABLE)
      .map((o) => o.sco)
      .filter((s) => s.startsWith('dcx-')),
  ),
]

export const dcxObservablesExtension = {
  type: 'extension-definition',
  spec_version: '2.1',
  id: DCX_OBSERVABLES_EXT,
  created_by_ref: DCX_IDENTITY_ID,
  created: DEFINED,
  modified: DEFINED,
  name: 'DCX cyber-observables',
  description: 'Observable types for drug-related cybercrime indicators that STIX 2.1 does not define.',
  schema:
    `New SCO types: ${scoTypes.join(', ')}. Each has one ID-contributing property, value (string, required): ` +
    'dcx-crypto-address a BTC (base58check/bech32/bech32m), ETH or XMR address, optional network; dcx-phone-number ' +
    'E.164; dcx-pgp-fingerprint 40 upper-case hex; dcx-postal-item a UPU S10 item id; dcx-vendor-alias a market ' +
    'vendor name; dcx-postal-address and dcx-person-name personal data (Unicode NFKC); dcx-shipping-pattern free ' +
    'text (route, packaging, declared goods). Patterns compare value with =.',
  version: '1.0.0',
  extension_types: ['new-sco'],
}

export const dcxPropertiesExtension = {
  type: 'extension-definition',
  spec_version: '2.1',
  id: DCX_PROPERTIES_EXT,
  created_by_ref: DCX_IDENTITY_ID,
  created: DEFINED,
  modified: DEFINED,
  name: 'DCX properties',
  description: 'DCX grading, audience and feedback carried on standard STIX objects.',
  schema:
    'indicator: dcx_type, network, reliability (Admiralty A–F), credibility (Admiralty 1–6; STIX confidence is ' +
    'mapped from it per STIX 2.1 Appendix A), dcx_confidence (0–100), distribution, sharing_group_id, ' +
    'value_visibility, countries (ISO 3166-1 alpha-2), handling_code (SIENA H0–H3, also a marking), handling_note (H3), version. identity: sector, country. report: summary, ' +
    'topics, sectors, distribution, handling_code, handling_note, version. sighting: outcome (seen, seized, nothing_found, controlled_delivery, ' +
    'false_positive), reports (number of reports aggregated).',
  version: '1.0.0',
  extension_types: ['property-extension'],
}

/** Objects every DCX bundle starts with: who defines the extensions, and the extensions. */
export const PREAMBLE = [dcxIdentity, dcxPropertiesExtension, dcxObservablesExtension]
