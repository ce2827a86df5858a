// The review-by date: the rules a writer's date must meet, and what an item's JSON says about it.
// The default (the owner's retention period for the item's kind) is the database's: the BEFORE
// INSERT trigger of migrations/0014 fills it when the writer gives none.
import type { FieldProblem } from '../../core/errors.js'

/** DESIGN §7: a retention period is at most 60 months, so a review-by date is at most 60 months ahead. */
export const MAX_REVIEW_MONTHS = 60
/** An item left this long past its review-by date is erased automatically. */
export const ERASE_AFTER_DAYS = 30
const DAY_MS = 86_400_000

/** `months` calendar months after `from` (UTC), as PostgreSQL's make_interval(months => n) counts them. */
export function monthsAfter(from: Date, months: number): Date {
  const d = new Date(from.getTime())
  const day = d.getUTCDate()
  d.setUTCDate(1)
  d.setUTCMonth(d.getUTCMonth() + months)
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate()
  d.setUTCDate(Math.min(day, last))
  return d
}

/** When an item whose review-by date is `reviewBy` is erased if nobody extends it. */
export const eraseAfter = (reviewBy: Date) => new Date(reviewBy.getTime() + ERASE_AFTER_DAYS * DAY_MS)

/** A writer's review-by date: in the future and at most 60 months ahead. Returns the problems (empty when fine). */
export function reviewByProblems(value: string | Date | undefined | null, field: string, now = new Date()): FieldProblem[] {
  if (value === undefined || value === null) return []
  const at = new Date(value)
  if (Number.isNaN(at.getTime())) return [{ name: field, reason: 'not a date-time' }]
  if (at <= now) return [{ name: field, reason: 'must be in the future' }]
  if (at > monthsAfter(now, MAX_REVIEW_MONTHS)) return [{ name: field, reason: `at most ${MAX_REVIEW_MONTHS} months ahead` }]
  return []
}

export type ReviewStatus = 'current' | 'review_due' | null

/**
 * What an item's JSON says about its review: `review_due` once its date has passed, `current`
 * before; null for an item that is closed (revoked or erased), which no review concerns. The
 * item's `status` is left as it is: a review-due item is still active (or published) and still
 * reaches its audience until it is extended or erased.
 */
export function reviewStatusOf(status: string, reviewBy: Date, now = new Date()): ReviewStatus {
  if (status === 'revoked' || status === 'erased') return null
  return reviewBy <= now ? 'review_due' : 'current'
}
