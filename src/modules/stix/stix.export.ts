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
import { indicatorColumns, indicatorFilters } from '../indicators/indicators.repository.js'
import { noteColumns, noteFilters } from '../notes/notes.repository.js'
import { FIXED_OBJECTS } from './stix.registry.js'
import { toStixIdentity, toStixIndicator, toStixReport, toStixSighting, type StixObject } from './stix.mapping.js'
import type { ExportQuery } from './stix.schemas.js'
import { withheldH1 } from '../handling/consents.js'
import { draftsOut } from '../handling/publication.js'
import { recordReceipts } from '../retention/receipts.js'

const PAGE = 500
const ORG_REF = /^identity--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
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
  // Drafts (four-eyes) never leave in an export, not even to their own organisation.
  return { indicators: ind && [...ind, draftsOut(indicators)], notes: nts && [...nts, draftsOut(notes)], sightings: include.has('sightings') && ind !== null }
}

async function sightingsOf(tx: Tx, ids: string[]): Promise<StixObject[]> {
  if (ids.length === 0) return []
  const rs = await rows<Record<string, unknown>>(
    tx,
    sql`select s.indicator_id, s.organisation_id, s.outcome, i.tlp, i.stix_id, i.handling_code, sum(s.count)::text as count, count(*)::int as reports,
               min(s.seen_at) as first_seen, max(s.seen_at) as last_seen, min(s.created_at) as first_reported, max(s.created_at) as last_reported
        from sightings s join indicators i on i.id = s.indicator_id
        where s.indicator_id in (${sql.join(
          ids.map((id) => sql`${id}::uuid`),
          sql`, `,
        )})
        group by s.indicator_id, s.organisation_id, s.outcome, i.tlp, i.stix_id, i.handling_code
        order by s.indicator_id, s.organisation_id, s.outcome`,
  )
  const d = (v: unknown) => new Date(v as string)
  return rs.map((r) =>
    toStixSighting({
      indicatorStixId: r.stix_id === null ? null : String(r.stix_id),
      indicatorId: String(r.indicator_id),
      organisationId: String(r.organisation_id),
      outcome: String(r.outcome),
      tlp: String(r.tlp),
      handlingCode: String(r.handling_code),
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
 * objects written are counted into `stats`. An evidential export (`stats.withheld` a number) leaves
 * out other organisations' H1 items the caller has no consent for, counting them there.
 */
export async function* bundleChunks(run: Run, actor: Actor, plan: ExportPlan, stats: { objects: number; withheld?: number }): AsyncGenerator<string> {
  /** The page without what an evidential export must leave out. */
  const evidential = async <R extends { id: string; organisationId: string; handlingCode: string }>(page: R[]): Promise<R[]> => {
    if (stats.withheld === undefined) return page
    const held = await run((tx) => withheldH1(tx, actor.organisationId, page))
    stats.withheld += held.size
    return held.size ? page.filter((r) => !held.has(r.id)) : page
  }
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
  // Every fixed definition (stix.registry.ts: TLP and handling-code markings among them): each reference to one resolves.
  yield emit([...FIXED_OBJECTS])
  const seen = new Set<string>()
  const carried = new Set<string>(FIXED_OBJECTS.map((o) => o.id))

  if (plan.indicators) {
    const where = plan.indicators
    const fetch = async (tx: Tx, after: SQL | undefined) => {
      const rs = (await tx
        .select(indicatorColumns)
        .from(indicators)
        .where(and(...where, after))
        .orderBy(asc(indicators.createdAt), asc(indicators.id))
        .limit(PAGE)) as IndicatorRow[]
      return rs
    }
    for await (const all of pages(run, fetch, indicators)) {
      const page = await evidential(all)
      const objs = page.map((r) => toStixIndicator(r, actor.organisationId)).filter((o): o is StixObject => o !== null)
      const extra = await run(async (tx) => {
        // Exported: received (retraction notices reach the exporter, modules/retention/receipts.ts).
        await recordReceipts(tx, 'indicator', actor.organisationId, page)
        const sights = plan.sightings
          ? await sightingsOf(
              tx,
              page.map((r) => r.id),
            )
          : []
        const orgIds = [
          ...page.map((r) => r.organisationId),
          ...sights.map((s) => String(s.created_by_ref).slice('identity--'.length)),
          // An imported object's producer, when it is an organisation of DCX.
          ...objs.flatMap((o) => (typeof o.created_by_ref === 'string' && ORG_REF.test(o.created_by_ref) ? [o.created_by_ref.slice('identity--'.length)] : [])),
        ]
        return { ids: await identities(tx, seen, orgIds), sights }
      })
      // What producers pushed along with their indicators (their identities, definitions).
      const along: StixObject[] = []
      for (const r of page) {
        if (r.status === 'erased') continue
        for (const o of (r.stixRefs ?? []) as StixObject[]) {
          // Never a DCX organisation's identity (the import leaves those to the directory).
          if (typeof o.id === 'string' && !carried.has(o.id)) {
            carried.add(o.id)
            along.push(o)
          }
        }
      }
      yield emit([...extra.ids, ...along, ...objs, ...extra.sights])
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
      return rs
    }
    for await (const all of pages(run, fetch, notes)) {
      const page = await evidential(all)
      const ids = await run(async (tx) => {
        await recordReceipts(tx, 'note', actor.organisationId, page)
        return identities(
          tx,
          seen,
          page.map((r) => r.organisationId),
        )
      })
      yield emit([...ids, ...page.map(toStixReport)])
    }
  }
  yield ']}'
}
