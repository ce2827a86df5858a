// TAXII status resources (§4.3). DCX processes a POST synchronously, so its status is complete
// when returned; it is stored so GET status/{id}/ answers the same later (own organisation only).
// A large push is the exception: it answers pending and is completed after the response
// (taxii.pending.ts).
import { and, eq } from 'drizzle-orm'
import { taxiiStatuses } from '../../db/schema/index.js'
import type { Tx } from '../../db/client.js'
import type { Actor } from '../../core/actor.js'
import type { ImportResult } from '../stix/stix.import.js'

interface StatusDetail {
  id: string
  version: string
  message?: string
}

export interface TaxiiStatus {
  id: string
  status: 'pending' | 'complete'
  request_timestamp: string
  total_count: number
  success_count: number
  successes: StatusDetail[]
  failure_count: number
  failures: StatusDetail[]
  pending_count: number
  pendings: StatusDetail[]
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Successes are created and duplicate objects (DCX holds them); everything else is a failure. */
export function statusOf(id: string, requested: Date, objects: unknown[], results: ImportResult[]): TaxiiStatus {
  const successes: StatusDetail[] = []
  const failures: StatusDetail[] = []
  for (const r of results) {
    const o = objects[r.index] as { modified?: unknown; created?: unknown } | undefined
    // The version the client sent, so it can match the detail to its object.
    const sent = typeof o?.modified === 'string' ? o.modified : typeof o?.created === 'string' ? o.created : requested.toISOString()
    const detail = { id: r.id ?? `object ${r.index}`, version: sent.slice(0, 40) }
    // The object is served under the id the client sent (stix.provenance.ts); the message names
    // the DCX item (GET /v1/indicators/{id}) that holds it.
    if (r.status === 'created') successes.push({ ...detail, message: `created: DCX indicator ${r.indicatorId}, version ${r.version}` })
    else if (r.status === 'duplicate') successes.push({ ...detail, message: `already held: DCX indicator ${r.indicatorId}` })
    else if (r.status === 'kept') successes.push({ ...detail, message: 'kept with the indicators that reference it' })
    else failures.push({ ...detail, message: `${r.status}: ${r.reason ?? ''}`.slice(0, 1000) })
  }
  return {
    id,
    status: 'complete',
    request_timestamp: requested.toISOString(),
    total_count: results.length,
    success_count: successes.length,
    successes,
    failure_count: failures.length,
    failures,
    pending_count: 0,
    pendings: [],
  }
}

export async function saveStatus(tx: Tx, actor: Actor, collectionId: string, status: TaxiiStatus, pendingObjects?: unknown): Promise<void> {
  await tx
    .insert(taxiiStatuses)
    .values({ id: status.id, organisationId: actor.organisationId, accountId: actor.accountId, collectionId, status, pendingObjects: pendingObjects ?? null })
}

export async function loadStatus(tx: Tx, actor: Actor, id: string): Promise<TaxiiStatus | undefined> {
  if (!UUID.test(id)) return undefined
  const [row] = await tx
    .select({ status: taxiiStatuses.status })
    .from(taxiiStatuses)
    .where(and(eq(taxiiStatuses.id, id.toLowerCase()), eq(taxiiStatuses.organisationId, actor.organisationId)))
  return row?.status as TaxiiStatus | undefined
}
