// SIENA handling codes (DESIGN §7, "Handling codes"): H0 use only to prevent and combat crime
// (the default), H1 not for judicial proceedings without the provider's permission, H2 not to be
// disseminated onward without the provider's permission, H3 other restrictions, stated in
// handlingNote. The input fields and the one cross-field rule, shared by indicators and notes on
// every way in (create, bulk, update, STIX import, TAXII push).
//
// Decided here (DESIGN is silent): handlingNote is required for H3 and refused for H0–H2 (a
// restriction stated beside a code that does not carry one would be read as binding and is not);
// a PATCH that moves an item away from H3 without sending handlingNote clears the note.
import { z } from 'zod'
import type { FieldProblem } from '../../core/errors.js'

export const HANDLING_CODES = ['H0', 'H1', 'H2', 'H3'] as const
export type HandlingCode = (typeof HANDLING_CODES)[number]

export const handlingCode = z
  .enum(HANDLING_CODES)
  .describe(
    'SIENA handling code: H0 use only to prevent and combat crime; H1 not for judicial proceedings without the provider’s permission; H2 not to be disseminated onward without the provider’s permission; H3 other restrictions, stated in handlingNote',
  )
export const handlingNote = z
  .string()
  .trim()
  .min(1)
  .max(500)
  .regex(/^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]+$/, 'no control characters')
  .describe('The restriction, in words: required with H3 (1–500 characters), refused with H0–H2')

/** The fields as they appear in every output. */
export const handlingOutput = {
  handlingCode: z.enum(HANDLING_CODES),
  handlingNote: z.string().nullable(),
}

/** The fields a create takes. */
export const handlingCreateFields = {
  handlingCode: handlingCode.default('H0'),
  handlingNote: handlingNote.optional(),
}

/** The fields a PATCH takes (null clears the note). */
export const handlingPatchFields = {
  handlingCode: handlingCode.optional(),
  handlingNote: handlingNote.nullable().optional(),
}

/** The cross-field rule: H3 needs a note, the others take none. */
export function handlingProblems(h: { handlingCode: HandlingCode; handlingNote?: string | null | undefined }, prefix = 'body'): FieldProblem[] {
  if (h.handlingCode === 'H3' && !h.handlingNote) return [{ name: `${prefix}.handlingNote`, reason: 'required with handling code H3 (state the restriction)' }]
  if (h.handlingCode !== 'H3' && h.handlingNote) return [{ name: `${prefix}.handlingNote`, reason: 'only allowed with handling code H3' }]
  return []
}

/** The code and note a PATCH leaves: moving away from H3 without a new note clears the old one. */
export function mergedHandling(
  current: { handlingCode: string; handlingNote: string | null },
  patch: { handlingCode?: HandlingCode | undefined; handlingNote?: string | null | undefined },
): { handlingCode: HandlingCode; handlingNote: string | null } {
  const code = patch.handlingCode ?? (current.handlingCode as HandlingCode)
  const note = patch.handlingNote !== undefined ? patch.handlingNote : code === 'H3' ? current.handlingNote : null
  return { handlingCode: code, handlingNote: note }
}
