// STIX pattern → DCX indicator type and value, for import. A DCX indicator is one value, so only a
// single-comparison pattern `[object-type:property = 'value']` maps to one; anything richer (OR,
// AND, MATCHES, qualifiers, several observations) is refused with the reason, never guessed at.
import { INDICATOR_TYPES, normalizeIndicator, type IndicatorType } from '../indicators/normalize.js'
import { OBSERVABLE } from './stix.constants.js'

export type PatternMapping = { ok: true; type: IndicatorType; value: string } | { ok: false; reason: string }

// [ object-type : path = 'literal' ] where path is property(.property | .'quoted')*.
const SIMPLE = /^\[\s*([a-z][a-z0-9-]*[a-z0-9]):([a-z0-9_]+(?:\.(?:[a-z0-9_]+|'[^'\\]+'))*)\s*=\s*'((?:[^'\\]|\\['\\])*)'\s*\]$/is

const HASH_ALGORITHMS: Record<string, string> = { md5: 'md5', 'sha-1': 'sha1', sha1: 'sha1', 'sha-256': 'sha256', sha256: 'sha256' }

// The reverse of OBSERVABLE: each DCX observable type belongs to exactly one DCX type.
const DCX_SCO = new Map<string, IndicatorType>(INDICATOR_TYPES.filter((t) => OBSERVABLE[t].sco.startsWith('dcx-')).map((t) => [OBSERVABLE[t].sco, t]))

/** Parse a single-comparison pattern; hint is the DCX type a DCX export named in its extension. */
export function mapPattern(pattern: string, hint?: unknown): PatternMapping {
  if (pattern.length > 10_000) return { ok: false, reason: 'the pattern is longer than 10,000 characters' }
  const m = SIMPLE.exec(pattern.trim())
  if (!m) {
    return { ok: false, reason: "only a single comparison [object-type:property = 'value'] maps to a DCX indicator" }
  }
  const [, sco = '', path = '', literal = ''] = m
  const value = literal.replace(/\\(['\\])/g, '$1')
  const property = path.toLowerCase()
  const hinted = typeof hint === 'string' && (INDICATOR_TYPES as readonly string[]).includes(hint) ? (hint as IndicatorType) : undefined

  switch (sco) {
    case 'url': {
      if (property !== 'value') break
      if (hinted === 'url' || hinted === 'onion_url') return { ok: true, type: hinted, value }
      // An onion service is its own DCX type (its v3 checksum is verified); any other URL is a url.
      return { ok: true, type: normalizeIndicator('onion_url', value).ok ? 'onion_url' : 'url', value }
    }
    case 'domain-name':
      if (property === 'value') return { ok: true, type: 'domain', value }
      break
    case 'email-addr':
      if (property === 'value') return { ok: true, type: 'email', value }
      break
    case 'file': {
      const hm = /^hashes\.(?:'([^']+)'|([a-z0-9_]+))$/i.exec(path)
      const alg = hm ? HASH_ALGORITHMS[(hm[1] ?? hm[2] ?? '').toLowerCase()] : undefined
      if (alg) {
        const n = normalizeIndicator('file_hash', value)
        if (n.ok && n.network !== alg) return { ok: false, reason: `the value is not a ${alg} hash` }
        return { ok: true, type: 'file_hash', value }
      }
      if (hm) return { ok: false, reason: `file hashes other than MD5, SHA-1 and SHA-256 have no DCX type` }
      break
    }
    default: {
      const type = DCX_SCO.get(sco)
      if (type && property === 'value') return { ok: true, type, value }
    }
  }
  return { ok: false, reason: `${sco}:${path} has no DCX indicator type` }
}
