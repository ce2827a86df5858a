// The only reader of process.env. Parsed once at boot into a frozen Config;
// a bad environment prints every problem and exits non-zero (see server.ts).
import { z } from 'zod'

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes')

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max)

/** The lowest scrypt cost (log2 N) an environment may configure. */
export const MIN_SECRET_HASH_COST = 14

const envSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DCX_DATA_DIR: z.string().min(1).default('./data'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(0, 65535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // 32+ bytes of entropy; any string is stretched with HKDF. Unset on the embedded default:
  // generated once into DCX_DATA_DIR/master.key.
  DCX_MASTER_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  DCX_BOOTSTRAP_CLIENT_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{3,64}$/, '3–64 characters of A–Z a–z 0–9 . _ -')
    .optional(),
  DCX_BOOTSTRAP_CLIENT_SECRET: z.string().min(24, 'must be at least 24 characters').max(256).optional(),
  DCX_ISSUER: z.string().min(1).default('urn:dcx'),
  DCX_AUDIENCE: z.string().min(1).default('urn:dcx:api'),
  // Short-lived tokens: a disabled account is also cut off by the status check, but a
  // stolen token should not outlive a coffee break.
  DCX_TOKEN_TTL_SECONDS: int(60, 900).default(600),
  DCX_KEY_ROTATION_DAYS: int(1, 365).default(30),
  DCX_BODY_LIMIT_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
  // Batch calls (bulk, match, imports) running at once per node; the rest wait their turn.
  DCX_BATCH_CONCURRENCY: int(1, 256).default(4),
  DCX_REQUEST_TIMEOUT_MS: int(1000, 600_000).default(30_000),
  // Trust X-Forwarded-For only from these proxies (comma-separated addresses/CIDRs, or "true"
  // for any hop). Default: trust nobody, so a spoofed header never resets a rate limit.
  DCX_TRUST_PROXY: z.string().optional(),
  DCX_RATE_LIMIT_PER_MINUTE: int(1, 1_000_000).default(1200),
  DCX_RATE_LIMIT_ADDRESS_PER_MINUTE: int(1, 1_000_000).default(6000),
  DCX_TOKEN_FAILURES_PER_MINUTE: int(1, 10_000).default(10),
  DCX_TOKEN_ATTEMPTS_PER_MINUTE: int(1, 100_000).default(300),
  DCX_DB_POOL_SIZE: int(1, 200).default(10),
  // The embedded database's page cache. PGlite's memory never shrinks, so this bounds the
  // process: the operating system caches the data files beneath it anyway.
  DCX_PGLITE_SHARED_BUFFERS_MB: int(16, 4096).default(16),
  DCX_DOCS: bool.default(true),
  // scrypt cost of new client-secret hashes, as log2 N (r=8, p=1): 15 is N=2^15, 32 MiB and tens
  // of milliseconds per hash. Each hash carries its own parameters, so raising this later leaves
  // existing secrets working. Below 2^14 (16 MiB) is refused.
  DCX_SECRET_HASH_COST: int(MIN_SECRET_HASH_COST, 18).default(15),
  // Link committed audit events into the hash chain every second from this process. Off, the
  // chain grows when an auditor verifies (or wherever another node's chainer runs); tests drive
  // the chainer themselves.
  DCX_AUDIT_CHAIN_TIMER: bool.default(true),
  // Audit payload retention (audit/pruning.ts): the details, client address and user agent of
  // events older than this many months are cleared (the chained header and payload digest stay,
  // so the chain still verifies). 0 keeps payloads for ever. At least 1 month when on.
  DCX_AUDIT_PAYLOAD_RETENTION_MONTHS: int(0, 600).default(24),
  // Run the pruning job on its timer (hourly) in this process; tests run it themselves.
  DCX_AUDIT_PRUNE_TIMER: bool.default(true),
  // Keep the planner's statistics from this process (db/maintenance.ts): every
  // DCX_STATS_INTERVAL_MS, ANALYZE the tables past autovacuum's threshold (and VACUUM on the
  // embedded database), one node at a time. PGlite never autovacuums; a server may have it off.
  // Tests run the keeper themselves.
  DCX_STATS_KEEPER: bool.default(true),
  DCX_STATS_INTERVAL_MS: int(500, 3_600_000).default(5_000),
  // Oblivious screening (DESIGN.md §8): the VOPRF key's epoch, the blinded elements one
  // organisation may have evaluated per UTC day (every node shares the count), and the tagger that
  // precomputes the holdings' tags every DCX_SCREENING_TAG_INTERVAL_MS (tests run it themselves).
  DCX_SCREENING_EPOCH_DAYS: int(1, 365).default(30),
  DCX_SCREENING_DAILY_QUOTA: int(1, 100_000_000).default(100_000),
  DCX_SCREENING_TAGGER: bool.default(true),
  DCX_SCREENING_TAG_INTERVAL_MS: int(500, 3_600_000).default(5_000),
  // The retention job (modules/retention/retention.job.ts): every DCX_RETENTION_INTERVAL_MS,
  // erase the items left 30 days past their review-by date. Safe on every node at once (an
  // advisory lock); tests run it themselves.
  DCX_RETENTION_JOB: bool.default(true),
  DCX_RETENTION_INTERVAL_MS: int(1_000, 86_400_000).default(3_600_000),
  // TAXII pushes (issue 14): a POST to a collection's objects with more objects than this, or a
  // body larger than this many bytes, answers 202 with a pending status and is processed after
  // the response. Any node completes a pending status whose node died, every
  // DCX_TAXII_PENDING_INTERVAL_MS (tests run the job themselves).
  DCX_TAXII_ASYNC_OBJECTS: int(1, 100_000).default(1000),
  DCX_TAXII_ASYNC_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
  DCX_TAXII_PENDING_JOB: bool.default(true),
  DCX_TAXII_PENDING_INTERVAL_MS: int(500, 3_600_000).default(30_000),
})

