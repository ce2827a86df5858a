// Oblivious screening's operations (DESIGN.md §8). The server never sees a tested value: evaluate
// gets blinded elements, resolve gets the tags of local hits only, which reveals only values the
// server holds already. Visibility is the one definition's (canSee with forMatching): the digest
// holds the tags of the holdings the caller may match, resolve answers only those.
import { createHash } from 'node:crypto'
import sodium from 'libsodium-wrappers-sumo'
import { sql } from 'drizzle-orm'
import { rows, type Tx } from '../../db/client.js'
import { indicators, screeningDisclosures } from '../../db/schema/index.js'
import type { Ctx } from '../../access/scope.js'
import { canSee, forMatching } from '../../access/visibility.js'
import { AppError } from '../../core/errors.js'
import { decodeCursor, encodeCursor } from '../../core/cursor.js'
import { loadFastOprf } from '../../screening/fast.js'
import { ELEMENT_BYTES } from '../../screening/oprf.js'
import { keysEntry, type ScreeningKey, type ScreeningKeys } from '../../screening/keys.js'
import { encodeDigest, fromBase64url, TAG_BYTES, toBase64url } from '../../screening/wire.js'
import { annotateMatches, type Annotation } from '../warning-lists/annotate.js'

export interface ScreeningDeps {
  keys: ScreeningKeys
  /** Elements one organisation may have evaluated per UTC day. */
  dailyQuota: number
}

const invalid = (name: string, reason: string) => new AppError('validation', `${name}: ${reason}`, [{ name, reason }])

/** An accepted epoch's key, else a 400 naming body.epoch. */
async function acceptedKey(deps: ScreeningDeps, epoch: number): Promise<ScreeningKey> {
  const key = await deps.keys.accepted(epoch)
  if (!key) {
    const current = await deps.keys.current()
    throw invalid('body.epoch', `epoch ${epoch} is not accepted (current: ${current.epoch}; see GET /v1/screening/keys)`)
  }
  return key
}

export async function screeningKeys(deps: ScreeningDeps) {
  const [current, ...previous] = await deps.keys.published()
  if (!current) throw new Error('no screening key')
  return { ...keysEntry(current), previous: previous.map(keysEntry) }
}

export interface Digest {
  epoch: number
  type: string
  /** The tags packed, 8 bytes each, sorted and unique. */
  packed: Buffer
  count: number
  etag: string
}

/** The caller's digest of one type in the current epoch: the tags of the holdings it may match. */
export async function screeningDigest(
  ctx: Ctx,
  deps: ScreeningDeps,
  type: string,
  format: 'json' | 'octets',
  ifNoneMatch?: string | undefined,
): Promise<Digest & { notModified: boolean }> {
  const key = await deps.keys.current()
  return ctx.tx(async (tx, audit) => {
    await forMatching(tx)
    const found = await rows<{ tag: Buffer }>(
      tx,
      sql`select distinct t.tag from screening_tags t join ${indicators} on ${indicators.id} = t.indicator_id
          where t.epoch = ${key.epoch} and t.type = ${type} and ${indicators.status} = 'active' and ${indicators.changeSeq} = t.change_seq
            and ${canSee(indicators)}
          order by t.tag`,
    )
    const packed = Buffer.concat(found.map((r) => Buffer.from(r.tag)))
    const etag = `"sd-${createHash('sha256').update(`${key.epoch}:${type}:`).update(packed).digest('base64url').slice(0, 22)}"`
    // If-None-Match naming this digest: a 304, and the event says so.
    const notModified = ifNoneMatch !== undefined && ifNoneMatch.split(',').some((e) => e.trim().replace(/^W\//, '') === etag)
    audit.set({ details: { epoch: key.epoch, type, returned: notModified ? 0 : found.length, format }, ...(notModified ? { status: 304 } : {}) })
    return { epoch: key.epoch, type, packed, count: found.length, etag, notModified }
  })
}

/** The JSON digest message (DESIGN.md §8) of a packed digest. */
export function digestMessage(d: Digest) {
  const tags: Uint8Array[] = []
  for (let i = 0; i < d.count; i++) tags.push(d.packed.subarray(i * TAG_BYTES, (i + 1) * TAG_BYTES))
  return encodeDigest(d.epoch, d.type, tags)
}

/** The strict checks of the wire (alphabet, canonical, length) and of the group: a valid ristretto255 element, not the identity. */
function blindedElements(elements: string[]): Uint8Array[] {
  return elements.map((e, i) => {
    const name = `body.elements.${i}`
    let bytes: Uint8Array
    try {
      bytes = fromBase64url(e, name, ELEMENT_BYTES)
    } catch (err) {
      throw invalid(name, (err as Error).message.replace(`${name} `, ''))
    }
    if (!sodium.crypto_core_ristretto255_is_valid_point(bytes) || bytes.every((b) => b === 0)) {
      throw invalid(name, 'is not a valid ristretto255 element (or is the identity)')
    }
    return bytes
  })
}

/** Today's UTC date, the quota's day. */
const today = () => new Date().toISOString().slice(0, 10)
/** Seconds until the next UTC midnight, when the quota starts again. */
const secondsToMidnight = () => {
  const now = new Date()
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000))
}

