import { z } from 'zod'
import { timestamp, uuid } from '../../core/schemas.js'
import { reviewByInput } from '../indicators/indicators.schemas.js'

export const reviewQueueQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().min(1).max(512).optional(),
  })
  .strict()

export const reviewQueueItem = z
  .object({
    kind: z.enum(['indicator', 'note']),
    id: uuid,
    status: z.enum(['draft', 'active', 'published']),
    reviewBy: timestamp,
    eraseAfter: timestamp.describe('reviewBy + 30 days: when the retention job erases the item unless it is extended'),
    version: z.number().int(),
  })
  .meta({ id: 'ReviewQueueItem' })

export const reviewQueuePage = z.object({ items: z.array(reviewQueueItem), nextCursor: z.string().nullable() }).meta({ id: 'ReviewQueuePage' })

export const reviewDecision = z
  .object({
    decision: z.enum(['extend', 'erase']),
    reviewBy: reviewByInput.optional().describe('extend: the new review-by date (required), in the future and at most 60 months ahead'),
    reason: z.string().trim().min(3).max(500).describe('Why the item is kept or erased: recorded in the audit event'),
  })
  .strict()
  .meta({ id: 'ReviewDecision' })

export type ReviewQueueQuery = z.infer<typeof reviewQueueQuery>
export type ReviewDecision = z.infer<typeof reviewDecision>
