import { z } from 'zod'
import { page, sector, timestamp, uuid } from '../../core/schemas.js'
import { distribution, reviewByInput, reviewStatus, tlp } from '../indicators/indicators.schemas.js'
import { review } from '../handling/publication.js'
import { handlingCreateFields, handlingOutput, handlingPatchFields } from '../handling/handling.js'

export const TOPICS = [
  'detection',
  'investigation',
  'risk_profiling',
  'virtual_currency_seizure',
  'legislation',
  'prevention',
  'training',
  'cooperation',
] as const
export const topic = z.enum(TOPICS)
// BCP 47 primary language tag (ISO 639-1), optionally with a region: "en", "de", "pt-BR".
const language = z.string().regex(/^[a-z]{2}(-[A-Z]{2})?$/, 'a language tag like "en" or "pt-BR"')
const uniq = <T extends z.ZodType>(item: T, max: number) =>
  z
    .array(item)
    .max(max)
    .refine((a) => new Set(a).size === a.length, 'must not repeat')
    .meta({ uniqueItems: true })

export const note = z
  .object({
    id: uuid,
    organisationId: uuid,
    title: z.string(),
    summary: z.string(),
    body: z.string().describe('Markdown'),
    topics: z.array(topic),
    sectors: z.array(sector).describe('Intended audience'),
    language: z.string(),
    tlp,
    distribution,
    sharingGroupId: uuid.nullable(),
    ...handlingOutput,
    status: z
      .enum(['draft', 'published', 'revoked', 'erased'])
      .describe('draft: four-eyes publication pending, seen by the own organisation only; erased: title, summary and body wiped (a tombstone)'),
    review,
    reviewBy: timestamp.describe("When the owner reviews the note: extend it or erase it (default from the owner's retention settings)"),
    reviewStatus: reviewStatus,
    version: z.number().int(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Note' })

export const noteCreate = z
  .object({
    title: z.string().trim().min(1).max(300),
    summary: z.string().trim().min(1).max(2000),
    body: z.string().min(1).max(200_000),
    topics: uniq(topic, 8).min(1).meta({ uniqueItems: true }),
    sectors: uniq(sector, 10).default([]),
    language: language.default('en'),
    tlp: tlp.default('amber'),
    distribution: distribution.default('organisation'),
    sharingGroupId: z.uuid().nullable().optional(),
    ...handlingCreateFields,
    reviewBy: reviewByInput.optional(),
  })
  .strict()
  .meta({ id: 'NoteCreate' })

export const notePatch = z
  .object({
    title: z.string().trim().min(1).max(300).optional(),
    summary: z.string().trim().min(1).max(2000).optional(),
    body: z.string().min(1).max(200_000).optional(),
    topics: uniq(topic, 8).min(1).meta({ uniqueItems: true }).optional(),
    sectors: uniq(sector, 10).optional(),
    language: language.optional(),
    tlp: tlp.optional(),
    distribution: distribution.optional(),
    sharingGroupId: z.uuid().nullable().optional(),
    ...handlingPatchFields,
    reviewBy: reviewByInput.optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'send at least one field to change')
  .meta({ id: 'NotePatch' })

export const noteListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().min(1).max(512).optional(),
    q: z.string().min(1).max(500).optional().describe('Full-text search over title, summary and body'),
    topic: topic.optional(),
    sector: sector.optional(),
    language: language.optional(),
    organisationId: z.uuid().optional(),
    updatedSince: z.iso.datetime({ offset: true }).optional(),
    status: z.enum(['draft', 'published', 'revoked']).optional(),
  })
  .strict()

export const notePage = page(note).meta({ id: 'NotePage' })

export const noteRevision = note
  .omit({ id: true, organisationId: true, createdAt: true, updatedAt: true, review: true, reviewBy: true, reviewStatus: true })
  .extend({ noteId: uuid, editedBy: uuid.nullable(), createdAt: timestamp })
  .meta({ id: 'NoteRevision' })
export const noteRevisionList = z.object({ items: z.array(noteRevision), nextCursor: z.string().nullable() }).meta({ id: 'NoteRevisionList' })

export type Note = z.infer<typeof note>
export type NoteCreate = z.infer<typeof noteCreate>
export type NotePatch = z.infer<typeof notePatch>
export type NoteListQuery = z.infer<typeof noteListQuery>
