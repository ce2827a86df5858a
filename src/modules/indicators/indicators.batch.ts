// The two batch calls partner systems live on: bulk ingest (up to 1,000 items, per-item results,
// valid items committed even when others fail) and match (up to 10,000 values screened in one
// set-based query — the call a postal operator makes for a whole parcel batch).
import { recordReceipts } from '../retention/receipts.js'
import { createHash, randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { indicators } from '../../db/schema/index.js'
import { rows, type Tx } from '../../db/client.js'
import type { Ctx } from '../../access/scope.js'
import { AppError, type FieldProblem } from '../../core/errors.js'
import { canSee, forMatching } from '../../access/visibility.js'
import { candidateTypes, normalizeIndicator, type IndicatorType } from './normalize.js'
import { indicatorCreate } from './indicators.schemas.js'
import { checkInsert, type IndicatorInsert } from './indicators.service.js'
import { insertIndicators } from './indicators.repository.js'
import { groupRequired, groupUnusable, usableGroups } from '../sharing-groups/sharing-groups.service.js'
import { matchDigestHex } from './digest.js'
import { matchAnnotations, warningColumns, warningJoin } from '../warning-lists/annotate.js'
import { recordMatches } from './yield.service.js'
import { isPersonalType } from './personal-data.js'

const AUDIT_VALUES_KEPT = 100
// A hostile item with thousands of unknown keys must not turn into a megabyte of problems.
const MAX_ITEM_PROBLEMS = 20

type BulkResult = { index: number; status: 'created' | 'invalid'; id?: string; problem?: { detail: string; errors: FieldProblem[] } }

export async function bulkCreate(ctx: Ctx, items: unknown[]) {
  // Every item is checked in code first, outside the transaction; only the sharing groups named
  // (each once) and the insert itself (one statement) reach the database.
  const results: BulkResult[] = new Array(items.length)
  const valid: { index: number; values: IndicatorInsert & { id: string }; groupField?: string }[] = []
  const invalid = (index: number, e: AppError) => {
    results[index] = { index, status: 'invalid', problem: { detail: e.detail.slice(0, 2_000), errors: (e.fields ?? []).slice(0, MAX_ITEM_PROBLEMS) } }
  }
  for (const [index, item] of items.entries()) {
    const prefix = `items.${index}`
    const parsed = indicatorCreate.safeParse(item)
    if (!parsed.success) {
      // An unknown property is named itself (items.3.organisationId), as the single POST does.
      const errors = parsed.error.issues
        .flatMap((i) =>
          i.code === 'unrecognized_keys'
            ? i.keys.map((k) => ({ name: [prefix, ...i.path.map(String), k].join('.'), reason: 'is not a known property' }))
            : [{ name: [prefix, ...i.path.map(String)].join('.'), reason: i.message }],
        )
        .slice(0, MAX_ITEM_PROBLEMS)
      results[index] = { index, status: 'invalid', problem: { detail: errors.map((e) => `${e.name}: ${e.reason}`).join('; '), errors } }
      continue
    }
    try {
      const values = { ...checkInsert(ctx, parsed.data, prefix), id: randomUUID() }
      if (parsed.data.distribution !== 'sharing_group') valid.push({ index, values })
      else if (!values.sharingGroupId) invalid(index, groupRequired(`${prefix}.sharingGroupId`))
      else valid.push({ index, values, groupField: `${prefix}.sharingGroupId` })
    } catch (e) {
      if (!(e instanceof AppError) || e.status !== 400) throw e
      invalid(index, e)
    }
  }
  return ctx.tx(async (tx, audit) => {
    const named = valid.flatMap((v) => (v.groupField && v.values.sharingGroupId ? [v.values.sharingGroupId] : []))
    const usable = await usableGroups(tx, ctx.actor.organisationId, named)
    const accepted = valid.filter((v) => {
      if (!v.groupField || usable.has(v.values.sharingGroupId as string)) return true
      invalid(v.index, groupUnusable(v.groupField))
      return false
    })
    // The valid rows go in with one statement; their ids were chosen here.
    await insertIndicators(
      tx,
      accepted.map((r) => r.values),
    )
    for (const r of accepted) results[r.index] = { index: r.index, status: 'created', id: r.values.id }
    audit.set({ details: { submitted: items.length, created: accepted.length, invalid: items.length - accepted.length } })
    return { results }
  })
}

interface MatchValue {
  type?: IndicatorType
  value: string
}

interface MatchRow {
  idx: number
  id: string
  type: IndicatorType
  organisation_id: string
  value_visibility: 'full' | 'match_only'
  tlp: string
  confidence: number
  handling_code: 'H0' | 'H1' | 'H2' | 'H3'
  status: 'active' | 'revoked'
  name: string
  contact_email: string
  contact_phone: string | null
  contact_hours: string | null
  // The first warning list the caller may see holding the value (warning-lists/annotate.ts).
  list_id: string | null
  list_name: string | null
  list_reason: string | null
}

/** A match call's values, normalised once: the probes to look up and what the route needs to know first. */
export interface PreparedMatch {
  values: MatchValue[]
  probes: { idx: number; type: string; nv: string }[]
  problems: Map<number, string>
  /**
   * Whether the call screens personal data: a value typed as a personal-data type (valid or
   * not), or an untyped one tried as one (an e-mail address or phone number). The route asks for
   * a justification on it before anything runs.
   */
  personal: boolean
}

/**
 * Normalise every value the same way as on ingest; an untyped value is tried as every type it is
 * valid for. Pure: no query, nothing recorded — the justification check runs between this and
 * matchValues(), so the normalisation is done once for both.
 */
export function prepareMatch(values: MatchValue[]): PreparedMatch {
  const probes: { idx: number; type: string; nv: string }[] = []
  const problems = new Map<number, string>()
  let personal = false
  values.forEach((v, idx) => {
    if (v.type) {
      if (!personal && isPersonalType(v.type)) personal = true
      const n = normalizeIndicator(v.type, v.value)
      if (n.ok) probes.push({ idx, type: v.type, nv: n.normalizedValue })
      else problems.set(idx, n.reason)
    } else {
      for (const c of candidateTypes(v.value)) {
        if (!personal && isPersonalType(c.type)) personal = true
        probes.push({ idx, type: c.type, nv: c.normalizedValue })
      }
    }
  })
  return { values, probes, problems, personal }
}

export async function matchValues(ctx: Ctx, prepared: PreparedMatch) {
  const { values, probes, problems } = prepared
  return ctx.tx(async (tx, audit) => {
    await forMatching(tx)
    const found = probes.length ? await matchQuery(tx, probes) : []
    // Yield counts (held: no round trip of its own); warnings and over-correlation from the rows.
    await recordMatches(tx, found)
    const annotate = matchAnnotations(found)
    const byIdx = new Map<number, MatchRow[]>()
    for (const r of found) {
      const list = byIdx.get(r.idx)
      if (list) list.push(r)
      else byIdx.set(r.idx, [r])
    }
    const toMatch = (r: MatchRow) => {
      const contact: { email: string; phone?: string; hours?: string } = { email: r.contact_email }
      if (r.contact_phone) contact.phone = r.contact_phone
      if (r.contact_hours) contact.hours = r.contact_hours
      return {
        id: r.id,
        type: r.type,
        organisationId: r.organisation_id,
        organisation: { name: r.name, contact },
        valueVisibility: r.value_visibility,
        tlp: r.tlp as 'clear',
        confidence: r.confidence,
        handlingCode: r.handling_code,
        status: r.status,
        ...annotate(r),
      }
    }
    // Most values match nothing: their result is built without spreads or a map over nothing.
    const results = values.map((v, idx) => {
      const hits = byIdx.get(idx)
      const problem = problems.get(idx)
      // Keys in the order the response has always had them (type, value, problem, matches).
      const out: { type?: IndicatorType; value: string; problem?: string; matches?: ReturnType<typeof toMatch>[] } = v.type
        ? { type: v.type, value: v.value }
        : { value: v.value }
      if (problem !== undefined) out.problem = problem
      out.matches = hits ? hits.map(toMatch) : []
      return out as typeof out & { matches: ReturnType<typeof toMatch>[] }
    })
    await recordReceipts(
      tx,
      'indicator',
      ctx.actor.organisationId,
      found.map((r) => ({ id: r.id, organisationId: r.organisation_id })),
    )
    audit.set({ details: { ...matchQueryDigest(values), matchedValues: byIdx.size, matches: found.length } })
    return { results }
  })
}

/**
 * One set-based query for the whole batch. Each probe is a digest (digest.ts); the LATERAL join
 * (kept a subquery by OFFSET 0, which the planner may not flatten into a join) pins the plan to one descent of the covering match_digest index per probe, whatever the
 * planner thinks of the batch's size (a hash join over a sequential scan of a million rows costs
 * ten times as much), and the visibility rule reads only columns that index carries.
 */
async function matchQuery(tx: Tx, probes: { idx: number; type: string; nv: string }[]) {
  return rows<MatchRow>(tx, matchStatement(probes))
}

/** The match statement for a batch of probes (exported for the bench, which asserts its plan). */
export function matchStatement(probes: { idx: number; type: string; nv: string }[]) {
  const i = indicators
  const idx = `{${probes.map((p) => p.idx).join(',')}}`
  // A bytea[] literal: each element "\\x<hex>" (the array's own escaping, then bytea's hex form).
  const digests = `{${probes.map((p) => `"\\\\x${matchDigestHex(p.type, p.nv)}"`).join(',')}}`
  return sql`select q.idx, m.id, m.type, m.organisation_id, m.value_visibility, m.tlp, m.confidence, m.handling_code, m.status,
               o.name, o.contact_email, o.contact_phone, o.contact_hours, ${warningColumns}
        from unnest(${idx}::int[], ${digests}::bytea[]) as q(idx, digest)
        cross join lateral (
          select ${i.id} as id, ${i.type} as type, ${i.organisationId} as organisation_id, ${i.valueVisibility} as value_visibility,
                 ${i.tlp} as tlp, ${i.confidence} as confidence, ${i.handlingCode} as handling_code, ${i.status} as status, ${i.createdAt} as created_at
          from ${i}
          -- bytea = bytea is leakproof, so row-level security lets the index take it (decode() here would not).
          where ${i.matchDigest} = q.digest and ${i.status} = 'active' and ${canSee(i)}
          offset 0
        ) m
        join organisations o on o.id = m.organisation_id
        ${warningJoin(sql`q.digest`)}
        order by q.idx, m.created_at desc`
}

/** What the audit event keeps of a match query: the values (the first 100) and a digest of all. */
function matchQueryDigest(values: MatchValue[]) {
  const digest = createHash('sha256').update(JSON.stringify(values)).digest('hex')
  return {
    count: values.length,
    values: values.slice(0, AUDIT_VALUES_KEPT),
    ...(values.length > AUDIT_VALUES_KEPT ? { truncated: true } : {}),
    sha256: digest,
  }
}
