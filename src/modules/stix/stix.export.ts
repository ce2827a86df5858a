// The STIX bundle for GET /v1/export/stix, produced page by page so any size streams in constant
// memory. Every page is read with canSee() (and row-level security in the transaction `run`
// gives it), so the export shows exactly what the list endpoints show — no match_only value of
// another organisation, ever.
import { randomUUID } from 'node:crypto'
import { and, asc, inArray, sql, type SQL } from 'drizzle-orm'
import { indicators, notes, organisations, type IndicatorRow, type NoteRow } from '../../db/schema/index.js'
import { rows, type Tx } from '../../db/client.js'
import type { Actor } from '../../core/actor.js'
import { keysetAfter } from '../../core/paging.js'
import { TLPS } from '../../access/visibility.js'
import { indicatorColumns, indicatorFilters } from '../indicators/indicators.repository.js'
import { noteColumns, noteFilters } from '../notes/notes.repository.js'
import { PREAMBLE, tlpMarkingDefinition } from './stix.constants.js'
import { toStixIdentity, toStixIndicator, toStixReport, toStixSighting, type StixObject } from './stix.mapping.js'
import type { ExportQuery } from './stix.schemas.js'
import { recordReceipts } from '../retention/receipts.js'

const PAGE = 500
export type Run = <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>

export interface ExportPlan {
  indicators: SQL[] | null
  notes: SQL[] | null
  sightings: boolean
}

/**
 * The WHERE clauses per kind: the list endpoints' own filters (indicatorFilters, noteFilters). A
 * filter only one kind has (type, value, tag, country; topic, sector, language) leaves the other
 * kind out. Throws a 400 for a value invalid for its type, before any byte is sent.
 */
export function planExport(q: ExportQuery): ExportPlan {
  const include = new Set((q.include ?? 'indicators,notes,sightings').split(','))
  const indicatorOnly = q.type !== undefined || q.value !== undefined || q.tag !== undefined || q.country !== undefined
  const noteOnly = q.topic !== undefined || q.sector !== undefined || q.language !== undefined

  const ind = include.has('indicators') && !noteOnly ? indicatorFilters(q) : null
  // The export's status names the indicators' statuses; a note's is published or revoked.
  const noteStatus = q.status === undefined ? undefined : q.status === 'active' ? 'published' : 'revoked'
  const nts = include.has('notes') && !indicatorOnly ? noteFilters({ ...q, status: noteStatus }) : null
  return { indicators: ind, notes: nts, sightings: include.has('sightings') && ind !== null }
}

async function sightingsOf(tx: Tx, ids: string[]): Promise<StixObject[]> {
  if (ids.length === 0) return []
  const rs = await rows<Record<string, unknown>>(
    tx,
    sql`select s.indicator_id, s.organisation_id, s.outcome, i.tlp, sum(s.count)::text as count, count(*)::int as reports,
               min(s.seen_at) as first_seen, max(s.seen_at) as last_seen, min(s.created_at) as first_reported, max(s.created_at) as last_reported
        from sightings s join indicators i on i.id = s.indicator_id
        where s.indicator_id in (${sql.join(
          ids.map((id) => sql`${id}::uuid`),
          sql`, `,
        )})
        group by s.indicator_id, s.organisation_id, s.outcome, i.tlp
        order by s.indicator_id, s.organisation_id, s.outcome`,
  )
  const d = (v: unknown) => new Date(v as string)
  return rs.map((r) =>
    toStixSighting({
      indicatorId: String(r.indicator_id),
      organisationId: String(r.organisation_id),
      outcome: String(r.outcome),
      tlp: String(r.tlp),
      count: Number(r.count),
      reports: Number(r.reports),
      firstSeen: d(r.first_seen),
      lastSeen: d(r.last_seen),
      firstReported: d(r.first_reported),
      lastReported: d(r.last_reported),
    }),
  )
}

/** Identity objects for organisations not yet in the bundle, so every created_by_ref resolves. */
async function identities(tx: Tx, seen: Set<string>, orgIds: string[]): Promise<StixObject[]> {
  const fresh = [...new Set(orgIds)].filter((id) => !seen.has(id))
  if (fresh.length === 0) return []
  fresh.forEach((id) => seen.add(id))
  const rs = await tx.select().from(organisations).where(inArray(organisations.id, fresh)).orderBy(asc(organisations.id))
  return rs.map(toStixIdentity)
}

/** Pages of one table oldest first by (created_at, id): stable under concurrent inserts. */
async function* pages<R extends { id: string; createdAt: Date }>(
  run: Run,
  fetch: (tx: Tx, after: SQL | undefined) => Promise<R[]>,
  t: typeof indicators | typeof notes,
) {
  let after: SQL | undefined
  for (;;) {
    const page = await run((tx) => fetch(tx, after))
    if (page.length) yield page
    const last = page.at(-1)
    if (page.length < PAGE || !last) return
    after = keysetAfter(t.createdAt, t.id, last.createdAt, last.id)
  }
}

/**
 * The bundle as JSON text chunks. `run` gives each page a transaction carrying the actor; the
 * objects written are counted into `stats`.
 */
export async function* bundleChunks(run: Run, actor: Actor, plan: ExportPlan, stats: { objects: number }): AsyncGenerator<string> {
  let first = true
  const emit = (objs: StixObject[]) => {
    let out = ''
    for (const o of objs) {
      out += (first ? '' : ',') + JSON.stringify(o)
      first = false
      stats.objects++
    }
    return out
  }
  yield `{"type":"bundle","id":"bundle--${randomUUID()}","objects":[`
  yield emit([...(PREAMBLE as StixObject[]), ...(TLPS.map(tlpMarkingDefinition) as StixObject[])])
  const seen = new Set<string>()

  if (plan.indicators) {
    const where = plan.indicators
    const fetch = async (tx: Tx, after: SQL | undefined) => {
      const rs = (await tx
        .select(indicatorColumns)
        .from(indicators)
        .where(and(...where, after))
        .orderBy(asc(indicators.createdAt), asc(indicators.id))
        .limit(PAGE)) as IndicatorRow[]
      // Exported: received (retraction notices reach the exporter, modules/retention/receipts.ts).
      await recordReceipts(tx, 'indicator', actor.organisationId, rs)
      return rs
    }
    for await (const page of pages(run, fetch, indicators)) {
      const objs = page.map((r) => toStixIndicator(r, actor.organisationId)).filter((o): o is StixObject => o !== null)
      const extra = await run(async (tx) => {
        const sights = plan.sightings
          ? await sightingsOf(
              tx,
              page.map((r) => r.id),
            )
          : []
        const orgIds = [...page.map((r) => r.organisationId), ...sights.map((s) => String(s.created_by_ref).slice('identity--'.length))]
        return { ids: await identities(tx, seen, orgIds), sights }
      })
      yield emit([...extra.ids, ...objs, ...extra.sights])
    }
  }
  if (plan.notes) {
    const where = plan.notes
    const fetch = async (tx: Tx, after: SQL | undefined) => {
      const rs = (await tx
        .select(noteColumns)
        .from(notes)
        .where(and(...where, after))
        .orderBy(asc(notes.createdAt), asc(notes.id))
        .limit(PAGE)) as NoteRow[]
      await recordReceipts(tx, 'note', actor.organisationId, rs)
      return rs
    }
    for await (const page of pages(run, fetch, notes)) {
      const ids = await run((tx) =>
        identities(
          tx,
          seen,
          page.map((r) => r.organisationId),
        ),
      )
      yield emit([...ids, ...page.map(toStixReport)])
    }
  }
  yield ']}'
}
