// Justification (DESIGN §7, LED Art. 25(2)): every consultation of personal data carries a
// purpose — the request's DCX-Justification header or, failing that, the account's
// defaultJustification (partner systems that screen automatically set it once). Without one the
// request is refused with 428 before any data leaves; the justification used goes into the
// request's audit event (details.justification).
//
// The one module that decides it. Routes (and other modules: screening) call
//   justificationOf(req)             the header or the account default, or undefined (400 on a bad header)
//   requireJustification(req, why)   the same, or throws the 428 AppError; records it in the event
//   requireWhen(req, personal, why)  requireJustification when `personal`, else only record a header sent
//   guardConsultation(req, why, holdsPersonal)  decide after the query: checked on the result inside the
//                                    request's transaction, before its audit event is written, so a
//                                    refused page is never recorded (nor sent) as a read
// What counts as personal data (PERSONAL_DATA_TYPES) is the indicators module's: its routes pass
// the answer in (modules/indicators/personal-data.ts), so this layer imports nothing below it.
import type { FastifyRequest } from 'fastify'
import { AppError } from '../core/errors.js'

export const JUSTIFICATION_HEADER = 'dcx-justification'
export const JUSTIFICATION_MIN = 3
export const JUSTIFICATION_MAX = 200
// C0, DEL and C1 controls (a justification is one line of text that ends up in the audit log).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/** Why a justification text is not acceptable, or undefined when it is. */
export function justificationProblem(text: string): string | undefined {
  const n = [...text].length
  if (n < JUSTIFICATION_MIN || n > JUSTIFICATION_MAX) return `must be ${JUSTIFICATION_MIN}–${JUSTIFICATION_MAX} characters`
  if (CONTROL.test(text)) return 'must not contain control characters'
  if (text.trim() !== text || text.trim() === '') return 'must not start or end with whitespace'
  return undefined
}

function headerValue(req: FastifyRequest): string | undefined {
  const raw = req.headers[JUSTIFICATION_HEADER]
  if (raw === undefined) return undefined
  const value = Array.isArray(raw) ? raw.join(', ') : raw
  // Node decodes header bytes as latin1; a client sending UTF-8 (a case reference with umlauts)
  // gets it back as the characters it meant.
  const decoded = /^[\u0000-\u00ff]*$/.test(value) ? Buffer.from(value, 'latin1').toString('utf8') : value
  const text = decoded.includes('\ufffd') ? value : decoded
  const problem = justificationProblem(text)
  if (problem) {
    throw new AppError('validation', `The ${headerName} header ${problem}.`, [{ name: `header.${JUSTIFICATION_HEADER}`, reason: problem }])
  }
  return text
}

const headerName = 'DCX-Justification'

/** The justification of this request: its header, else the account's default; undefined when neither. */
export function justificationOf(req: FastifyRequest): string | undefined {
  return headerValue(req) ?? req.actor?.defaultJustification ?? undefined
}

/** The problem a consultation without a justification gets (no data in it). */
export function justificationRequired(why: string): AppError {
  return new AppError(
    'precondition_required',
    `This request consults personal data (${why}): send a ${headerName} header (a case reference or purpose, ${JUSTIFICATION_MIN}–${JUSTIFICATION_MAX} characters) or set your account's defaultJustification.`,
    [{ name: `header.${JUSTIFICATION_HEADER}`, reason: 'required for consulting personal data' }],
  )
}

/** The justification, recorded in the request's audit event; throws 428 when there is none. */
export function requireJustification(req: FastifyRequest, why: string): string {
  const j = justificationOf(req)
  if (!j) throw justificationRequired(why)
  if (req.auditState) req.auditState.details.justification = j
  return j
}

/** requireJustification when `personal`; otherwise a justification sent anyway is still recorded. */
export function requireWhen(req: FastifyRequest, personal: boolean, why: string): string | undefined {
  if (personal) return requireJustification(req, why)
  const j = headerValue(req)
  if (j && req.auditState) req.auditState.details.justification = j
  return undefined
}

/**
 * Decide after the query: `holdsPersonal` says whether the result holds personal data. Runs
 * inside the request's transaction (access/scope.ts), before the audit event is written; a result
 * holding personal data without a justification rolls the transaction back and answers 428.
 */
export function guardConsultation<T>(req: FastifyRequest, why: string, holdsPersonal: (out: T) => boolean): void {
  // A malformed header is refused before any query runs.
  headerValue(req)
  const st = req.auditState
  if (!st) return
  st.beforeCommit = (out) => {
    requireWhen(req, holdsPersonal(out as T), why)
  }
}
