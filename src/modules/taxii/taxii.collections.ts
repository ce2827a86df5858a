// TAXII collections are DCX's audiences (distributions): the caller's own organisation, and every
// audience that reaches it — `authorities` (authority sectors only), `community`, each sharing
// group its organisation belongs to — as the visibility definition says (reachesCaller). A
// collection holds the items with that distribution the caller may read; an object POSTed to it
// becomes an item of the caller's organisation with that distribution.
import { and, asc, eq, sql, type SQL } from 'drizzle-orm'
import type { AnyPgColumn } from 'drizzle-orm/pg-core'
import { organisations, sharingGroups } from '../../db/schema/index.js'
import { rows, type Tx } from '../../db/client.js'
import type { Actor } from '../../core/actor.js'
import { allowed } from '../../access/policy.js'
import { AppError } from '../../core/errors.js'
import { reachesCaller, type Distribution } from '../../access/visibility.js'
import { STIX_MEDIA_TYPE } from '../stix/stix.constants.js'

// Fixed ids for the two platform-wide audiences; the organisation's collection is its own id
// and a sharing group's is the group's id.
export const AUTHORITIES_COLLECTION = 'a24d15b7-4278-4cf6-a1c7-eef7e58183a8'
export const COMMUNITY_COLLECTION = '567f2653-4019-43dd-a5b8-6f669a76249a'

export interface Collection {
  id: string
  distribution: Distribution
  groupId: string | null
  title: string
  description: string
  canRead: boolean
  canWrite: boolean
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function make(actor: Actor, c: Omit<Collection, 'canRead' | 'canWrite'>): Collection {
  // The collection's flags are the policy's answer for reading and adding objects.
  return { ...c, canRead: allowed(actor, 'taxiiGetObjects'), canWrite: allowed(actor, 'taxiiAddObjects') }
}

async function own(tx: Tx, actor: Actor): Promise<Collection> {
  const [org] = await tx.select({ name: organisations.name }).from(organisations).where(eq(organisations.id, actor.organisationId))
  return make(actor, {
    id: actor.organisationId,
    distribution: 'organisation',
    groupId: null,
    title: org?.name ?? 'Your organisation',
    description: 'Items shared with your organisation only',
  })
}

const authorities = (actor: Actor) =>
  make(actor, {
    id: AUTHORITIES_COLLECTION,
    distribution: 'authorities',
    groupId: null,
    title: 'Authorities',
    description: 'Items shared with police, customs, border, prosecution, judiciary and international organisations',
  })
const community = (actor: Actor) =>
  make(actor, {
    id: COMMUNITY_COLLECTION,
    distribution: 'community',
    groupId: null,
    title: 'Community',
    description: 'Items shared with every active organisation',
  })

/** The platform-wide audiences (by sector) that reach the caller. */
async function reached(tx: Tx): Promise<Set<string>> {
  const rs = await rows<{ distribution: string }>(
    tx,
    sql`select d.distribution from dcx_distributions d where ${reachesCaller({ distribution: sql`d.distribution`, sharingGroupId: sql`null::uuid` })}`,
  )
  return new Set(rs.map((r) => r.distribution))
}

async function groups(tx: Tx, actor: Actor, id?: string): Promise<Collection[]> {
  const rs = await tx
    .select({ id: sharingGroups.id, name: sharingGroups.name })
    .from(sharingGroups)
    .where(and(reachesCaller({ distribution: sql`'sharing_group'`, sharingGroupId: sharingGroups.id }), id ? eq(sharingGroups.id, id) : undefined))
    .orderBy(asc(sharingGroups.createdAt), asc(sharingGroups.id))
    .limit(1000)
  return rs.map((g) =>
    make(actor, { id: g.id, distribution: 'sharing_group', groupId: g.id, title: g.name, description: 'Items shared with the members of this sharing group' }),
  )
}

export async function listCollections(tx: Tx, actor: Actor): Promise<Collection[]> {
  const r = await reached(tx)
  return [
    await own(tx, actor),
    ...(r.has('authorities') ? [authorities(actor)] : []),
    ...(r.has('community') ? [community(actor)] : []),
    ...(await groups(tx, actor)),
  ]
}

/** The collection, or a 404 exactly like one that does not exist. */
export async function findCollection(tx: Tx, actor: Actor, id: string): Promise<Collection> {
  const key = id.toLowerCase()
  if (key === actor.organisationId) return own(tx, actor)
  if (key === COMMUNITY_COLLECTION && (await reached(tx)).has('community')) return community(actor)
  if (key === AUTHORITIES_COLLECTION && (await reached(tx)).has('authorities')) return authorities(actor)
  const [g] = UUID.test(key) ? await groups(tx, actor, key) : []
  if (g) return g
  throw new AppError('not_found', 'No collection with that id exists or you may not see it.')
}

/** The items of a collection, as a condition on an indicators- or notes-like table. */
export function inCollection(c: Collection, actor: Actor, t: { organisationId: AnyPgColumn; distribution: AnyPgColumn; sharingGroupId: AnyPgColumn }): SQL {
  if (c.distribution === 'organisation') return and(eq(t.organisationId, actor.organisationId), eq(t.distribution, 'organisation')) as SQL
  if (c.distribution === 'sharing_group') return c.groupId ? (and(eq(t.distribution, 'sharing_group'), eq(t.sharingGroupId, c.groupId)) as SQL) : sql`false`
  return sql`${t.distribution} = ${c.distribution}`
}

export function toTaxiiCollection(c: Collection) {
  return { id: c.id, title: c.title, description: c.description, can_read: c.canRead, can_write: c.canWrite, media_types: [STIX_MEDIA_TYPE] }
}
