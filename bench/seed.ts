// Seeding a bench database the way partners fill the real one: organisations of every sector
// with accounts and sharing groups (written directly, as test/helper.ts's factories do), then
// indicators through POST /v1/indicators/bulk (1,000 a call, over HTTP — it reports its own
// rate), notes through POST /v1/notes, and sightings with one INSERT … SELECT.
import { createHash } from 'node:crypto'
import type pg from 'pg'
import { hashSecret } from '../src/core/secrets.js'
import { indicatorBatch, noteBody, sharedPool, EU, type OrgRef } from './data.js'

export interface BenchOrg extends OrgRef {
  name: string
  sector: string
  country: string
  adminClientId: string
  readerClientId: string
}

export interface World {
  secret: string
  orgs: BenchOrg[]
  auditorClientId: string
  salt: string
}

// Sectors in the proportions of the Pompidou Group's working group, interleaved so that even a
// handful of organisations mixes authorities and non-authorities.
const SECTOR_CYCLE = [
  'police',
  'postal',
  'customs',
  'courier',
  'border',
  'industry',
  'police',
  'customs',
  'prosecution',
  'postal',
  'international',
  'courier',
  'police',
  'academia',
  'customs',
  'judiciary',
  'postal',
  'border',
  'industry',
  'police',
  'courier',
  'customs',
  'prosecution',
  'postal',
  'international',
]

/** The bench accounts' secret: derived from the database name, so a kept database can be reused. */
export const benchSecret = (db: string) => `dcxs_bench_${createHash('sha256').update(db).digest('base64url').slice(0, 32)}`

/** Run fn over items with at most `concurrency` in flight. */
export async function inParallel<T>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<void>) {
  let next = 0
  const worker = async () => {
    for (;;) {
      const i = next++
      if (i >= items.length) return
      await fn(items[i] as T, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
}

export async function api<T = unknown>(base: string, method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  })
  const text = await res.text()
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = text
  }
  return { status: res.status, json: json as T, text }
}

/** Access tokens through the real token endpoint, renewed after 5 minutes (they live 10). */
export class Tokens {
  private cache = new Map<string, { token: string; at: number }>()
  constructor(
    private readonly base: () => string,
    private readonly secret: string,
  ) {}

  async get(clientId: string): Promise<string> {
    const hit = this.cache.get(clientId)
    if (hit && Date.now() - hit.at < 300_000) return hit.token
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: this.secret }).toString()
    const r = await api<{ access_token?: string }>(this.base(), 'POST', '/v1/auth/token', undefined, body, {
      'content-type': 'application/x-www-form-urlencoded',
    })
    if (r.status !== 200 || !r.json?.access_token) throw new Error(`token for ${clientId}: ${r.status} ${r.text.slice(0, 300)}`)
    this.cache.set(clientId, { token: r.json.access_token, at: Date.now() })
    return r.json.access_token
  }

  async many(clientIds: string[]): Promise<string[]> {
    const out: string[] = []
    await inParallel(clientIds, 4, async (id, i) => {
      out[i] = await this.get(id)
    })
    return out
  }
}

