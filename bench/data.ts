// Realistic, valid indicator values for every type, deterministic per (salt, sequence number),
// so seeding, load children and match batches can make as many unique values as they need
// without coordinating. Every value is checked with the service's own normalizeIndicator, so a
// seeded or posted value is never refused for being malformed.
import { createHash } from 'node:crypto'
import { sha256 } from '@noble/hashes/sha2.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { base58xmr, bech32, createBase58check } from '@scure/base'
import { normalizeIndicator, type IndicatorType } from '../src/modules/indicators/normalize.js'
import { encodeOnionLabel } from '../src/modules/indicators/validators/onion.js'
import { s10CheckDigit } from '../src/modules/indicators/validators/s10.js'

const base58check = createBase58check(sha256)

/** mulberry32: small, fast, good enough to pick from lists. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest()
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T

/** Picks by weight: [[value, weight], ...]. */
function weighted<T>(r: () => number, table: readonly (readonly [T, number])[]): T {
  const total = table.reduce((s, [, w]) => s + w, 0)
  let x = r() * total
  for (const [v, w] of table) {
    x -= w
    if (x < 0) return v
  }
  return (table[table.length - 1] as readonly [T, number])[0]
}

// The vocabulary of descriptions, in rough frequency order: full-text queries pick common
// and rare words from it (the first word is in about a third of descriptions, the last in ~1 %).
export const WORDS = [
  'vendor',
  'parcel',
  'market',
  'escrow',
  'shipment',
  'stealth',
  'cocaine',
  'mdma',
  'cannabis',
  'fentanyl',
  'ketamine',
  'heroin',
  'amphetamine',
  'lsd',
  'tramadol',
  'oxycodone',
  'benzodiazepine',
  'methamphetamine',
  'counterfeit',
  'pills',
  'vacuum',
  'sealed',
  'dvd',
  'cosmetics',
  'toys',
  'tea',
  'reshipper',
  'dropship',
  'wallet',
  'mixer',
  'tumbler',
  'exit',
  'scam',
  'pgp',
  'signed',
  'mirror',
  'forum',
  'dread',
  'telegram',
  'wickr',
  'seized',
  'controlled',
  'delivery',
  'customs',
  'postal',
  'courier',
  'express',
  'warehouse',
  'packstation',
  'locker',
] as const

const ADJ = ['dark', 'silent', 'green', 'royal', 'lucky', 'frosty', 'golden', 'happy', 'swift', 'crystal', 'black', 'white', 'dutch', 'nordic', 'alpine']
const NOUN = ['dragon', 'panda', 'pharma', 'express', 'candy', 'garden', 'labs', 'house', 'shop', 'cartel', 'kings', 'ghost', 'tiger', 'owl', 'falcon']
const FIRST = ['Jan', 'Marta', 'Pieter', 'Anna', 'Luca', 'Sofia', 'Mehmet', 'Elena', 'Tomasz', 'Ines', 'Jonas', 'Sara', 'Dmitri', 'Laura', 'Niels']
const LAST = ['de Vries', 'Kowalski', 'Rossi', 'Müller', 'García', 'Novák', 'Jansen', 'Popescu', 'Nielsen', 'Silva', 'Schmidt', 'Horvat', 'Dubois', 'Yilmaz']
const STREET = [
  'Keizersgracht',
  'Hauptstraße',
  'Rue de Rivoli',
  'Via Roma',
  'Calle Mayor',
  'Ulica Długa',
  'Storgatan',
  'Industrieweg',
  'Bahnhofstraße',
  'Avenida da Liberdade',
]
const CITY = ['Amsterdam', 'Berlin', 'Paris', 'Roma', 'Madrid', 'Gdańsk', 'Stockholm', 'Rotterdam', 'Hamburg', 'Lisboa', 'Wien', 'Bruxelles']
const TLDS = ['com', 'net', 'org', 'shop', 'xyz', 'biz', 'to', 'is']
const TAGS = [
  'darknet-vendor',
  'reshipper',
  'fentanyl',
  'cocaine',
  'cannabis',
  'synthetic-opioids',
  'nps',
  'crypto-laundering',
  'postal',
  'express',
  'counterfeit-pills',
  'telegram',
  'exit-scam',
  'seized',
]
export const EU = [
  'NL',
  'DE',
  'FR',
  'BE',
  'ES',
  'IT',
  'PL',
  'SE',
  'AT',
  'PT',
  'CZ',
  'DK',
  'FI',
  'IE',
  'GR',
  'RO',
  'HU',
  'SK',
  'SI',
  'HR',
  'LT',
  'LV',
  'EE',
  'LU',
  'BG',
  'CY',
  'MT',
  'NO',
  'CH',
  'GB',
]
const S10_SERVICE = ['RR', 'RA', 'LX', 'LY', 'CP', 'EE', 'UM', 'CX', 'EA', 'RB']