function quotaExceeded(used: number | undefined, quota: number, asked: number): AppError {
  const seconds = secondsToMidnight()
  const left = used === undefined ? quota : Math.max(0, quota - used)
  return new AppError(
    'rate_limited',
    `The daily screening quota of ${quota} elements is reached (${left} left today, ${asked} asked); retry in ${seconds} s.`,
    undefined,
    { 'retry-after': String(seconds) },
  )
}

/**
 * Count `n` elements against the caller's organisation's quota for today: one statement (insert
 * or add, only while the sum stays within the quota), so nodes sharing the database share the
 * quota and two concurrent calls never both pass its end. The new total, or undefined when over.
 */
async function spendQuota(tx: Tx, organisationId: string, n: number, quota: number): Promise<number | undefined> {
  const [row] = await rows<{ used: number }>(
    tx,
    sql`insert into screening_quota as q (organisation_id, day, used) values (${organisationId}::uuid, ${today()}::date, ${n}::int)
        on conflict (organisation_id, day) do update set used = q.used + excluded.used
        where q.used + excluded.used <= ${quota}::int
        returning q.used`,
  )
  return row ? Number(row.used) : undefined
}

export async function screeningEvaluate(
  ctx: Ctx,
  deps: ScreeningDeps,
  body: { epoch: number; type: string; elements: string[] },
  justification: string | undefined,
) {
  const key = await acceptedKey(deps, body.epoch)
  const fast = await loadFastOprf()
  // Every element checked before anything is counted or computed.
  const blinded = blindedElements(body.elements)
  const n = blinded.length
  if (n > deps.dailyQuota) throw quotaExceeded(undefined, deps.dailyQuota, n)
  // The quota and the audit event commit together, before the work (about 0.25 ms an element):
  // a caller over its quota costs a statement, not a batch evaluation.
  await ctx.tx(async (tx, audit) => {
    const total = await spendQuota(tx, ctx.actor.organisationId, n, deps.dailyQuota)
    if (total === undefined) throw quotaExceeded(undefined, deps.dailyQuota, n)
    audit.set({
      details: { epoch: key.epoch, type: body.type, count: n, quotaUsed: total, quota: deps.dailyQuota, ...(justification ? { justification } : {}) },
    })
  })
  const { evaluated, proof } = fast.blindEvaluate(key, blinded)
  return { epoch: key.epoch, evaluated: evaluated.map(toBase64url), proof: toBase64url(proof) }
}

interface ResolveRow {
  tag: Buffer
  id: string
  type: string
  organisation_id: string
  tlp: string
  handling_code: string
  normalized_value: string
  name: string
  contact_email: string
  contact_phone: string | null
  contact_hours: string | null
}

