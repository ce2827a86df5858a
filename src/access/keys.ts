// Ed25519 signing keys for tokens (and later audit checkpoints). Kept in the database so every
// node and every restart agree; private halves sealed under DCX_MASTER_KEY. Rotation: a new key
// takes over signing, the old one keeps verifying until every token it signed has expired.
//
// Every node learns of a rotation within moments, and none keeps signing with a retired key:
// - Notify: on a PostgreSQL server, a trigger on signing_keys (migration 0010) NOTIFYs channel
//   dcx_signing_keys when a change commits; each node LISTENs on a dedicated connection
//   (Database.listen, reconnecting by itself) and reloads at once. After a reconnect it reloads
//   too, since what was sent meanwhile is lost.
// - Poll: every POLL_MS each node reads the table's generation (row count, newest created_at,
//   newest retired_at) and reloads when it changed. The backstop for a dead listener, and the
//   only mechanism on PGlite (one process: the rotating node reloads itself).
// - Before signing: signers call fresh(), which re-reads the generation first when the loaded
//   keys were last confirmed against the database more than MAX_STALE_MS ago (the poll keeps
//   that rare). So a node signs with a key at most MAX_STALE_MS after another node retired it,
//   even when the listener is gone and the poll stalled — normally only the milliseconds the
//   notification takes. Verification keeps the retired key for its grace period (one token TTL
//   plus clock skew), checked at each use.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { desc, eq, isNull } from 'drizzle-orm'
import { rows, sql, type Database, type Db, type Tx } from '../db/client.js'
import { signingKeys, type SigningKeyRow } from '../db/schema/index.js'
import { SealedBox } from '../core/sealed-box.js'

export const JWT_ALG = 'EdDSA'
const KEY_LOCK_ID = 0x64637802
// Keys reloaded at most this often when a token names a kid we do not hold yet (another node
// may just have rotated); an unknown kid never falls back to another key.
const RELOAD_MIN_INTERVAL_MS = 5_000
/** The channel migration 0010's trigger notifies on every change of signing_keys. */
export const KEYS_CHANNEL = 'dcx_signing_keys'
/** How often every node compares the table's generation with what it loaded. */
export const POLL_MS = 2_000
/** A signer re-reads before signing when the loaded keys were confirmed longer ago than this. */
export const MAX_STALE_MS = 3_000

/** What a rotation did: the new signing key, and the one it retired (verifying until its grace ends). */
export interface Rotation {
  kid: string
  createdAt: Date
  retired: { kid: string; verifiesUntil: Date } | null
}

export interface PublicJwk {
  kty: string
  crv: string
  x: string
  kid: string
  alg: string
  use: string
}

interface LoadedKey {
  kid: string
  publicPem: string
  privatePem: string
  jwk: PublicJwk
  createdAt: Date
  retiredAt: Date | null
}

/** The master key: from the environment, else generated once into the data folder (0600). */
export function resolveMasterKey(configured: string | undefined, dataDir: string, log: (m: string) => void): string {
  if (configured) return configured
  if (dataDir.startsWith('memory://')) return randomBytes(32).toString('base64url')
  const file = path.resolve(dataDir, 'master.key')
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  mkdirSync(dataDir, { recursive: true })
  const key = randomBytes(32).toString('base64url')
  writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' })
  chmodSync(file, 0o600)
  log(`generated a master key into ${file}; set DCX_MASTER_KEY to share it between nodes`)
  return key
}

export class KeyStore {
  private keys = new Map<string, LoadedKey>()
  private lastLoad = 0
  private readonly box: SealedBox
  /** The generation the loaded keys were read at, and when (ms) a read last confirmed them. */
  private generation = ''
  private confirmedAt = 0
  /** A check not started yet (callers join it: it starts after their call) and the one running. */
  private queued: Promise<void> | undefined
  private running: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined
  private listener: { close(): Promise<void> } | undefined

  constructor(
    private readonly db: Db,
    masterKey: string,
    private readonly opts: { rotationDays: number; tokenTtlSeconds: number },
  ) {
    this.box = new SealedBox(masterKey, 'signing-keys')
  }

  /** Load keys, creating the first one (or a rotated one when the current is too old). */
  async init(): Promise<void> {
    await this.rotateIfDue(false)
    await this.load()
  }

  async load(): Promise<void> {
    const started = Date.now()
    // The generation first: read before the rows, it is never newer than them (at worst the
    // next check reloads once more).
    const generation = await this.readGeneration()
    const all = await this.db.select().from(signingKeys).orderBy(desc(signingKeys.createdAt))
    const next = new Map<string, LoadedKey>()
    for (const row of all) {
      if (!this.usableForVerify(row.retiredAt)) continue
      next.set(row.kid, this.unseal(row))
    }
    this.keys = next
    this.generation = generation
    this.lastLoad = Date.now()
    this.confirmedAt = Math.max(this.confirmedAt, started)
  }

  /** Listen for other nodes' changes (PostgreSQL server) and poll as a backstop; see the header. */
  start(database: Pick<Database, 'listen'>, log: { warn(obj: object, msg: string): void }): void {
    const check = (why: string) =>
      this.refresh().catch((err: unknown) => {
        log.warn({ err }, `signing keys: ${why} check failed`)
      })
    this.timer = setInterval(() => void check('periodic'), POLL_MS)
    this.timer.unref()
    this.listener = database.listen?.(KEYS_CHANNEL, {
      onNotify: () => void check('notified'),
      onListening: () => void check('reconnect'),
    })
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.listener?.close()
    this.listener = undefined
  }

