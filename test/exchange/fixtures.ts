// Shared helpers for the exchange tests (not a test file: tap only runs *.test.ts).
import { randomBytes } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { SQL } from 'drizzle-orm'
import { rows } from '../../src/db/client.js'
import { withActor } from '../../src/access/visibility.js'
import type { Actor } from '../../src/core/actor.js'
import type { Role } from '../../src/core/roles.js'
import { effectiveRoles } from '../../src/access/policy.js'
import { as, type TestOrg } from '../helper.js'

/** A unique lower-case word (letters only, so full-text search sees one token). */
export function word(prefix = 'w'): string {
  const letters = [...randomBytes(12)].map((b) => String.fromCharCode(97 + (b % 26))).join('')
  return `${prefix}${letters}`
}

/** An Actor as src/plugins/auth.ts builds it, for withActor(). */
export function actorFor(org: TestOrg, roles: Role[] = ['reader']): Actor {
  return {
    accountId: '00000000-0000-4000-8000-000000000000',
    organisationId: org.id,
    clientId: 'test-client',
    roles: effectiveRoles(roles),
    sector: org.sector,
  }
}

/** Rows of a raw query run with row-level security as the given organisation. */
export function rowsAs<T = Record<string, unknown>>(app: FastifyInstance, org: TestOrg, query: SQL): Promise<T[]> {
  return withActor(app.db, actorFor(org), (tx) => rows<T>(tx, query))
}

/** count(*) of a query, run as the given organisation (its own rows are always visible to it). */
export async function countAs(app: FastifyInstance, org: TestOrg, query: SQL): Promise<number> {
  const [r] = await rowsAs<{ n: number | string }>(app, org, query)
  return Number(r?.n ?? 0)
}

export interface IndicatorInput {
  type: string
  value: string
  [k: string]: unknown
}

export function vendorAlias(overrides: Partial<IndicatorInput> = {}): IndicatorInput {
  return { type: 'vendor_alias', value: word('vendor'), tlp: 'amber', distribution: 'organisation', ...overrides }
}

export interface Indicator {
  id: string
  organisationId: string
  type: string
  value: string
  normalizedValue: string
  valueVisibility: string
  description: string
  distribution: string
  sharingGroupId: string | null
  status: string
  version: number
  [k: string]: unknown
}

/** POST an indicator; throws unless 201. */
export async function postIndicator(app: FastifyInstance, token: string, body: IndicatorInput): Promise<Indicator> {
  const res = await as(app, token).post('/v1/indicators', body)
  if (res.statusCode !== 201) throw new Error(`POST /v1/indicators ${res.statusCode}: ${res.body}`)
  return res.json() as Indicator
}

export async function createGroup(
  app: FastifyInstance,
  adminToken: string,
  name: string,
  organisationIds: string[],
): Promise<{ id: string; version: number; organisationIds: string[] }> {
  const res = await as(app, adminToken).post('/v1/sharing-groups', { name, organisationIds })
  if (res.statusCode !== 201) throw new Error(`POST /v1/sharing-groups ${res.statusCode}: ${res.body}`)
  return res.json() as { id: string; version: number; organisationIds: string[] }
}

export const ids = (res: LightMyRequestResponse): string[] => (res.json() as { items: { id: string }[] }).items.map((i) => i.id)

/** Every string key anywhere in a JSON value. */
export function keysDeep(v: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) keysDeep(x, out)
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      out.add(k)
      keysDeep(x, out)
    }
  }
  return out
}
