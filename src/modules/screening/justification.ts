// OWNER: swap for src/access/justification.ts (the auditlife helper's) when both branches are in:
// this is the one place the screening module reads a caller's justification. Until then it reads
// the DCX-Justification header as given: trimmed, control characters dropped, at most 500
// characters, absent when empty.
import type { IncomingHttpHeaders } from 'node:http'

export const JUSTIFICATION_HEADER = 'dcx-justification'
const MAX = 500

export function justificationOf(headers: IncomingHttpHeaders): string | undefined {
  const raw = headers[JUSTIFICATION_HEADER]
  const text = (Array.isArray(raw) ? raw.join(' ') : (raw ?? ''))
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .trim()
    .slice(0, MAX)
  return text === '' ? undefined : text
}