/** The mix of indicator types as partners post them (weights in percent). */
export const TYPE_MIX: readonly (readonly [IndicatorType, number])[] = [
  ['vendor_alias', 14],
  ['crypto_address', 14],
  ['postal_item', 12],
  ['email', 9],
  ['onion_url', 8],
  ['domain', 8],
  ['url', 6],
  ['phone', 6],
  ['file_hash', 5],
  ['pgp_fingerprint', 4],
  ['postal_address', 5],
  ['person_name', 4],
  ['shipping_pattern', 5],
]

const PERSONAL: ReadonlySet<IndicatorType> = new Set(['postal_address', 'person_name', 'email', 'phone'])

/** A raw value of the given type; `n` makes it unique. May be formatted loosely (the service normalises). */
export function rawValue(type: IndicatorType, n: number, salt: string): string {
  const r = prng(n * 2654435761 + salt.length)
  const h = digest(`${salt}:${type}:${n}`)
  switch (type) {
    case 'vendor_alias':
      return `${pick(r, ADJ)}${pick(r, NOUN)}_${n.toString(36)}${salt}`
    case 'crypto_address': {
      const kind = r()
      if (kind < 0.35) return base58check.encode(Uint8Array.from([r() < 0.7 ? 0x00 : 0x05, ...h.subarray(0, 20)]))
      if (kind < 0.6) return bech32.encode('bc', [0, ...bech32.toWords(h.subarray(0, 20))])
      if (kind < 0.92) return `0x${h.subarray(0, 20).toString('hex')}`
      const body = Uint8Array.from([18, ...h, ...digest(`${salt}:xmr:${n}`)])
      return base58xmr.encode(Uint8Array.from([...body, ...keccak_256(body).subarray(0, 4)]))
    }
    case 'postal_item': {
      const serial = String(Math.floor((h.readUInt32BE(0) / 2 ** 32) * 1e8)).padStart(8, '0')
      return `${pick(r, S10_SERVICE)}${serial}${s10CheckDigit(serial)}${pick(r, EU)}`
    }
    case 'email':
      return `${pick(r, ADJ)}.${pick(r, NOUN)}${n.toString(36)}${salt}@${pick(r, ['protonmail.com', 'tutanota.com', 'cock.li', 'gmx.de', 'mail.ru', 'outlook.com'])}`
    case 'onion_url': {
      const host = `${encodeOnionLabel(new Uint8Array(h))}.onion`
      return r() < 0.6 ? host : `http://${host}/listing/${n.toString(36)}`
    }
    case 'domain':
      return `${pick(r, ADJ)}-${pick(r, NOUN)}-${n.toString(36)}${salt}.${pick(r, TLDS)}`
    case 'url':
      return `https://${pick(r, NOUN)}-${n.toString(36)}${salt}.${pick(r, TLDS)}/product/${h.subarray(0, 4).toString('hex')}`
    case 'phone': {
      // Dutch and German mobile ranges: valid in libphonenumber's "max" metadata.
      const d = String(h.readUInt32BE(0) % 1e8).padStart(8, '0')
      return r() < 0.5 ? `+316${((h[4] ?? 0) % 5) + 1}${d.slice(1)}` : `+4915${(h[4] ?? 0) % 2 === 0 ? '1' : '2'}${d}`
    }
    case 'file_hash':
      return h.toString('hex')
    case 'pgp_fingerprint':
      return h.subarray(0, 20).toString('hex').toUpperCase()
    case 'postal_address':
      return `${pick(r, STREET)} ${1 + (n % 300)}-${n.toString(36)}${salt}, ${1000 + (h.readUInt16BE(0) % 9000)} ${pick(r, CITY)}`
    case 'person_name':
      return `${pick(r, FIRST)} ${pick(r, LAST)} ${n.toString(36)}${salt}`
    case 'shipping_pattern':
      return `${pick(r, EU)}→${pick(r, EU)}: ${pick(r, ['vacuum-sealed', 'mylar bag', 'double-bagged'])} inside ${pick(r, ['a DVD case', 'a greeting card', 'a cosmetics box', 'a toy parcel'])}, declared as "${pick(r, ['cosmetics', 'tea', 'toys', 'documents'])}" (ref ${n.toString(36)}${salt})`
  }
}

