import { isIP } from 'node:net'
import { domainToASCII } from 'node:url'
import { fail, ok, type Result } from './result.js'
import { foldInvisible } from './text.js'

/** Host names (domain), web addresses (url) and e-mail addresses. */

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i
const URL_PROTOCOLS = new Set(['http:', 'https:', 'ftp:'])
// WHATWG parsing without a base fails unless the input — leading C0 controls and spaces stripped,
// tabs and newlines removed — starts with a scheme: an ASCII letter, then letters, digits, + - .,
// then ':'. Checked before new URL(), whose exception costs far more: an untyped match value is
// tried as a url, and almost none is one.
const URL_IGNORED = /[\t\n\r]/g
const LEADING_C0_SPACE = /^[\u0000-\u0020]+/
const SCHEME_START = /^[a-z][a-z0-9+.-]*:/i

/**
 * domainToASCII applies UTS #46 (IDN -> punycode, lower-case, full-width dots
 * -> '.') but it is *lenient*: it cuts "a.com/x" down to "a.com" and turns
 * "0x7f.1" into "127.0.0.1". So URL/e-mail/IP shapes are rejected before it
 * runs and the strict LDH label rules are applied to its output.
 */
export function normalizeDomain(value: string): Result {
  const bare = value.endsWith('.') ? value.slice(0, -1) : value // absolute form "example.com." == "example.com"
  // Before the URL-shape check, so "::1" / "[::1]" get the IP reason rather than the URL one.
  if (isIP(bare.replace(/^\[|\]$/g, '')) !== 0) return fail('IP addresses are not domains; use type url')
  if (HAS_SCHEME.test(value) || /[/?#:\\]/.test(value)) return fail('looks like a URL, not a bare domain; use type url')
  if (value.includes('@')) return fail('looks like an e-mail address, not a domain; use type email')
  if (/\s/u.test(value)) return fail('domain must not contain spaces')
  const ascii = domainToASCII(bare)
  if (ascii === '') return fail('not a valid (internationalised) domain name')
  if (ascii.length > 253) return fail('domain name is longer than 253 characters')
  const labels = ascii.split('.')
  if (labels.length < 2) return fail('domain needs at least two labels (e.g. example.com)')
  for (const label of labels) {
    if (label.length === 0) return fail('domain contains an empty label')
    if (label.length > 63) return fail('domain label is longer than 63 characters')
    if (!LABEL.test(label)) {
      return fail(`domain label "${label}" must use only a-z, 0-9 and '-' and not start or end with '-'`)
    }
  }
  // An all-numeric last label makes WHATWG parse the host as IPv4 ("1.2.3.4", "0x7f.1").
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '') || isIP(ascii) !== 0) {
    return fail('IP addresses are not domains; use type url')
  }
  return ok(ascii)
}

/**
 * WHATWG URL parsing gives the same canonical form browsers use: lower-case
 * scheme and host, IDN -> punycode, default port dropped, dot segments
 * resolved, unsafe characters percent-encoded. The fragment is dropped because
 * it never reaches the server, so "page#a" and "page#b" are the same indicator.
 * Onion hosts are accepted here too; onion_url is the stricter type for them.
 */
const NOT_A_URL = 'not a valid absolute URL (include the scheme, e.g. https://)'

export function normalizeUrl(value: string): Result {
  if (!SCHEME_START.test(value.replace(URL_IGNORED, '').replace(LEADING_C0_SPACE, ''))) return fail(NOT_A_URL)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return fail(NOT_A_URL)
  }
  if (!URL_PROTOCOLS.has(url.protocol)) return fail('only http, https and ftp URLs are accepted')
  if (url.hostname === '') return fail('URL has no host')
  url.hash = ''
  return ok(url.href)
}

/* RFC 5322 "atext" plus dots, extended with Unicode letters/marks/digits for RFC 6531 (SMTPUTF8) mailboxes. */
const LOCAL_PART = /^[\p{L}\p{M}\p{N}!#$%&'*+/=?^_`{|}~.-]+$/u

/**
 * Lower-case the whole address. Local parts are case-sensitive in theory but
 * no real mail system treats them so, and case variants must match. Quoted
 * local parts ("a b"@x) are not accepted: they do not occur in practice and
 * would need a full RFC 5322 parser.
 */
export function normalizeEmail(value: string): Result {
  if (/\s/u.test(value)) return fail('e-mail address must not contain spaces')
  const parts = value.split('@')
  if (parts.length < 2) return fail('e-mail address is missing the @')
  if (parts.length > 2) return fail('e-mail address must contain exactly one @')
  const [typedLocal = '', rawDomain = ''] = parts
  // An invisible character must not make a second address of one mailbox (the domain has UTS #46).
  const rawLocal = foldInvisible(typedLocal)
  if (rawLocal === '') return fail('e-mail address has an empty local part')
  if (!LOCAL_PART.test(rawLocal)) return fail('e-mail local part contains characters that are not allowed')
  if (rawLocal.startsWith('.') || rawLocal.endsWith('.') || rawLocal.includes('..')) {
    return fail('e-mail local part must not start or end with a dot or contain ".."')
  }
  const local = stableLower(rawLocal)
  if (local.length > 64) return fail('e-mail local part is longer than 64 characters')
  const domain = normalizeDomain(rawDomain)
  if (!domain.ok) return fail(`e-mail domain is invalid: ${domain.reason}`)
  const email = `${local}@${domain.normalizedValue}`
  if (email.length > 254) return fail('e-mail address is longer than 254 characters')
  return ok(email)
}

/* NFC + lower-case iterated to a fixed point so re-normalising never changes the value. */
function stableLower(s: string): string {
  let cur = s
  for (let i = 0; i < 5; i++) {
    const next = cur.normalize('NFC').toLowerCase()
    if (next === cur) break
    cur = next
  }
  return cur
}