/** Organisations, accounts (an org_admin and a reader each, an auditor on the platform) and sharing groups. */
export async function seedDirectory(c: pg.Client, dbName: string, orgCount: number): Promise<World> {
  const secret = benchSecret(dbName)
  const hash = await hashSecret(secret)
  const salt = createHash('sha256').update(dbName).digest('hex').slice(0, 4)
  const platform = await c.query<{ id: string }>(
    `insert into organisations (name, sector, country, contact_email, contact_hours)
     values ('DCX Platform Operations (bench)', 'international', 'FR', 'ops@dcx.example', '24/7') returning id`,
  )
  const platformId = platform.rows[0]?.id as string
  const auditorClientId = 'bench_auditor'
  // Partner systems set a defaultJustification once (DESIGN, "Justification"): every bench account
  // has one, so reads of personal data are justified as a screening system's are.
  await c.query(
    `insert into accounts (organisation_id, name, roles, client_id, secret_hash, default_justification) values ($1, 'Bench auditor', '{auditor}', $2, $3, 'DCX bench')`,
    [platformId, auditorClientId, hash],
  )
  const orgs: BenchOrg[] = []
  for (let i = 0; i < orgCount; i++) {
    const sector = SECTOR_CYCLE[i % SECTOR_CYCLE.length] as string
    const country = EU[(i * 7) % EU.length] as string
    const name = `${sector[0]?.toUpperCase()}${sector.slice(1)} ${country} ${i + 1}`
    const r = await c.query<{ id: string }>(
      // Four-eyes off: the bench measures reads of published items (with it on, the seed's red,
      // personal-data and match_only items would stay drafts that only their owner sees).
      `insert into organisations (name, sector, country, contact_email, contact_phone, contact_hours, four_eyes)
       values ($1, $2, $3, $4, '+31701234567', 'Mon–Fri 08:00–18:00 CET', false) returning id`,
      [name, sector, country, `desk${i + 1}@${sector}.example`],
    )
    const id = r.rows[0]?.id as string
    const adminClientId = `bench_${i + 1}_admin`
    const readerClientId = `bench_${i + 1}_reader`
    await c.query(
      `insert into accounts (organisation_id, name, roles, client_id, secret_hash, default_justification)
       values ($1, 'Bench ingest system', '{org_admin}', $2, $4, 'DCX bench'), ($1, 'Bench analyst', '{reader}', $3, $4, 'DCX bench')`,
      [id, adminClientId, readerClientId, hash],
    )
    orgs.push({ id, name, sector, country, adminClientId, readerClientId, groupIds: [] })
  }
  // Sharing groups: one per five organisations, 3–8 members each, the owner always a member.
  const groups = Math.max(1, Math.floor(orgCount / 5))
  for (let g = 0; g < groups; g++) {
    const owner = orgs[(g * 5) % orgs.length] as BenchOrg
    const r = await c.query<{ id: string }>(`insert into sharing_groups (organisation_id, name) values ($1, $2) returning id`, [
      owner.id,
      `Bench group ${g + 1}`,
    ])
    const gid = r.rows[0]?.id as string
    const size = 3 + (g % 6)
    const members = new Set<BenchOrg>([owner])
    for (let k = 1; members.size < Math.min(size, orgs.length); k++) members.add(orgs[(g * 5 + k * 3) % orgs.length] as BenchOrg)
    for (const m of members) {
      await c.query(`insert into sharing_group_members (group_id, organisation_id) values ($1, $2)`, [gid, m.id])
      m.groupIds.push(gid)
    }
  }
  return { secret, orgs, auditorClientId, salt }
}

/** Rebuilds the World of a database seeded earlier (--database with a kept database). */
export async function loadWorld(c: pg.Client, dbName: string): Promise<World> {
  const r = await c.query<{ id: string; name: string; sector: string; country: string; n: string; groups: string[] | null }>(
    `select o.id, o.name, o.sector, o.country, substring(a.client_id from 'bench_(\\d+)_admin') as n,
            (select array_agg(m.group_id) from sharing_group_members m where m.organisation_id = o.id) as groups
     from organisations o join accounts a on a.organisation_id = o.id and a.client_id ~ '^bench_\\d+_admin$'
     order by substring(a.client_id from 'bench_(\\d+)_admin')::int`,
  )
  if (r.rows.length === 0) throw new Error(`${dbName} is not a seeded bench database (no bench_N_admin accounts)`)
  return {
    secret: benchSecret(dbName),
    salt: createHash('sha256').update(dbName).digest('hex').slice(0, 4),
    auditorClientId: 'bench_auditor',
    orgs: r.rows.map((o) => ({
      id: o.id,
      name: o.name,
      sector: o.sector,
      country: o.country,
      adminClientId: `bench_${o.n}_admin`,
      readerClientId: `bench_${o.n}_reader`,
      groupIds: o.groups ?? [],
    })),
  }
}

export interface SeedStats {
  /** Seconds from the end of the load until the service's keeper had analysed indicators. */
  statisticsSeconds: number
  indicators: number
  invalid: number
  seconds: number
  perSecond: number
  notes: number
  notesSeconds: number
  sightings: number
}

/**
 * Wait until the DCX server's statistics keeper has analysed indicators after the load (at most
 * 120 s): fewer than 10 % of its rows modified since the last analyse. Returns the seconds waited.
 */
