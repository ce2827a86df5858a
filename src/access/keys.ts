// Ed25519 signing keys for tokens (and later audit checkpoints). Kept in the database so every
// node and every restart agree; private halves sealed under DCX_MASTER_KEY. Rotation: a new key
// takes over signing, the old one keeps verifying until every token it signed has expired.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { desc, eq, isNull } from 'drizzle-orm'
import { rows, sql, type Db } from '../db/client.js'
import { signingKeys, type SigningKeyRow } from '../db/schema/index.js'
import { SealedBox } from '../core/sealed-box.js'

export const JWT_ALG = 'EdDSA'
const KEY_LOCK_ID = 0x64637802
// Keys reloaded at most this often when a token names a kid we do not hold yet (another node
// may just have rotated); an unknown kid never falls back to another key.
const RELOAD_MIN_INTERVAL_MS = 5_000

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
    const all = await this.db.select().from(signingKeys).orderBy(desc(signingKeys.createdAt))
    const next = new Map<string, LoadedKey>()
    for (const row of all) {
      if (!this.usableForVerify(row)) continue
      next.set(row.kid, this.unseal(row))
    }
    this.keys = next
    this.lastLoad = Date.now()
  }

  /** The key that signs new tokens: the newest not retired. */
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
    return key?.publicPem
  }

  jwks(): { keys: PublicJwk[] } {
    return { keys: [...this.keys.values()].map((k) => k.jwk) }
  }

  /** Start signing with a fresh key. `force` rotates now; otherwise only when the current key is due. */
  async rotateIfDue(force: boolean): Promise<boolean> {
    const rotated = await this.db.transaction(async (tx) => {
      // One node at a time decides; the others see its key on their next load.
      await rows(tx, sql`SELECT pg_advisory_xact_lock(${KEY_LOCK_ID})`)
      const [current] = await tx.select().from(signingKeys).where(isNull(signingKeys.retiredAt)).orderBy(desc(signingKeys.createdAt)).limit(1)
      const dueAt = current ? current.createdAt.getTime() + this.opts.rotationDays * 86_400_000 : 0
      if (current && !force && Date.now() < dueAt) return false
      const { privateKey, publicKey } = generateKeyPairSync('ed25519')
      const kid = `k-${randomBytes(9).toString('base64url')}`
      const jwk = publicKey.export({ format: 'jwk' }) as { kty: string; crv: string; x: string }
      await tx.insert(signingKeys).values({
        kid,
        alg: JWT_ALG,
        publicJwk: { ...jwk },
        privateKeyEnc: this.box.seal(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()),
      })
      if (current) await tx.update(signingKeys).set({ retiredAt: new Date() }).where(eq(signingKeys.kid, current.kid))
      return true
    })
    if (rotated) await this.load()
    return rotated
  }

  private usableForVerify(row: SigningKeyRow): boolean {
    if (!row.retiredAt) return true
    // Tokens signed just before retirement live one TTL more; allow for clock skew between nodes.
    return Date.now() < row.retiredAt.getTime() + (this.opts.tokenTtlSeconds + 120) * 1000
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