export async function screeningResolve(
  ctx: Ctx,
  deps: ScreeningDeps,
  body: { epoch: number; type: string; tags: string[] },
  facts: { justification: string | undefined; requestId: string },
) {
  const key = await acceptedKey(deps, body.epoch)
  const tags = body.tags.map((t, i) => {
    const name = `body.tags.${i}`
    try {
      return fromBase64url(t, name, TAG_BYTES)
    } catch (err) {
      throw invalid(name, (err as Error).message.replace(`${name} `, ''))
    }
  })
  const literal = `{${tags.map((t) => `"\\\\x${Buffer.from(t).toString('hex')}"`).join(',')}}`
  return ctx.tx(async (tx, audit) => {
    await forMatching(tx)
    const found = await rows<ResolveRow>(
      tx,
      sql`select t.tag, ${indicators.id} as id, ${indicators.type} as type, ${indicators.organisationId} as organisation_id,
                 ${indicators.tlp} as tlp, ${indicators.handlingCode} as handling_code, ${indicators.normalizedValue} as normalized_value,
                 o.name, o.contact_email, o.contact_phone, o.contact_hours
          from screening_tags t
          join ${indicators} on ${indicators.id} = t.indicator_id
          join organisations o on o.id = ${indicators.organisationId}
          where t.epoch = ${key.epoch} and t.type = ${body.type} and t.tag = any(${literal}::bytea[])
            and ${indicators.status} = 'active' and ${indicators.changeSeq} = t.change_seq and ${canSee(indicators)}
          order by t.tag, ${indicators.createdAt} desc, ${indicators.id}`,
    )
    const byTag = new Map<string, ResolveRow[]>()
    for (const r of found) {
      const k = toBase64url(new Uint8Array(r.tag))
      const list = byTag.get(k)
      if (list) list.push(r)
      else byTag.set(k, [r])
    }
    // A resolved value on a warning list, or over-correlated, says so (as a match does). One tag is
    // one value; the annotation never carries the value.
    const resolvedTags = [...byTag.keys()]
    const annotations = new Map<string, Annotation>()
    if (resolvedTags.length) {
      const firsts = resolvedTags.map((k) => byTag.get(k)![0]!)
      const notes = await annotateMatches(
        tx,
        firsts.map((r) => ({ type: r.type, normalizedValue: r.normalized_value })),
      )
      resolvedTags.forEach((k, i) => annotations.set(k, notes[i] ?? {}))
    }
    // The disclosure: which holdings reached which organisation. The owner's notice is the row
    // (GET /v1/screening/disclosures); resolving one's own holdings discloses nothing.
    const seen = new Set<string>()
    const disclosed = found.filter((r) => r.organisation_id !== ctx.actor.organisationId && !seen.has(r.id) && seen.add(r.id))
    if (disclosed.length) {
      await tx.insert(screeningDisclosures).values(
        disclosed.map((r) => ({
          indicatorId: r.id,
          ownerId: r.organisation_id,
          disclosedTo: ctx.actor.organisationId,
          accountId: ctx.actor.accountId,
          epoch: key.epoch,
          type: body.type,
          justification: facts.justification ?? null,
          requestId: facts.requestId.slice(0, 128),
        })),
      )
    }
    audit.set({
      details: {
        epoch: key.epoch,
        type: body.type,
        count: tags.length,
        resolved: byTag.size,
        disclosed: disclosed.map((r) => ({ indicatorId: r.id, organisationId: r.organisation_id })),
        ...(facts.justification ? { justification: facts.justification } : {}),
      },
    })
    return {
      results: body.tags.map((tag) => ({
        tag,
        matches: (byTag.get(tag) ?? []).map((r) => ({
          id: r.id,
          type: r.type as 'email',
          organisationId: r.organisation_id,
          organisation: {
            name: r.name,
            contact: { email: r.contact_email, ...(r.contact_phone ? { phone: r.contact_phone } : {}), ...(r.contact_hours ? { hours: r.contact_hours } : {}) },
          },
          tlp: r.tlp as 'clear',
          handlingCode: r.handling_code as 'H0',
        })),
        ...annotations.get(tag),
      })),
    }
  })
}

interface DisclosureRow {
  id: string
  indicator_id: string
  disclosed_to: string
  name: string
  epoch: number
  type: string
  justification: string | null
  created_at: Date | string
}

/** The notices of the caller's organisation: its holdings that resolves disclosed to others, newest first. */
export async function listDisclosures(ctx: Ctx, q: { limit: number; cursor?: string | undefined; indicatorId?: string | undefined }) {
  const after = q.cursor ? decodeCursor<[string, string]>(q.cursor, ['t', 'u']) : undefined
  return ctx.tx(async (tx, audit) => {
    const d = screeningDisclosures
    const found = await rows<DisclosureRow>(
      tx,
      sql`select d.id, d.indicator_id, d.disclosed_to, o.name, d.epoch, d.type, d.justification, d.created_at
          from ${d} d join organisations o on o.id = d.disclosed_to
          where d.owner_id = ${ctx.actor.organisationId}::uuid
            ${q.indicatorId ? sql`and d.indicator_id = ${q.indicatorId}::uuid` : sql``}
            ${after ? sql`and (d.created_at, d.id) < (${after[0]}::timestamptz, ${after[1]}::uuid)` : sql``}
          order by d.created_at desc, d.id desc
          limit ${q.limit + 1}`,
    )
    const items = found.slice(0, q.limit).map((r) => ({
      id: r.id,
      indicatorId: r.indicator_id,
      disclosedTo: { organisationId: r.disclosed_to, name: r.name },
      epoch: Number(r.epoch),
      type: r.type as 'email',
      justification: r.justification,
      createdAt: new Date(r.created_at).toISOString(),
    }))
    const last = items[items.length - 1]
    audit.set({ details: { returned: items.length } })
    return { items, nextCursor: found.length > q.limit && last ? encodeCursor([last.createdAt, last.id]) : null }
  })
}