/** A valid raw value and its normalised form (retrying with the next numbers in the rare invalid case). */
export function validValue(type: IndicatorType, n: number, salt: string, check = true): { value: string; normalizedValue: string } {
  // Every generator makes valid values by construction (checked for 50,000 of each type); the
  // load generator skips the check (50 µs a value) so it does not steal the server's CPU.
  if (!check) return { value: rawValue(type, n, salt), normalizedValue: '' }
  for (let k = 0; k < 20; k++) {
    const value = rawValue(type, n + k * 1_000_003, salt)
    const res = normalizeIndicator(type, value)
    if (res.ok) return { value, normalizedValue: res.normalizedValue }
  }
  throw new Error(`bench data: could not make a valid ${type} value`)
}

export function description(r: () => number): string {
  const len = 5 + Math.floor(r() * 12)
  const out: string[] = []
  // Skewed towards the front of WORDS: r()^2.2 makes the first words common and the last rare.
  for (let i = 0; i < len; i++) out.push(WORDS[Math.floor(r() ** 2.2 * WORDS.length)] as string)
  return out.join(' ')
}

export interface OrgRef {
  id: string
  /** Sharing groups this organisation belongs to (it may post to them). */
  groupIds: string[]
}

export interface IndicatorItem {
  type: IndicatorType
  value: string
  valueVisibility: 'full' | 'match_only'
  description: string
  confidence: number
  reliability: string
  credibility: number
  tlp: string
  distribution: string
  sharingGroupId?: string
  tags: string[]
  countries: string[]
}

/**
 * One IndicatorCreate body. Distributions: organisation 15 %, sharing_group 15 % (when the
 * organisation is in a group), authorities 40 %, community 30 %; TLP consistent with it.
 */
