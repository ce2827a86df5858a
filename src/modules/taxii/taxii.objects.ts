// The objects of a collection, for the objects, manifest, object and versions endpoints. DCX keeps
// one version of each item (its current one), so an item's TAXII version and date_added are both
// its `modified` (updated_at): an update is a new version added to the collection. Pages are in
// (date_added, id) order; list reads only show rows whose writing transaction is older than every
// running one of this database (the change feed's horizon, db/horizon.ts), so a late commit never lands behind a page already
// served and a client polling with added_after or next misses nothing.
import { and, asc, gt, inArray, sql, type SQL } from 'drizzle-orm'
import { indicators, notes, type IndicatorRow, type NoteRow } from '../../db/schema/index.js'
import type { Tx } from '../../db/client.js'
import { horizon as horizonOf } from '../../db/horizon.js'
import type { Actor } from '../../core/actor.js'
import { AppError } from '../../core/errors.js'
import { decodeCursor, encodeCursor } from '../../core/cursor.js'
import { keysetAfter } from '../../core/paging.js'
import { canSee } from '../../access/visibility.js'
import { indicatorColumns } from '../indicators/indicators.repository.js'
import { noteColumns } from '../notes/notes.repository.js'
import { toStixIndicator, toStixReport, type StixObject } from '../stix/stix.mapping.js'
import { inCollection, type Collection } from './taxii.collections.js'
import { recordReceipts } from '../retention/receipts.js'

export const DEFAULT_LIMIT = 100
export const MAX_LIMIT = 1000

type Kind = 'indicator' | 'report'
const TABLES = { indicator: indicators, report: notes } as const
const COLUMNS = { indicator: indicatorColumns, report: noteColumns } as const

export interface Filter {
  addedAfter?: Date
  /** Per STIX type, the DCX ids asked for; undefined: no match[id]. */
  ids?: Record<Kind, string[]>
  types: Kind[]
  /** Versions asked for as timestamps; undefined: first, last or all (one version each here). */
  versions?: Date[]
  limit: number
  next?: [string, string]
}

export interface Entry {
  id: string
  dateAdded: string
  version: string
  object: StixObject
}

const UUID = '([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'
const STIX_ID = new RegExp(`^(indicator|report)--${UUID}$`, 'i')

/** A STIX id DCX may hold: its kind and DCX id; undefined for anything else. */
export function parseObjectId(id: string): { kind: Kind; id: string } | undefined {
  const m = STIX_ID.exec(id)
  return m ? { kind: m[1]!.toLowerCase() as Kind, id: m[2]!.toLowerCase() } : undefined
}

const values = (v: string | string[] | undefined) =>
  v === undefined
    ? []
    : (Array.isArray(v) ? v : [v])
        .flatMap((x) => x.split(','))
        .map((x) => x.trim())
        .filter(Boolean)

function badQuery(name: string, reason: string): AppError {
  return new AppError('validation', `query.${name}: ${reason}`, [{ name: `query.${name}`, reason }])
}

export interface MatchQuery {
  added_after?: string | undefined
  limit?: number | undefined
  next?: string | undefined
  'match[id]'?: string | string[] | undefined
  'match[type]'?: string | string[] | undefined
  'match[version]'?: string | string[] | undefined
  'match[spec_version]'?: string | string[] | undefined
}

/** The TAXII filter parameters (§3.5) as a Filter; a malformed value is a 400. */
export function parseFilter(q: MatchQuery): Filter {
  const types = values(q['match[type]'])
  const specs = values(q['match[spec_version]'])
  let kinds: Kind[] = types.length ? (['indicator', 'report'] as Kind[]).filter((k) => types.includes(k)) : ['indicator', 'report']
  // Every DCX object is STIX 2.1.
  if (specs.length && !specs.includes('2.1')) kinds = []
  const f: Filter = { types: kinds, limit: Math.min(q.limit ?? DEFAULT_LIMIT, MAX_LIMIT) }
  if (q.added_after) f.addedAfter = new Date(q.added_after)
  const ids = values(q['match[id]'])
  if (ids.length) {
    f.ids = { indicator: [], report: [] }
    for (const id of ids) {
      const p = parseObjectId(id)
      if (p) f.ids[p.kind].push(p.id)
    }
  }
  const versions = values(q['match[version]'])
  const stamps = versions.filter((v) => !['first', 'last', 'all'].includes(v))
  if (stamps.length && stamps.length === versions.length) {
    f.versions = stamps.map((v) => {
      const d = new Date(v)
      if (!/^\d{4}-\d{2}-\d{2}T/.test(v) || Number.isNaN(d.getTime())) throw badQuery('match[version]', 'first, last, all or timestamps')
      return d
    })
  }
  if (q.next) f.next = decodeCursor<[string, string]>(q.next, ['t', 'u'])
  return f
}

