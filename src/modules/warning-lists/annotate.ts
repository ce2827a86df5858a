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
import { sql } from 'drizzle-orm'
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

/** A bytea[] literal (as the match statement writes its probes): each element "\\x<hex>". */
function byteaArray(digests: readonly Buffer[]): string {
  return `{${digests.map((d) => `"\\\\x${d.toString('hex')}"`).join(',')}}`
}

/**
 * For each digest on a warning list the caller may see: one warning (the caller's own
 * organisation's lists first, then platform lists; oldest list first). Keyed by the digest in hex.
 */
export async function warningsFor(tx: Tx, digests: readonly Buffer[]): Promise<Map<string, MatchWarning>> {
  const out = new Map<string, MatchWarning>()
  if (digests.length === 0) return out
  const e = warningListEntries
  const l = warningLists
  const rs = await rows<{ digest: Buffer | Uint8Array; id: string; name: string; reason: string }>(
    tx,
    sql`select distinct on (${e.matchDigest}) ${e.matchDigest} as digest, ${l.id} as id, ${l.name} as name, ${l.reason} as reason
        from ${e} join ${l} on ${l.id} = ${e.listId}
        where ${e.matchDigest} = any(${byteaArray(digests)}::bytea[]) and ${visibleList}
        order by ${e.matchDigest}, ${l.organisationId} is null, ${l.createdAt}, ${l.id}`,
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
 * For POST /v1/indicators/match: the annotation of each returned row, by (probe, type). The
 * holdings are counted from the rows the match query returned (every visible active item with
 * that digest), so only the warning lists cost a query — one, for the probes that matched.
 */
export async function matchAnnotations(
  tx: Tx,
  probes: readonly { idx: number; type: string; nv: string }[],
  found: readonly { idx: number; type: string }[],
): Promise<(r: { idx: number; type: string }) => Annotation> {
  if (found.length === 0) return () => ({})
  const key = (idx: number, type: string) => `${idx}\u0000${type}`
  const held = new Map<string, number>()
  for (const r of found) held.set(key(r.idx, r.type), (held.get(key(r.idx, r.type)) ?? 0) + 1)
  const digestOf = new Map<string, string>()
  const unique = new Map<string, Buffer>()
  for (const p of probes) {
    const k = key(p.idx, p.type)
    if (!held.has(k)) continue
    const d = matchDigest(p.type, p.nv)
    const hex = d.toString('hex')
    digestOf.set(k, hex)
    unique.set(hex, d)
  }
  const warnings = await warningsFor(tx, [...unique.values()])
  return (r) => {
    const k = key(r.idx, r.type)
    const hex = digestOf.get(k)
    return annotation(hex ? warnings.get(hex) : undefined, (held.get(k) ?? 0) > OVER_CORRELATED)
  }
}

/** The indicator's value is over-correlated for the caller (GET /v1/indicators/{id}/related leaves it out). */
export async function isOverCorrelated(tx: Tx, row: { type: string; normalizedValue: string }): Promise<boolean> {
  const d = matchDigest(row.type, row.normalizedValue)
  return (await overCorrelatedDigests(tx, [d])).has(d.toString('hex'))
}
