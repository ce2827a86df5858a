// What a match on a value says beyond who holds it (DESIGN §8, "Warning lists"): that the value is
// on a warning list the caller may see (`warning: { list, listId, reason }`), and that it is held
// by more than OVER_CORRELATED items the caller may see (`overCorrelated: true`) — shared
// infrastructure, where a match alone says little. Both are counted over what the caller may see
// only (the one visibility definition, canSee()): counting every item would tell a caller how many
// holdings it cannot see share a value.
//
// Exported for every path that answers a match: POST /v1/indicators/match (matchAnnotations, which
// counts from the rows the match query already returned) and the screening resolve
// (annotateMatches, which asks the database for both).
// The match statement looks warnings up itself (warningJoin), so the match path adds no query.
import { sql, type SQL } from 'drizzle-orm'
import { indicators, warningListEntries, warningLists } from '../../db/schema/index.js'
import { rows, type Tx } from '../../db/client.js'
import { canSee } from '../../access/visibility.js'
import { matchDigest } from '../indicators/digest.js'
import type { MatchWarning } from './warning-lists.schemas.js'

/** A value held by more than this many visible items is over-correlated. */
export const OVER_CORRELATED = 20

export interface Annotation {
  warning?: MatchWarning
  overCorrelated?: true
}

/** A list is seen as an item of its owner would be: a platform list like a 'community' item of no one's. */
export const visibleList = canSee({
  organisationId: warningLists.organisationId,
  distribution: sql`case when ${warningLists.organisationId} is null then 'community' else 'organisation' end`,
  sharingGroupId: sql`null::uuid`,
})

/** The list with that id, if the caller may see it (for a LATERAL join). */
function listById(id: SQL): SQL {
  const l = warningLists
  return sql`select ${l.id} as id, ${l.name} as name, ${l.reason} as reason, ${l.organisationId} as organisation_id, ${l.createdAt} as created_at
             from ${l} where ${l.id} = ${id} and ${visibleList} offset 0`
}

/** A bytea[] literal (as the match statement writes its probes): each element "\\x<hex>". */
function byteaArray(digests: readonly Buffer[]): string {
  return `{${digests.map((d) => `"\\\\x${d.toString('hex')}"`).join(',')}}`
}

/**
 * The match statement's own warning lookup (indicators.batch.ts): for each returned row, the first
 * warning list the caller may see that holds the probe's digest, by one descent of the entries'
 * digest index — in the same statement, so a match pays no extra round trip for it.
 * `probeDigest` is the probe's digest column; the columns come out as list_id, list_name, list_reason.
 */
export const warningColumns = sql`w.list_id, w.list_name, w.list_reason`
export function warningJoin(probeDigest: SQL): SQL {
  const e = warningListEntries
  return sql`left join lateral (
          select wl.id as list_id, wl.name as list_name, wl.reason as list_reason
          -- The entries by digest first, then each one's list by key (LATERAL pins that order,
          -- whatever the planner thinks of the tables' sizes): one descent of the digest index.
          from (select ${e.listId} as list_id from ${e} where ${e.matchDigest} = ${probeDigest} offset 0) x
          cross join lateral (${listById(sql`x.list_id`)}) wl
          order by wl.organisation_id is null, wl.created_at, wl.id
          limit 1
        ) w on true`
}

/**
 * For each digest on a warning list the caller may see: one warning (the caller's own
 * organisation's lists first, then platform lists; oldest list first). Keyed by the digest in hex.
 */
export async function warningsFor(tx: Tx, digests: readonly Buffer[]): Promise<Map<string, MatchWarning>> {
  const out = new Map<string, MatchWarning>()
  if (digests.length === 0) return out
  const e = warningListEntries
  const rs = await rows<{ digest: Buffer | Uint8Array; id: string; name: string; reason: string }>(
    tx,
    sql`select distinct on (x.digest) x.digest, wl.id, wl.name, wl.reason
        from (select ${e.matchDigest} as digest, ${e.listId} as list_id from ${e} where ${e.matchDigest} = any(${byteaArray(digests)}::bytea[]) offset 0) x
        cross join lateral (${listById(sql`x.list_id`)}) wl
        order by x.digest, wl.organisation_id is null, wl.created_at, wl.id`,
  )
  for (const r of rs) out.set(Buffer.from(r.digest).toString('hex'), { list: r.name, listId: r.id, reason: r.reason })
  return out
}

/**
 * The digests (hex) held by more than OVER_CORRELATED active items the caller may see in this
 * transaction (in a matching transaction, match_only ones included). Each count stops at
 * OVER_CORRELATED + 1, one descent of the match digest index per digest.
 */
export async function overCorrelatedDigests(tx: Tx, digests: readonly Buffer[]): Promise<Set<string>> {
  if (digests.length === 0) return new Set()
  const i = indicators
  const rs = await rows<{ digest: Buffer | Uint8Array }>(
    tx,
    sql`select d.digest from unnest(${byteaArray(digests)}::bytea[]) as d(digest)
        where (select count(*) from (select 1 from ${i} where ${i.matchDigest} = d.digest and ${i.status} = 'active' and ${canSee(i)} limit ${OVER_CORRELATED + 1}) x) > ${OVER_CORRELATED}`,
  )
  return new Set(rs.map((r) => Buffer.from(r.digest).toString('hex')))
}

/**
 * The annotation of each value (type and normalised value), in order: for a path that has not
 * counted the holdings itself (the screening resolve). Two queries for the whole batch. Call it in
 * the transaction that answers, after forMatching() when match_only holdings count.
 */
export async function annotateMatches(tx: Tx, values: readonly { type: string; normalizedValue: string }[]): Promise<Annotation[]> {
  const digests = values.map((v) => matchDigest(v.type, v.normalizedValue))
  const unique = [...new Map(digests.map((d) => [d.toString('hex'), d])).values()]
  const warnings = await warningsFor(tx, unique)
  const over = await overCorrelatedDigests(tx, unique)
  return digests.map((d) => annotation(warnings.get(d.toString('hex')), over.has(d.toString('hex'))))
}

function annotation(warning: MatchWarning | undefined, overCorrelated: boolean): Annotation {
  return { ...(warning ? { warning } : {}), ...(overCorrelated ? { overCorrelated: true as const } : {}) }
}

/**
 * For POST /v1/indicators/match: the annotation of each returned row. The warning came with the
 * row (warningJoin); the holdings are counted from the rows the match query returned (every
 * visible active item with that digest), so annotating costs no query at all.
 */
export function matchAnnotations(
  found: readonly { idx: number; type: string; list_id?: string | null; list_name?: string | null; list_reason?: string | null }[],
): (r: (typeof found)[number]) => Annotation {
  const key = (idx: number, type: string) => `${idx}\u0000${type}`
  const held = new Map<string, number>()
  for (const r of found) held.set(key(r.idx, r.type), (held.get(key(r.idx, r.type)) ?? 0) + 1)
  return (r) =>
    annotation(
      r.list_id ? { list: r.list_name ?? '', listId: r.list_id, reason: r.list_reason ?? '' } : undefined,
      (held.get(key(r.idx, r.type)) ?? 0) > OVER_CORRELATED,
    )
}

/** The indicator's value is over-correlated for the caller (GET /v1/indicators/{id}/related leaves it out). */
export async function isOverCorrelated(tx: Tx, row: { type: string; normalizedValue: string }): Promise<boolean> {
  const d = matchDigest(row.type, row.normalizedValue)
  return (await overCorrelatedDigests(tx, [d])).has(d.toString('hex'))
}
