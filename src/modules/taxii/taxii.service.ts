// The TAXII 2.1 operations over DCX's collections (the caller's audiences): status, collections,
// manifest, objects (read, add, revoke), versions. Every pull and push runs in ctx.tx, which
// writes its audit event; a missing object is a 404 only once that event is written.
import { randomUUID } from 'node:crypto'
import type { Ctx } from '../../access/scope.js'
import { forbidden, AppError } from '../../core/errors.js'
import { countByStatus, importObjects } from '../stix/stix.import.js'
import { findCollection, listCollections, type Collection } from './taxii.collections.js'
import { findObject, itemOf, page, parseFilter, type MatchQuery } from './taxii.objects.js'
import { loadStatus, saveStatus, statusOf } from './taxii.status.js'
import { pendingStatus, type PendingWork } from './taxii.pending.js'
import type { RequestFacts } from '../../access/scope.js'

/** What DELETE needs of the items' own services: revoking one of the caller's organisation. */
export interface TaxiiDeps {
  indicators: { revoke(ctx: Ctx, id: string, expected: number | undefined): Promise<unknown> }
  notes: { revoke(ctx: Ctx, id: string, expected: number | undefined): Promise<unknown> }
}

const readable = (c: Collection) => {
  if (!c.canRead) throw forbidden('Your roles do not allow reading this collection.')
  return c
}

const writable = (c: Collection) => {
  if (!c.canWrite) throw forbidden('Your roles do not allow writing to this collection (contributor needed).')
  return c
}

export function taxiiService(deps: TaxiiDeps) {
  /** The one object with that id in the collection, the audit event written first; else a 404. */
  async function object(ctx: Ctx, id: string, objectId: string, query: MatchQuery) {
    const f = parseFilter(query)
    const found = await ctx.tx(async (tx, audit) => {
      const c = readable(await findCollection(tx, ctx.actor, id))
      const o = await findObject(tx, ctx.actor, c, objectId, f)
      audit.set({ details: { collection: c.distribution, objectId: objectId.slice(0, 100), returned: o ? 1 : 0 } })
      return o
    })
    if (!found) throw new AppError('not_found', 'No object with that id in this collection, or you may not see it.')
    return found
  }

  return {
    async status(ctx: Ctx, id: string) {
      const status = await ctx.tx((tx) => loadStatus(tx, ctx.actor, id))
      if (!status) throw new AppError('not_found', 'No status with that id exists for your organisation.')
      return status
    },

    async collections(ctx: Ctx) {
      return ctx.tx(async (tx, audit) => {
        const all = await listCollections(tx, ctx.actor)
        audit.set({ details: { returned: all.length } })
        return all
      })
    },

    async collection(ctx: Ctx, id: string) {
      return ctx.tx((tx) => findCollection(tx, ctx.actor, id))
    },

    async manifest(ctx: Ctx, id: string, query: MatchQuery) {
      const f = parseFilter(query)
      return ctx.tx(async (tx, audit) => {
        const c = readable(await findCollection(tx, ctx.actor, id))
        const p = await page(tx, ctx.actor, c, f)
        audit.set({ details: { collection: c.distribution, query, returned: p.entries.length } })
        return p
      })
    },

    async objects(ctx: Ctx, id: string, query: MatchQuery) {
      const f = parseFilter(query)
      return ctx.tx(async (tx, audit) => {
        const c = readable(await findCollection(tx, ctx.actor, id))
        const p = await page(tx, ctx.actor, c, f)
        audit.set({ details: { collection: c.distribution, query, returned: p.entries.length, ids: p.entries.slice(0, 100).map((e) => e.id) } })
        return p
      })
    },

    /** Objects pushed to a collection become the caller's organisation's items with its distribution. */
    async add(ctx: Ctx, id: string, objects: unknown[]) {
      const requested = new Date()
      return ctx.tx(async (tx, audit) => {
        const c = writable(await findCollection(tx, ctx.actor, id))
        const results = await importObjects(tx, ctx, objects, { distribution: c.distribution, sharingGroupId: c.groupId })
        const s = statusOf(randomUUID(), requested, objects, results)
        await saveStatus(tx, ctx.actor, c.id, s)
        audit.set({ details: { collection: c.distribution, submitted: objects.length, ...countByStatus(results), statusId: s.id } })
        return s
      })
    },

    /**
     * A large push: the objects are stored with a pending status, processed after the response
     * (taxii.pending.ts). The collection and the caller's right to write to it are checked now.
     */
    async accept(ctx: Ctx, id: string, objects: unknown[], request: RequestFacts) {
      const requested = new Date()
      return ctx.tx(async (tx, audit) => {
        const c = writable(await findCollection(tx, ctx.actor, id))
        const s = pendingStatus(randomUUID(), requested, objects.length)
        const work: PendingWork = { objects, request }
        await saveStatus(tx, ctx.actor, c.id, s, work)
        audit.set({ details: { collection: c.distribution, submitted: objects.length, pending: objects.length, statusId: s.id } })
        return s
      })
    },

    object,

    /** DELETE revokes: the item is kept, marked revoked, and exported with a new version. */
    async revoke(ctx: Ctx, id: string, objectId: string, query: MatchQuery) {
      const f = parseFilter(query)
      await ctx.tx(async (tx, audit) => {
        const c = writable(await findCollection(tx, ctx.actor, id))
        const found = await findObject(tx, ctx.actor, c, objectId, f)
        const item = found ? itemOf(found) : undefined
        // Writes are owner-only: another organisation's object answers 404, like a missing one
        // (an item's owner, not its producer's created_by_ref: an imported object keeps that).
        if (!found || !item || item.ownerId !== ctx.actor.organisationId) {
          throw new AppError('not_found', 'No object of your organisation with that id in this collection.')
        }
        audit.set({ details: { collection: c.distribution, objectId: found.id, revoked: true } })
        if (item.kind === 'indicator') await deps.indicators.revoke(ctx, item.id, undefined)
        else await deps.notes.revoke(ctx, item.id, undefined)
      })
    },

    /** DCX keeps the current version of each item only: its versions are the object's one. */
    versions: object,
  }
}

export type TaxiiService = ReturnType<typeof taxiiService>