export async function waitForStatistics(c: pg.Client, log: (s: string) => void): Promise<number> {
  const t0 = Date.now()
  while (Date.now() - t0 < 120_000) {
    const r = await c.query<{ live: string; mod: string; analysed: boolean }>(
      `select n_live_tup as live, n_mod_since_analyze as mod, coalesce(last_analyze, last_autoanalyze) is not null as analysed
         from pg_stat_user_tables where relname = 'indicators'`,
    )
    const row = r.rows[0]
    if (row?.analysed && Number(row.mod) <= 0.1 * Math.max(1, Number(row.live))) return (Date.now() - t0) / 1000
    await new Promise((res) => setTimeout(res, 250))
  }
  log('  (the statistics keeper had not analysed indicators 120 s after the load)')
  return (Date.now() - t0) / 1000
}

/**
 * Indicators from `from` up to `indicators` (so a seed can grow in steps: the bench's scales), with
 * notes and sightings in proportion. Statistics are left to the service: the statistics keeper of
 * the DCX server analyses what its bulk endpoint loaded (waitForStatistics waits for it); only the
 * sightings, written here behind the service's back, are analysed by hand.
 */
export async function seedContent(
  base: string,
  c: pg.Client,
  world: World,
  tokens: Tokens,
  indicators: number,
  log: (s: string) => void,
  from = 0,
): Promise<SeedStats> {
  await tokens.many(world.orgs.map((o) => o.adminClientId)) // all tokens up front, four at a time
  const pool = sharedPool(Math.max(50, Math.floor(indicators / 200)), world.salt)
  const first = Math.floor(from / 1000)
  const batches = Math.ceil(indicators / 1000)
  let created = 0
  let invalid = 0
  const t0 = Date.now()
  let lastLog = t0
  // Two bulk calls in flight: on two cores, more only queues on the server.
  await inParallel(
    Array.from({ length: batches - first }, (_, b) => first + b),
    2,
    async (b) => {
      const org = world.orgs[b % world.orgs.length] as BenchOrg
      const count = Math.min(1000, indicators - b * 1000)
      const items = indicatorBatch(org, b * 1000, count, world.salt, pool)
      const token = await tokens.get(org.adminClientId)
      const r = await api<{ results: { status: string; problem?: unknown }[] }>(base, 'POST', '/v1/indicators/bulk', token, { items })
      if (r.status !== 200) throw new Error(`bulk seed: ${r.status} ${r.text.slice(0, 500)}`)
      for (const x of r.json.results) {
        if (x.status === 'created') created++
        else {
          invalid++
          if (invalid <= 3) log(`  invalid seed item: ${JSON.stringify(x.problem).slice(0, 300)}`)
        }
      }
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now()
        log(`  … ${created.toLocaleString('en')} indicators (${Math.round(created / ((Date.now() - t0) / 1000)).toLocaleString('en')}/s)`)
      }
    },
  )
  const seconds = (Date.now() - t0) / 1000

  const added = indicators - first * 1000
  const noteCount = Math.max(20, Math.min(20_000, Math.floor(added / 100)))
  const n0 = Date.now()
  await inParallel(
    Array.from({ length: noteCount }, (_, i) => first * 10 + i),
    4,
    async (i) => {
      const org = world.orgs[i % world.orgs.length] as BenchOrg
      const r = await api(base, 'POST', '/v1/notes', await tokens.get(org.adminClientId), noteBody(org, i))
      if (r.status !== 201) throw new Error(`note seed: ${r.status} ${r.text.slice(0, 300)}`)
    },
  )
  const notesSeconds = (Date.now() - n0) / 1000

  // Sightings: a tenth as many as indicators, on indicators every organisation may see, by random organisations.
  const sightings = Math.floor(added / 10)
  await c.query(
    `insert into sightings (indicator_id, organisation_id, account_id, seen_at, count, outcome, note)
     select i.id, a.organisation_id, a.id, now() - random() * interval '365 days', 1 + floor(random() * 5)::int,
            (array['seen','seized','nothing_found','controlled_delivery','false_positive'])[1 + floor(random() * 5)::int],
            case when random() < 0.3 then 'seen at the sorting centre; details on request' end
     from (select id, row_number() over () as rn from (select id from indicators where distribution in ('community', 'authorities') order by random() limit $1) s) i
     join (select id, organisation_id, row_number() over (order by id) - 1 as k, count(*) over () as n from accounts where client_id ~ '^bench_\\d+_admin$') a
       on a.k = (i.rn * 7919) % a.n`,
    [sightings],
  )
  await c.query('ANALYZE sightings')
  const statistics = await waitForStatistics(c, log)
  return { statisticsSeconds: statistics, indicators: created, invalid, seconds, perSecond: created / seconds, notes: noteCount, notesSeconds, sightings }
}
