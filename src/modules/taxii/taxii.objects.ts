// The objects of a collection, for the objects, manifest, object and versions endpoints. DCX keeps
// one version of each item (its current one). An item's TAXII date_added is its updated_at (an
// update is a new version added to the collection); its version is the `modified` it is served
// with (its producer's while DCX holds the version it was given, stix.provenance.ts). Pages are in
// (date_added, key) order, key a UUID per object; list reads only show item rows whose writing
// transaction is older than every running one of this database (the change feed's horizon,
// db/horizon.ts), so a late commit never lands behind a page already served and a client polling
// with added_after or next misses nothing.
//
// Besides the items (indicators, best-practice notes as reports) a collection serves what they
// reference, so a resolving client finds every reference (issue 14):
// - fixed: DCX's identity, extension definitions and marking definitions (stix.registry.ts), in
//   every collection, dated by their own modified timestamp (before any item);
// - identity: the organisations whose items or sightings the caller sees in the collection, dated
//   by the organisation's updated_at;
// - sighting: per sighted indicator the caller sees in the collection, one summary per reporting
//   organisation and outcome, dated by its latest report;
// - carried: the identities and definitions a producer pushed with an indicator the caller sees
//   in the collection, dated by the first such indicator's date_added.
import { and, asc, gt, inArray, or, sql, type SQL } from 'drizzle-orm'
import { indicators, notes, organisations, sightings, type IndicatorRow, type NoteRow } from '../../db/schema/index.js'
import { rows, type Tx } from '../../db/client.js'
import { horizon as horizonOf } from '../../db/horizon.js'
import type { Actor } from '../../core/actor.js'
import { AppError } from '../../core/errors.js'
import { decodeCursor, encodeCursor } from '../../core/cursor.js'
import { keysetAfter } from '../../core/paging.js'
import { canSee } from '../../access/visibility.js'
import { draftsOut } from '../handling/publication.js'
import { indicatorColumns } from '../indicators/indicators.repository.js'
import { noteColumns } from '../notes/notes.repository.js'
import { toStixIdentity, toStixIndicator, toStixReport, toStixSighting, type StixObject } from '../stix/stix.mapping.js'
import { servedModified } from '../stix/stix.provenance.js'
import { FIXED_OBJECTS, fixedDate, uuidOf } from '../stix/stix.registry.js'
import { inCollection, type Collection } from './taxii.collections.js'
import { parseAddedAfter } from './taxii.schemas.js'
import { recordReceipts } from '../retention/receipts.js'

export const DEFAULT_LIMIT = 100
export const MAX_LIMIT = 1000

export type Kind = 'indicator' | 'report' | 'sighting' | 'identity' | 'carried' | 'fixed'
const KINDS: Kind[] = ['fixed', 'identity', 'carried', 'indicator', 'report', 'sighting']
/** The kinds that hold objects of each STIX type DCX serves. */
const KINDS_OF_TYPE: Record<string, Kind[]> = {
  indicator: ['indicator'],
  report: ['report'],
  sighting: ['sighting'],
  identity: ['fixed', 'identity', 'carried'],
  'marking-definition': ['fixed', 'carried'],
  'extension-definition': ['fixed', 'carried'],
}