export function indicatorItem(org: OrgRef, n: number, salt: string, shared?: { type: IndicatorType; value: string }, check = true): IndicatorItem {
  const r = prng(n ^ 0x5bd1e995)
  const type = shared?.type ?? weighted(r, TYPE_MIX)
  const value = shared?.value ?? validValue(type, n, salt, check).value
  let distribution = weighted(r, [
    ['organisation', 15],
    ['sharing_group', 15],
    ['authorities', 40],
    ['community', 30],
  ] as const) as string
  if (distribution === 'sharing_group' && org.groupIds.length === 0) distribution = 'authorities'
  const tlp =
    distribution === 'organisation' || distribution === 'sharing_group'
      ? weighted(r, [
          ['red', 30],
          ['amber+strict', 30],
          ['amber', 40],
        ] as const)
      : distribution === 'authorities'
        ? weighted(r, [
            ['amber', 60],
            ['amber+strict', 25],
            ['green', 15],
          ] as const)
        : weighted(r, [
            ['green', 50],
            ['clear', 30],
            ['amber', 20],
          ] as const)
  const tags = [...new Set(Array.from({ length: Math.floor(r() * 4) }, () => pick(r, TAGS)))]
  const countries = [...new Set(Array.from({ length: Math.floor(r() * 3) }, () => pick(r, EU)))]
  return {
    type,
    value,
    valueVisibility: PERSONAL.has(type) && r() < 0.5 ? 'match_only' : 'full',
    description: description(r),
    confidence: Math.floor(r() * 101),
    reliability: pick(r, ['A', 'B', 'C', 'D', 'E', 'F']),
    credibility: 1 + Math.floor(r() * 6),
    tlp,
    distribution,
    ...(distribution === 'sharing_group' ? { sharingGroupId: pick(r, org.groupIds) } : {}),
    tags,
    countries,
  }
}

/**
 * Values shared by several organisations (correlation: the same wallet or alias reported by a
 * customs service and a postal operator). About 5 % of seeded items reuse one of these.
 */
export function sharedPool(size: number, salt: string): { type: IndicatorType; value: string }[] {
  const r = prng(0xc0ffee)
  return Array.from({ length: size }, (_, i) => {
    const type = weighted(r, TYPE_MIX)
    return { type, value: validValue(type, 900_000_000 + i, `${salt}s`).value }
  })
}

/** A batch of IndicatorCreate bodies for one organisation, numbered from `start`. */
export function indicatorBatch(org: OrgRef, start: number, count: number, salt: string, pool: { type: IndicatorType; value: string }[] = [], check = true) {
  const items: IndicatorItem[] = []
  for (let i = 0; i < count; i++) {
    const n = start + i
    const shared = pool.length > 0 && n % 20 === 0 ? pool[(n / 20) % pool.length] : undefined
    items.push(indicatorItem(org, n, salt, shared, check))
  }
  return items
}

const TOPICS = ['detection', 'investigation', 'risk_profiling', 'virtual_currency_seizure', 'legislation', 'prevention', 'training', 'cooperation']
const SECTORS = ['police', 'customs', 'border', 'prosecution', 'judiciary', 'postal', 'courier', 'industry', 'academia', 'international']

/** A NoteCreate body: a best-practice note of a few hundred words of Markdown. */
export function noteBody(org: OrgRef, n: number) {
  const r = prng(n * 7919)
  const paragraphs = Array.from({ length: 3 + Math.floor(r() * 5) }, () => description(r) + ' ' + description(r) + '.')
  const distribution = weighted(r, [
    ['organisation', 10],
    ['sharing_group', 15],
    ['authorities', 40],
    ['community', 35],
  ] as const) as string
  const dist = distribution === 'sharing_group' && org.groupIds.length === 0 ? 'community' : distribution
  return {
    title: `How we ${pick(r, ['profile', 'screen', 'seize', 'trace', 'report'])} ${pick(r, WORDS)} ${pick(r, WORDS)} (#${n})`,
    summary: description(r),
    body: `## Context\n\n${paragraphs.join('\n\n')}\n\n## Steps\n\n- ${description(r)}\n- ${description(r)}\n`,
    topics: [...new Set([pick(r, TOPICS), pick(r, TOPICS)])],
    sectors: [...new Set([pick(r, SECTORS), pick(r, SECTORS)])],
    language: pick(r, ['en', 'en', 'en', 'de', 'fr', 'nl']),
    tlp: dist === 'community' ? 'green' : 'amber',
    distribution: dist,
    ...(dist === 'sharing_group' ? { sharingGroupId: pick(r, org.groupIds) } : {}),
  }
}
