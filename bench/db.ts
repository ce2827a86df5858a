// The bench database, as the postgres (owner) user: create and drop it, and the few things the
// harness writes directly — organisations, accounts and sharing groups (as test/helper.ts's
// factories do), synthetic audit events, sightings — and waits for the audit chainer.
import pg from 'pg'

export const dbUrl = (base: string, name: string) => `${base}/${name}`

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end().catch(() => {})
  }
}

export async function createDatabase(base: string, name: string) {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`unsafe database name ${name}`)
  await withClient(dbUrl(base, 'postgres'), (c) => c.query(`CREATE DATABASE ${name}`))
}

export async function dropDatabase(base: string, name: string) {
  if (!/^dcx_bench_[a-z0-9_]+$/.test(name)) throw new Error(`refusing to drop ${name}: not a bench database`)
  await withClient(dbUrl(base, 'postgres'), (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
}

/**
 * 1M (or n) synthetic audit events in one INSERT … SELECT generate_series, as the postgres user:
 * the shapes the service writes (reads with filters, matches, writes, token requests, refusals).
 */
export async function insertAuditEvents(c: pg.Client, n: number) {
  if (n <= 0) return
  // In chunks of 250k: one huge statement holds a lot of WAL and memory for nothing.
  for (let done = 0; done < n; done += 250_000) {
    const k = Math.min(250_000, n - done)
    await c.query(
      `insert into audit_events (time, account_id, organisation_id, client_id, action, resource_type, resource_id,
                                 outcome, status, request_id, client_address, user_agent, details)
       select now() - interval '30 days' + (g * interval '1 second') / 3,
              acc.ids[1 + g % acc.n], acc.orgs[1 + g % acc.n], acc.cids[1 + g % acc.n],
              (array['listIndicators','getIndicator','matchIndicators','createIndicator','bulkCreateIndicators','listChanges','issueToken','listNotes'])[1 + g % 8],
              (array['indicator','indicator','indicator','indicator','indicator','change','token','note'])[1 + g % 8],
              case when g % 8 = 1 then gen_random_uuid()::text end,
              case when g % 50 = 0 then 'denied' else 'ok' end,
              case when g % 50 = 0 then 404 else null end,
              gen_random_uuid()::text, '10.0.' || (g % 250) || '.' || (g % 200), 'partner-sync/2.3 (+https://example.org)',
              case g % 8
                when 0 then jsonb_build_object('filters', jsonb_build_object('type', 'email', 'tag', 'darknet-vendor'), 'limit', 50, 'returned', g % 51)
                when 2 then jsonb_build_object('count', 1000, 'sha256', md5(g::text) || md5(g::text), 'matches', g % 7, 'matchedValues', g % 5, 'truncated', true)
                when 3 then jsonb_build_object('type', 'crypto_address', 'tlp', 'amber', 'distribution', 'authorities', 'valueVisibility', 'full')
                when 4 then jsonb_build_object('submitted', 1000, 'created', 1000, 'invalid', 0)
                when 5 then jsonb_build_object('cursor', md5(g::text), 'returned', g % 200)
                else '{}'::jsonb end
       from generate_series($1::int, $2::int) g,
            (select array_agg(id order by id) ids, array_agg(organisation_id order by id) orgs,
                    array_agg(client_id order by id) cids, count(*)::int n from accounts) acc`,
      [done + 1, done + k],
    )
  }
}

/** Events committed but not chained yet. */
export async function unchained(c: pg.Client): Promise<number> {
  const r = await c.query<{ n: string }>(`select (select count(*) from audit_events) - (select count(*) from audit_chain) as n`)
  return Number(r.rows[0]?.n ?? 0)
}

/** Waits until the chainer (in the DCX server) has chained (nearly) everything; returns its rate. */
export async function waitForChain(c: pg.Client, maxSeconds: number, slack = 200, onProgress?: (left: number) => void) {
  const t0 = Date.now()
  const start = await unchained(c)
  let left = start
  let lastReport = t0
  while (left > slack && Date.now() - t0 < maxSeconds * 1000) {
    await new Promise((r) => setTimeout(r, 500))
    left = await unchained(c)
    if (onProgress && Date.now() - lastReport > 10_000) {
      onProgress(left)
      lastReport = Date.now()
    }
  }
  const seconds = (Date.now() - t0) / 1000
  return { chained: start - left, left, seconds, perSecond: seconds > 0 ? (start - left) / seconds : 0 }
}