export interface Filter {
  addedAfter?: Date | undefined
  /** The STIX ids asked for (match[id]); undefined: no match[id]. */
  ids?: string[]
  types: Kind[]
  /** STIX types asked for (match[type]); undefined: every type. */
  stixTypes?: string[]
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
  kind: Kind
  /** The page order: date_added, then key. */
  at: Date
  key: string
  /** For items: the DCX id and the owning organisation (DELETE revokes the owner's items only). */
  dcxId?: string
  ownerId?: string
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const STIX_ID = /^([a-z][a-z0-9-]*)--([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i

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
  let kinds: Kind[] = types.length ? KINDS.filter((k) => types.some((t) => KINDS_OF_TYPE[t]?.includes(k))) : [...KINDS]
  // Every DCX object is STIX 2.1.
  if (specs.length && !specs.includes('2.1')) kinds = []
  const f: Filter = { types: kinds, limit: Math.min(q.limit ?? DEFAULT_LIMIT, MAX_LIMIT) }
  if (types.length) f.stixTypes = types
  if (q.added_after) f.addedAfter = parseAddedAfter(q.added_after)
  const ids = values(q['match[id]'])
  if (ids.length) f.ids = ids
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

/** The uuids of the asked ids of one STIX type. */
const uuidsOf = (ids: string[], type: string) =>
  ids.flatMap((id) => {
    const m = STIX_ID.exec(id)
    return m && m[1]!.toLowerCase() === type ? [m[2]!.toLowerCase()] : []
  })

/** The version (served modified) of an indicator, in SQL: stix.provenance.ts servedModified. */
const indicatorVersion = sql`(case when ${indicators.version} = 1 and ${indicators.status} <> 'erased' and jsonb_typeof(${indicators.stix} -> 'modified') = 'string'
  and (${indicators.stix} ->> 'modified')::timestamptz <= ${indicators.updatedAt} then (${indicators.stix} ->> 'modified')::timestamptz else ${indicators.updatedAt} end)`

/** What an indicator row must satisfy to be in this collection for this caller (its visibility first). */
const indicatorIn = (actor: Actor, c: Collection, below: string | undefined): SQL[] => [
  canSee(indicators),
  inCollection(c, actor, indicators),
  draftsOut(indicators),
  ...(below !== undefined ? [sql`${indicators.changeXid} < ${below}::xid8`] : []),
]

function itemConditions(actor: Actor, c: Collection, kind: 'indicator' | 'report', f: Filter, below: string | undefined): SQL[] {
  const t = kind === 'indicator' ? indicators : notes
  const where: SQL[] = kind === 'indicator' ? indicatorIn(actor, c, below) : [canSee(notes), inCollection(c, actor, notes), draftsOut(notes)]
  if (kind === 'report' && below !== undefined) where.push(sql`${notes.changeXid} < ${below}::xid8`)
  if (f.addedAfter) where.push(gt(t.updatedAt, f.addedAfter))
  if (f.ids) {
    const uuids = uuidsOf(f.ids, kind)
    if (kind === 'indicator') {
      // Served under its producer's id when imported, else indicator--<DCX id>.
      const byStix = f.ids.filter((id) => id.toLowerCase().startsWith('indicator--'))
      where.push(
        or(
          byStix.length ? inArray(indicators.stixId, byStix) : sql`false`,
          uuids.length ? and(sql`${indicators.stixId} is null`, inArray(indicators.id, uuids)) : sql`false`,
        ) as SQL,
      )
    } else where.push(uuids.length ? inArray(notes.id, uuids) : sql`false`)
  }
  if (f.versions)
    where.push(
      kind === 'indicator'
        ? sql`${indicatorVersion} in (${sql.join(
            f.versions.map((v) => sql`${v.toISOString()}::timestamptz`),
            sql`, `,
          )})`
        : inArray(notes.updatedAt, f.versions),
    )
  if (f.next) where.push(keysetAfter(t.updatedAt, t.id, new Date(f.next[0]), f.next[1]))
  return where
}

async function items(tx: Tx, actor: Actor, c: Collection, kind: 'indicator' | 'report', f: Filter, below: string | undefined): Promise<Entry[]> {
  const t = kind === 'indicator' ? indicators : notes
  const rs = (await tx
    .select(kind === 'indicator' ? indicatorColumns : noteColumns)
    .from(t)
    .where(and(...itemConditions(actor, c, kind, f, below)))
    .orderBy(asc(t.updatedAt), asc(t.id))
    .limit(f.limit + 1)) as (IndicatorRow | NoteRow)[]
  const out: Entry[] = []
  for (const r of rs) {
    const object = kind === 'indicator' ? toStixIndicator(r as IndicatorRow, actor.organisationId) : toStixReport(r as NoteRow)
    if (!object) continue
    const version = kind === 'indicator' ? servedModified(r as IndicatorRow) : r.updatedAt.toISOString()
    out.push({ id: object.id, dateAdded: r.updatedAt.toISOString(), version, object, kind, at: r.updatedAt, key: r.id, dcxId: r.id, ownerId: r.organisationId })
  }
  return out
}

/** (at, key) after the cursor, for a derived row set (`a`: date_added, `k`: key uuid). */
function derivedAfter(f: Filter): SQL[] {
  const where: SQL[] = []
  if (f.addedAfter) where.push(sql`a > ${f.addedAfter.toISOString()}::timestamptz`)
  if (f.versions)
    where.push(
      sql`a in (${sql.join(
        f.versions.map((v) => sql`${v.toISOString()}::timestamptz`),
        sql`, `,
      )})`,
    )
  if (f.next) where.push(sql`(a, k) > (${f.next[0]}::timestamptz, ${f.next[1]}::uuid)`)
  return where
}

const whereAll = (xs: SQL[]) => (xs.length ? sql`where ${sql.join(xs, sql` and `)}` : sql``)

// sighting--<uuid>: stix.mapping.ts sightingId, computed here to page by it.
const SIGHTING_HASH = sql`md5('sighting:' || s.indicator_id::text || ':' || s.organisation_id::text || ':' || s.outcome)`
const sightingKey = sql`(substr(h, 1, 12) || '4' || substr(h, 14, 3) || substr('89ab', ((strpos('0123456789abcdef', substr(h, 17, 1)) - 1) % 4) + 1, 1) || substr(h, 18))::uuid`

async function sightingEntries(tx: Tx, actor: Actor, c: Collection, f: Filter, below: string | undefined): Promise<Entry[]> {
  const where = derivedAfter(f)
  if (f.ids) {
    const uuids = uuidsOf(f.ids, 'sighting')
    where.push(
      uuids.length
        ? sql`k in (${sql.join(
            uuids.map((u) => sql`${u}::uuid`),
            sql`, `,
          )})`
        : sql`false`,
    )
  }
  const rs = await rows<Record<string, unknown>>(
    tx,
    sql`select * from (
          select g.*, ${sightingKey} as k, g.last_reported as a from (
            select s.indicator_id, s.organisation_id, s.outcome, ${indicators.tlp} as tlp, ${indicators.stixId} as stix_id, ${SIGHTING_HASH} as h,
                   sum(s.count)::text as count, count(*)::int as reports, min(s.seen_at) as first_seen, max(s.seen_at) as last_seen,
                   min(s.created_at) as first_reported, max(s.created_at) as last_reported
            from ${sightings} s join ${indicators} on ${indicators.id} = s.indicator_id
            where ${and(...indicatorIn(actor, c, below))}
            group by s.indicator_id, s.organisation_id, s.outcome, ${indicators.tlp}, ${indicators.stixId}
          ) g
        ) x ${whereAll(where)}
        order by a, k limit ${f.limit + 1}`,
  )
  const d = (v: unknown) => new Date(v as string)
  return rs.map((r) => {
    const object = toStixSighting({
      indicatorStixId: r.stix_id === null ? null : String(r.stix_id),
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
    })
    const at = d(r.a)
    return { id: object.id, dateAdded: at.toISOString(), version: String(object.modified), object, kind: 'sighting' as const, at, key: String(r.k) }
  })
}

async function identityEntries(tx: Tx, actor: Actor, c: Collection, f: Filter, below: string | undefined): Promise<Entry[]> {
  const o = organisations
  const where: SQL[] = [
    sql`(exists (select 1 from ${indicators} where ${indicators.organisationId} = ${o.id} and ${and(...indicatorIn(actor, c, below))})
      or exists (select 1 from ${notes} where ${notes.organisationId} = ${o.id} and ${and(canSee(notes), inCollection(c, actor, notes))})
      or exists (select 1 from ${sightings} s join ${indicators} on ${indicators.id} = s.indicator_id
                 where s.organisation_id = ${o.id} and ${and(...indicatorIn(actor, c, below))}))`,
  ]
  if (f.addedAfter) where.push(gt(o.updatedAt, f.addedAfter))
  if (f.versions) where.push(inArray(o.updatedAt, f.versions))
  if (f.next) where.push(keysetAfter(o.updatedAt, o.id, new Date(f.next[0]), f.next[1]))
  if (f.ids) {
    const uuids = uuidsOf(f.ids, 'identity')
    where.push(uuids.length ? inArray(o.id, uuids) : sql`false`)
  }
  const rs = await tx
    .select({
      id: o.id,
      name: o.name,
      sector: o.sector,
      country: o.country,
      contactEmail: o.contactEmail,
      contactPhone: o.contactPhone,
      contactHours: o.contactHours,
      createdAt: o.createdAt,
      updatedAt: o.updatedAt,
    })
    .from(o)
    .where(and(...where))
    .orderBy(asc(o.updatedAt), asc(o.id))
    .limit(f.limit + 1)
  return rs.map((r) => {
    const object = toStixIdentity(r)
    return {
      id: object.id,
      dateAdded: r.updatedAt.toISOString(),
      version: String(object.modified),
      object,
      kind: 'identity' as const,
      at: r.updatedAt,
      key: r.id,
    }
  })
}

const CARRIED_ID = '^[a-z][a-z0-9-]*--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'

async function carriedEntries(tx: Tx, actor: Actor, c: Collection, f: Filter, below: string | undefined): Promise<Entry[]> {
  const where = derivedAfter(f)
  if (f.ids)
    where.push(
      sql`obj ->> 'id' in (${sql.join(
        f.ids.map((id) => sql`${id}`),
        sql`, `,
      )})`,
    )
  if (f.stixTypes)
    where.push(
      sql`obj ->> 'type' in (${sql.join(
        f.stixTypes.map((t) => sql`${t}`),
        sql`, `,
      )})`,
    )
  const rs = await rows<{ obj: StixObject; a: string | Date; k: string }>(
    tx,
    sql`select * from (
          select distinct on (r ->> 'id') r as obj, ${indicators.updatedAt} as a, substring(r ->> 'id' from '--(.{36})$')::uuid as k
          from ${indicators} cross join lateral jsonb_array_elements(${indicators.stixRefs}) r
          where ${and(
            ...indicatorIn(actor, c, below),
            sql`${indicators.stixRefs} is not null`,
            sql`${indicators.status} <> 'erased'`,
            // Served with the indicator only: not for another organisation's match_only one, which is not served.
            sql`(${indicators.valueVisibility} <> 'match_only' or ${indicators.organisationId} = ${actor.organisationId}::uuid)`,
          )}
            and (r ->> 'id') ~ ${CARRIED_ID}
          order by r ->> 'id', ${indicators.updatedAt}
        ) x ${whereAll(where)}
        order by a, k limit ${f.limit + 1}`,
  )
  return rs.map((r) => {
    const at = new Date(r.a)
    const version = String(r.obj.modified ?? r.obj.created ?? at.toISOString())
    return { id: r.obj.id, dateAdded: at.toISOString(), version, object: r.obj, kind: 'carried' as const, at, key: r.k }
  })
}

function fixedEntries(f: Filter): Entry[] {
  const after = f.next ? { at: new Date(f.next[0]).getTime(), key: f.next[1] } : undefined
  return FIXED_OBJECTS.map((object) => {
    const at = fixedDate(object)
    return {
      id: object.id,
      dateAdded: at.toISOString(),
      version: String(object.modified ?? object.created),
      object,
      kind: 'fixed' as const,
      at,
      key: uuidOf(object.id)!,
    }
  })
    .filter(
      (e) =>
        (!f.ids || f.ids.includes(e.id)) &&
        (!f.stixTypes || f.stixTypes.includes(e.object.type)) &&
        (!f.addedAfter || e.at > f.addedAfter) &&
        (!f.versions || f.versions.some((v) => v.getTime() === e.at.getTime())) &&
        (!after || e.at.getTime() > after.at || (e.at.getTime() === after.at && e.key > after.key)),
    )
    .sort(order)
}

const order = (a: Entry, b: Entry) => a.at.getTime() - b.at.getTime() || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)

/** One page of a collection's objects, oldest date_added first, with `more` and `next`. */
export async function page(tx: Tx, actor: Actor, c: Collection, f: Filter, horizon = true): Promise<{ entries: Entry[]; more: boolean; next?: string }> {
  if (f.next && !UUID_RE.test(f.next[1])) throw badQuery('next', 'not a cursor this server issued')
  // Asked once, in a statement of its own (dcx_horizon() is volatile).
  const below = horizon ? await horizonOf(tx) : undefined
  const fetched: Entry[] = []
  for (const kind of f.types) {
    if (kind === 'fixed') fetched.push(...fixedEntries(f).slice(0, f.limit + 1))
    else if (kind === 'indicator' || kind === 'report') fetched.push(...(await items(tx, actor, c, kind, f, below)))
    else if (kind === 'sighting') fetched.push(...(await sightingEntries(tx, actor, c, f, below)))
    else if (kind === 'identity') fetched.push(...(await identityEntries(tx, actor, c, f, below)))
    else fetched.push(...(await carriedEntries(tx, actor, c, f, below)))
  }
  // Merge the kinds in (date_added, key) order — the same order the next cursor continues from.
  fetched.sort(order)
  const entries = fetched.slice(0, f.limit)
  const more = fetched.length > f.limit
  const last = entries.at(-1)
  // Pulled through TAXII (objects, an object, a manifest): received, for retraction notices.
  const received = (kind: Entry['kind']) =>
    entries.flatMap((e) => (e.kind === kind && e.dcxId && e.ownerId ? [{ id: e.dcxId, organisationId: e.ownerId }] : []))
  await recordReceipts(tx, 'indicator', actor.organisationId, received('indicator'))
  await recordReceipts(tx, 'note', actor.organisationId, received('report'))
  return { entries, more, ...(more && last ? { next: encodeCursor([last.at.toISOString(), last.key]) } : {}) }
}

/** The one object with this id in the collection (any filters applied), or undefined. */
export async function findObject(tx: Tx, actor: Actor, c: Collection, objectId: string, f: Omit<Filter, 'limit' | 'ids' | 'next'>) {
  const m = STIX_ID.exec(objectId)
  if (!m) return undefined
  const kinds = f.types.filter((k) => KINDS_OF_TYPE[m[1]!.toLowerCase()]?.includes(k))
  if (!kinds.length) return undefined
  const { entries } = await page(tx, actor, c, { ...f, types: kinds, ids: [objectId], limit: 1 }, false)
  return entries[0]
}

/** An item's DCX id and kind, for DELETE; undefined for anything that is not an item. */
export const itemOf = (e: Entry) =>
  (e.kind === 'indicator' || e.kind === 'report') && e.dcxId && e.ownerId ? { kind: e.kind, id: e.dcxId, ownerId: e.ownerId } : undefined