  /**
   * Compare the database's generation with the loaded one and reload when it changed. A caller
   * joins a check that has not started yet, else queues one behind the running check: whatever
   * committed before the call is seen when the promise resolves.
   */
  refresh(): Promise<void> {
    if (this.queued) return this.queued
    const prior = this.running ?? Promise.resolve()
    const p: Promise<void> = prior
      .catch(() => {})
      .then(async () => {
        this.queued = undefined
        this.running = p
        const started = Date.now()
        const generation = await this.readGeneration()
        if (generation !== this.generation) await this.load()
        this.confirmedAt = Math.max(this.confirmedAt, started)
      })
      .finally(() => {
        if (this.running === p) this.running = undefined
      })
    this.queued = p
    return p
  }

  /** The signing key, confirmed against the database within MAX_STALE_MS: call before every signature. */
  async fresh(): Promise<LoadedKey> {
    if (Date.now() - this.confirmedAt > MAX_STALE_MS) await this.refresh()
    return this.signingKey()
  }

  /** The key that signs new tokens: the newest not retired, as last loaded. Signers use fresh(). */
  signingKey(): LoadedKey {
    let best: LoadedKey | undefined
    for (const k of this.keys.values()) if (!k.retiredAt && (!best || k.createdAt > best.createdAt)) best = k
    if (!best) throw new Error('no active signing key is loaded')
    return best
  }

  /** The public key for a kid, reloading once if another node may have rotated; undefined if unknown. */
  async publicPem(kid: unknown): Promise<string | undefined> {
    if (typeof kid !== 'string' || kid.length > 100) return undefined
    let key = this.keys.get(kid)
    if (!key && Date.now() - this.lastLoad > RELOAD_MIN_INTERVAL_MS) {
      await this.load()
      key = this.keys.get(kid)
    }
    // A retired key verifies until its grace period ends, whenever the keys were last loaded.
    return key && this.usableForVerify(key.retiredAt) ? key.publicPem : undefined
  }

  jwks(): { keys: PublicJwk[] } {
    return { keys: [...this.keys.values()].filter((k) => this.usableForVerify(k.retiredAt)).map((k) => k.jwk) }
  }

  /** Start signing with a fresh key. `force` rotates now; otherwise only when the current key is due. */
  async rotateIfDue(force: boolean): Promise<boolean> {
    const rotation = await this.db.transaction((tx) => this.rotateIn(tx, force))
    if (rotation) await this.load()
    return rotation !== null
  }

  /**
   * The rotation itself, inside the caller's transaction (the admin operation writes its audit
   * event in the same one). Call load() after it commits; other nodes hear of it by the
   * trigger's notification or their next poll. Null when not forced and the current key is not due.
   */
  async rotateIn(tx: Tx, force: boolean): Promise<Rotation | null> {
    // One node at a time decides; the others see its key on their next load.
    await rows(tx, sql`SELECT pg_advisory_xact_lock(${KEY_LOCK_ID})`)
    const [current] = await tx.select().from(signingKeys).where(isNull(signingKeys.retiredAt)).orderBy(desc(signingKeys.createdAt)).limit(1)
    const dueAt = current ? current.createdAt.getTime() + this.opts.rotationDays * 86_400_000 : 0
    if (current && !force && Date.now() < dueAt) return null
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    const kid = `k-${randomBytes(9).toString('base64url')}`
    const jwk = publicKey.export({ format: 'jwk' }) as { kty: string; crv: string; x: string }
    const [inserted] = await tx
      .insert(signingKeys)
      .values({
        kid,
        alg: JWT_ALG,
        publicJwk: { ...jwk },
        privateKeyEnc: this.box.seal(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()),
      })
      .returning({ createdAt: signingKeys.createdAt })
    let retired: Rotation['retired'] = null
    if (current) {
      const retiredAt = new Date()
      await tx.update(signingKeys).set({ retiredAt }).where(eq(signingKeys.kid, current.kid))
      retired = { kid: current.kid, verifiesUntil: new Date(this.graceEnd(retiredAt)) }
    }
    return { kid, createdAt: inserted?.createdAt ?? new Date(), retired }
  }

  private async readGeneration(): Promise<string> {
    const [g] = await rows<{ g: string }>(
      this.db,
      sql`SELECT count(*)::text || '/' || coalesce(max(created_at)::text, '') || '/' || coalesce(max(retired_at)::text, '') AS g FROM signing_keys`,
    )
    return g?.g ?? ''
  }

  /** Tokens signed just before retirement live one TTL more; allow for clock skew between nodes. */
  private graceEnd(retiredAt: Date): number {
    return retiredAt.getTime() + (this.opts.tokenTtlSeconds + 120) * 1000
  }

  private usableForVerify(retiredAt: Date | null): boolean {
    return !retiredAt || Date.now() < this.graceEnd(retiredAt)
  }

  private unseal(row: SigningKeyRow): LoadedKey {
    let privatePem: string
    try {
      privatePem = this.box.open(row.privateKeyEnc)
    } catch {
      throw new Error(
        `cannot decrypt signing key ${row.kid}: DCX_MASTER_KEY differs from the key that sealed it ` +
          '(every node of one database needs the same DCX_MASTER_KEY)',
      )
    }
    const publicPem = createPublicKey(createPrivateKey(privatePem)).export({ format: 'pem', type: 'spki' }).toString()
    const jwk = row.publicJwk as { kty: string; crv: string; x: string }
    return {
      kid: row.kid,
      publicPem,
      privatePem,
      jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid: row.kid, alg: JWT_ALG, use: 'sig' },
      createdAt: row.createdAt,
      retiredAt: row.retiredAt,
    }
  }
}
