// Erasure: the one function that wipes an item, used by the owner's review decision ("erase") and
// by the automatic retention job (modules/retention/retention.job.ts). In the caller's
// transaction, acting as the owner organisation (row-level security applies as to any write):
//   indicators: value, normalized value, description and tags wiped, and the note of every
//   organisation's sighting report about it;
//   notes: title, summary and body wiped, and the same in every revision (migrations/0016 lets
//   the service role do that, and only that, once the note is erased), plus a last revision
//   recording the erased version;
// then status 'erased', version + 1, marked changed for the feed, and an erasure audit event
// (indicator.erase / note.erase) written in the same transaction. All of it commits together or
// not at all: a statement that fails half-way rolls every earlier one back with it.
// The row stays as a tombstone: its id, owner, type, marking and dates remain, so the audience
// that received it can be told it is gone (DESIGN §7, "Retraction").
import { and, eq, sql } from 'drizzle-orm'
import { auditEvents, indicators, noteRevisions, notes, sightings, type IndicatorRow, type NoteRow } from '../../db/schema/index.js'
import type { Tx } from '../../db/client.js'
import { indicatorColumns } from '../indicators/indicators.repository.js'
import { touched } from '../indicators/indicators.service.js'
import { noteColumns } from '../notes/notes.repository.js'
import { saveRevision } from '../notes/notes.service.js'
import { ERASURE_EVENTS } from '../../audit/events.js'
import { sendRetractions } from './receipts.js'

export type ItemKind = 'indicator' | 'note'

/** Who erases: an account deciding a review, or the retention job (no account: the service itself). */
export interface Eraser {
  accountId: string | null
  organisationId: string
  clientId: string
  requestId: string | null
  /** 'review': the owner decided; 'retention': 30 days past the review-by date. */
  trigger: 'review' | 'retention'
  reason?: string
}

export type Erased<K extends ItemKind> = K extends 'indicator' ? IndicatorRow : NoteRow

/**
 * Erase one item of `by.organisationId`, locking its row first. Returns the erased row, or
 * undefined when no such item of that organisation exists. Idempotent: an item already erased is
 * returned as it is, with no new version and no second event. `mustBeDueBefore`: the job erases
 * only what is still past its date once the row is locked (an owner may have extended it since
 * the job looked).
 */
export async function eraseItem<K extends ItemKind>(tx: Tx, kind: K, id: string, by: Eraser, mustBeDueBefore?: Date): Promise<Erased<K> | undefined> {
  const row = kind === 'indicator' ? await lockIndicator(tx, id, by.organisationId) : await lockNote(tx, id, by.organisationId)
  if (!row) return undefined
  if (row.status === 'erased') return row as Erased<K>
  if (mustBeDueBefore && !(row.reviewBy < mustBeDueBefore)) return undefined
  let erased: IndicatorRow | NoteRow | undefined
  if (kind === 'indicator') {
    ;[erased] = (await tx
      .update(indicators)
      // A STIX producer's own text (pattern, name, description) and what it pushed along go too; its
      // id stays, so the tombstone is served under the id the partner knows.
      .set({ value: '', normalizedValue: '', description: '', tags: [], stix: null, stixRefs: null, status: 'erased', version: row.version + 1, ...touched() })
      .where(and(eq(indicators.id, id), eq(indicators.version, row.version)))
      .returning(indicatorColumns)) as IndicatorRow[]
    // Every organisation's sighting notes about it: the reports stay, their free text goes
    // (migrations/0023 lets the owner do that, and only that, once the indicator is erased).
    if (erased) await tx.update(sightings).set({ note: null }).where(eq(sightings.indicatorId, id))
  } else {
    ;[erased] = (await tx
      .update(notes)
      .set({ title: '', summary: '', body: '', status: 'erased', version: row.version + 1, ...touched() })
      .where(and(eq(notes.id, id), eq(notes.version, row.version)))
      .returning(noteColumns)) as NoteRow[]
    // Every earlier version's text goes with it; the erased version is kept as the last revision.
    await tx.update(noteRevisions).set({ title: '', summary: '', body: '' }).where(eq(noteRevisions.noteId, id))
    if (erased) await saveRevision(tx, erased as NoteRow, by.accountId)
  }
  // The row is locked: its version cannot have moved.
  if (!erased) throw new Error(`erasure of ${kind} ${id}: the locked row changed`)
  // Every organisation that received it is told it is gone.
  await sendRetractions(tx, kind, id, 'erased', erased.version)
  const spec = ERASURE_EVENTS[kind]
  await tx.insert(auditEvents).values({
    accountId: by.accountId,
    organisationId: by.organisationId,
    clientId: by.clientId,
    action: spec.type,
    resourceType: spec.resource,
    resourceId: id,
    outcome: 'ok',
    requestId: by.requestId,
    details: {
      trigger: by.trigger,
      ...(by.reason ? { reason: by.reason } : {}),
      reviewBy: row.reviewBy.toISOString(),
      previousStatus: row.status,
      version: erased.version,
    },
  })
  return erased as Erased<K>
}

async function lockIndicator(tx: Tx, id: string, organisationId: string) {
  const [row] = await tx
    .select(indicatorColumns)
    .from(indicators)
    .where(and(eq(indicators.id, id), eq(indicators.organisationId, organisationId)))
    .for('update')
  return row as IndicatorRow | undefined
}

async function lockNote(tx: Tx, id: string, organisationId: string) {
  const [row] = await tx
    .select(noteColumns)
    .from(notes)
    .where(and(eq(notes.id, id), eq(notes.organisationId, organisationId)))
    .for('update')
  return row as NoteRow | undefined
}

/** Act as `organisationId` for the rest of the transaction (row-level security and canSee()). */
export async function actAs(tx: Tx, organisationId: string) {
  await tx.execute(sql`select dcx_act_as(${organisationId}::uuid)`)
}