function conditions(actor: Actor, c: Collection, kind: Kind, f: Filter, below: string | undefined): SQL[] {
  const t = TABLES[kind]
  const where: SQL[] = [canSee(t), inCollection(c, actor, t)]
  if (below !== undefined) where.push(sql`${t.changeXid} < ${below}::xid8`)
  if (f.addedAfter) where.push(gt(t.updatedAt, f.addedAfter))
  if (f.ids) where.push(f.ids[kind].length ? inArray(t.id, f.ids[kind]) : sql`false`)
  if (f.versions) where.push(inArray(t.updatedAt, f.versions))
  if (f.next) where.push(keysetAfter(t.updatedAt, t.id, new Date(f.next[0]), f.next[1]))
  return where
}

function toEntry(kind: Kind, r: IndicatorRow | NoteRow, actor: Actor): Entry | null {
  const object = kind === 'indicator' ? toStixIndicator(r as IndicatorRow, actor.organisationId) : toStixReport(r as NoteRow)
  if (!object) return null
  const at = r.updatedAt.toISOString()
  return { id: object.id, dateAdded: at, version: at, object }
}

/** One page of a collection's objects, oldest date_added first, with `more` and `next`. */
export async function page(tx: Tx, actor: Actor, c: Collection, f: Filter, horizon = true): Promise<{ entries: Entry[]; more: boolean; next?: string }> {
  const fetched: { kind: Kind; row: IndicatorRow | NoteRow }[] = []
  // Asked once, in a statement of its own (dcx_horizon() is volatile).
  const below = horizon ? await horizonOf(tx) : undefined
  for (const kind of f.types) {
    const t = TABLES[kind]
    const rs = (await tx
      .select(COLUMNS[kind])
      .from(t)
      .where(and(...conditions(actor, c, kind, f, below)))
      .orderBy(asc(t.updatedAt), asc(t.id))
      .limit(f.limit + 1)) as (IndicatorRow | NoteRow)[]
    fetched.push(...rs.map((row) => ({ kind, row })))
  }
  // Merge the tables in (updated_at, id) order — the same order the next cursor continues from.
  fetched.sort((a, b) => a.row.updatedAt.getTime() - b.row.updatedAt.getTime() || (a.row.id < b.row.id ? -1 : a.row.id > b.row.id ? 1 : 0))
  const kept = fetched.slice(0, f.limit)
  const more = fetched.length > f.limit
  const last = kept.at(-1)
  const entries = kept.map((x) => toEntry(x.kind, x.row, actor)).filter((e): e is Entry => e !== null)
  // Pulled through TAXII (objects, an object, a manifest): received, for retraction notices.
  await recordReceipts(
    tx,
    'indicator',
    actor.organisationId,
    kept.filter((x) => x.kind === 'indicator').map((x) => x.row),
  )
  await recordReceipts(
    tx,
    'note',
    actor.organisationId,
    kept.filter((x) => x.kind === 'report').map((x) => x.row),
  )
  return { entries, more, ...(more && last ? { next: encodeCursor([last.row.updatedAt.toISOString(), last.row.id]) } : {}) }
}

/** The one object with this id in the collection (any filters applied), or undefined. */
export async function findObject(tx: Tx, actor: Actor, c: Collection, objectId: string, f: Omit<Filter, 'limit' | 'ids' | 'next'>) {
  const p = parseObjectId(objectId)
  if (!p || !f.types.includes(p.kind)) return undefined
  const { entries } = await page(tx, actor, c, { ...f, types: [p.kind], ids: { indicator: [], report: [], [p.kind]: [p.id] }, limit: 1 }, false)
  return entries[0] ? { ...entries[0], kind: p.kind, dcxId: p.id } : undefined
}