export interface Config {
  readonly databaseUrl: string | undefined
  readonly dataDir: string
  readonly host: string
  readonly port: number
  readonly logLevel: string
  readonly masterKey: string | undefined
  readonly redisUrl: string | undefined
  readonly bootstrap: { readonly clientId: string; readonly clientSecret: string } | undefined
  readonly issuer: string
  readonly audience: string
  readonly tokenTtlSeconds: number
  readonly keyRotationDays: number
  readonly bodyLimit: number
  readonly batchConcurrency: number
  readonly requestTimeoutMs: number
  readonly trustProxy: boolean | string[]
  readonly rateLimit: {
    readonly perAccountPerMinute: number
    readonly perAddressPerMinute: number
    readonly tokenFailuresPerMinute: number
    readonly tokenAttemptsPerMinute: number
  }
  readonly dbPoolSize: number
  readonly pgliteSharedBuffersMb: number
  readonly docs: boolean
  /** scrypt cost (log2 N) of newly hashed client secrets. */
  readonly secretHashCost: number
  /** Run the audit chainer on its timer in this process. */
  readonly auditChainTimer: boolean
  /** Months an audit event keeps its payload (0: for ever). */
  readonly auditPayloadRetentionMonths: number
  /** Run the audit pruning job on its timer in this process. */
  readonly auditPruneTimer: boolean
  /** Run the statistics keeper on its timer in this process, every statsIntervalMs. */
  readonly statsKeeper: boolean
  readonly statsIntervalMs: number
  readonly screening: {
    readonly epochDays: number
    readonly dailyQuota: number
    /** Run the tagger on its timer in this process, every tagIntervalMs. */
    readonly tagger: boolean
    readonly tagIntervalMs: number
  }
  /** Run the retention job on its timer in this process, every retentionIntervalMs. */
  readonly retentionJob: boolean
  readonly retentionIntervalMs: number
  readonly taxii: {
    /** A push of more objects than this, or a larger body, is processed after its 202 (pending). */
    readonly asyncObjects: number
    readonly asyncBytes: number
    /** Run the pending-status job on its timer in this process, every pendingIntervalMs. */
    readonly pendingJob: boolean
    readonly pendingIntervalMs: number
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`)
    this.name = 'ConfigError'
  }
}

/** Parse an environment (process.env by default) into a frozen Config, or throw ConfigError listing every problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings count as unset: docker-compose and shells often pass VAR= for "nothing".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  const parsed = envSchema.safeParse(cleaned)
  const problems: string[] = []
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`)
    throw new ConfigError(problems)
  }
  const e = parsed.data
  if ((e.DCX_BOOTSTRAP_CLIENT_ID === undefined) !== (e.DCX_BOOTSTRAP_CLIENT_SECRET === undefined)) {
    throw new ConfigError(['DCX_BOOTSTRAP_CLIENT_ID and DCX_BOOTSTRAP_CLIENT_SECRET must be set together'])
  }
  return Object.freeze({
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DCX_DATA_DIR,
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    masterKey: e.DCX_MASTER_KEY,
    redisUrl: e.REDIS_URL,
    bootstrap:
      e.DCX_BOOTSTRAP_CLIENT_ID && e.DCX_BOOTSTRAP_CLIENT_SECRET
        ? Object.freeze({ clientId: e.DCX_BOOTSTRAP_CLIENT_ID, clientSecret: e.DCX_BOOTSTRAP_CLIENT_SECRET })
        : undefined,
    issuer: e.DCX_ISSUER,
    audience: e.DCX_AUDIENCE,
    tokenTtlSeconds: e.DCX_TOKEN_TTL_SECONDS,
    keyRotationDays: e.DCX_KEY_ROTATION_DAYS,
    bodyLimit: e.DCX_BODY_LIMIT_BYTES,
    batchConcurrency: e.DCX_BATCH_CONCURRENCY,
    requestTimeoutMs: e.DCX_REQUEST_TIMEOUT_MS,
    trustProxy: parseTrustProxy(e.DCX_TRUST_PROXY),
    rateLimit: Object.freeze({
      perAccountPerMinute: e.DCX_RATE_LIMIT_PER_MINUTE,
      perAddressPerMinute: e.DCX_RATE_LIMIT_ADDRESS_PER_MINUTE,
      tokenFailuresPerMinute: e.DCX_TOKEN_FAILURES_PER_MINUTE,
      tokenAttemptsPerMinute: e.DCX_TOKEN_ATTEMPTS_PER_MINUTE,
    }),
    dbPoolSize: e.DCX_DB_POOL_SIZE,
    pgliteSharedBuffersMb: e.DCX_PGLITE_SHARED_BUFFERS_MB,
    docs: e.DCX_DOCS,
    secretHashCost: e.DCX_SECRET_HASH_COST,
    auditChainTimer: e.DCX_AUDIT_CHAIN_TIMER,
    auditPayloadRetentionMonths: e.DCX_AUDIT_PAYLOAD_RETENTION_MONTHS,
    auditPruneTimer: e.DCX_AUDIT_PRUNE_TIMER,
    statsKeeper: e.DCX_STATS_KEEPER,
    statsIntervalMs: e.DCX_STATS_INTERVAL_MS,
    screening: Object.freeze({
      epochDays: e.DCX_SCREENING_EPOCH_DAYS,
      dailyQuota: e.DCX_SCREENING_DAILY_QUOTA,
      tagger: e.DCX_SCREENING_TAGGER,
      tagIntervalMs: e.DCX_SCREENING_TAG_INTERVAL_MS,
    }),
    retentionJob: e.DCX_RETENTION_JOB,
    retentionIntervalMs: e.DCX_RETENTION_INTERVAL_MS,
    taxii: Object.freeze({
      asyncObjects: e.DCX_TAXII_ASYNC_OBJECTS,
      asyncBytes: e.DCX_TAXII_ASYNC_BYTES,
      pendingJob: e.DCX_TAXII_PENDING_JOB,
      pendingIntervalMs: e.DCX_TAXII_PENDING_INTERVAL_MS,
    }),
  })
}

function parseTrustProxy(v: string | undefined): boolean | string[] {
  if (v === undefined || v === 'false') return false
  if (v === 'true') return true
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}
