import { z } from 'zod'
import { page, timestamp, uuid } from '../../core/schemas.js'
import { INDICATOR_TYPES } from '../indicators/normalize.js'

// Not indicators.schemas' indicatorType: that module imports matchWarning from here.
const indicatorType = z.enum(INDICATOR_TYPES)

/** At most this many entries in one request (create or add or remove). */
export const MAX_ENTRIES_PER_REQUEST = 1_000
/** At most this many entries in one list: GET /v1/warning-lists/{id} returns them all. */
export const MAX_ENTRIES_PER_LIST = 10_000

export const warningListEntry = z
  .object({
    type: indicatorType,
    value: z.string().min(1).max(4000).describe('Normalised with the indicator normaliser on the way in; returned normalised'),
  })
  .strict()
  .meta({ id: 'WarningListEntry' })

const entries = z.array(warningListEntry).max(MAX_ENTRIES_PER_REQUEST)

const listFields = {
  id: uuid,
  name: z.string(),
  scope: z.enum(['platform', 'organisation']).describe('platform: curated by platform admins, read by every account; organisation: its members only'),
  organisationId: uuid.optional().describe('The owner organisation (organisation scope only)'),
  reason: z.string().describe('Why a match on a listed value deserves a second look, shown with the match'),
  entryCount: z.number().int(),
  version: z.number().int(),
  createdAt: timestamp,
  updatedAt: timestamp,
}

export const warningListSummary = z.object(listFields).meta({ id: 'WarningListSummary' })
export const warningList = z
  .object({ ...listFields, entries: z.array(warningListEntry).describe('Every entry, ordered by type and value') })
  .meta({ id: 'WarningList' })
export const warningListPage = page(warningListSummary).meta({ id: 'WarningListPage' })

const name = z.string().trim().min(1).max(200)
const reason = z.string().trim().min(1).max(2000)

export const warningListCreate = z
  .object({
    name,
    scope: z
      .enum(['platform', 'organisation'])
      .default('organisation')
      .describe("platform needs platform_admin; organisation (the default) is the caller's organisation's and needs org_admin"),
    reason,
    entries: entries.default([]).describe(`Up to ${MAX_ENTRIES_PER_REQUEST.toLocaleString('en')} entries; add more with POST …/entries`),
  })
  .strict()
  .meta({ id: 'WarningListCreate' })

export const warningListPatch = z
  .object({ name: name.optional(), reason: reason.optional() })
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'send at least one field to change')
  .meta({ id: 'WarningListPatch' })

export const warningListEntries = z
  .object({ entries: entries.min(1) })
  .strict()
  .meta({ id: 'WarningListEntries' })

export const warningListEntriesResult = z
  .object({
    added: z.number().int().optional().describe('Entries new to the list (those already on it are left as they are)'),
    removed: z.number().int().optional().describe('Entries that were on the list and are now gone'),
    entryCount: z.number().int(),
    version: z.number().int(),
  })
  .meta({ id: 'WarningListEntriesResult' })

/** What a match on a listed value carries. */
export const matchWarning = z
  .object({ list: z.string().describe("The list's name"), listId: uuid, reason: z.string() })
  .describe('The value is on a warning list the caller may see (shared infrastructure: a match on it alone says little)')
  .meta({ id: 'MatchWarning' })

export type WarningListCreate = z.infer<typeof warningListCreate>
export type WarningListPatch = z.infer<typeof warningListPatch>
export type WarningListEntry = z.infer<typeof warningListEntry>
export type MatchWarning = z.infer<typeof matchWarning>
