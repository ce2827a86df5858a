// The screening keys: one VOPRF key pair (RFC 9497, ristretto255-SHA512) per epoch, kept in the
// database so every node and every restart agree, the secret half sealed under DCX_MASTER_KEY
// (as the token signing keys, access/keys.ts). Epochs are numbered 1, 2, …; a key is current
// from its creation for DCX_SCREENING_EPOCH_DAYS (rotates_at) and still accepted for evaluate and
// resolve for a grace day after (not_after), so a partner that fetched the digest just before a
// rotation can finish its batch. Rotation is safe on many nodes at once: the deciding transaction
// holds an advisory lock and re-reads the newest key under it, and the epoch is the primary key,
// so two nodes can never both add one.
import { desc } from 'drizzle-orm'
import { rows, sql, type Db } from '../db/client.js'
import { screeningKeys, type ScreeningKeyRow } from '../db/schema/index.js'
import { SealedBox } from '../core/sealed-box.js'
import { generateKeyPair, MODE, publicKeyOf, SUITE } from './oprf.js'
import { type KeysEntry, toBase64url } from './wire.js'

const SCREENING_KEY_LOCK_ID = 0x64637818
/** After its epoch ends, a key is still accepted this long (at most one epoch). */
export const ACCEPT_AFTER_ROTATION_MS = 86_400_000
/** The loaded keys are re-read at most this often when current() is asked (another node may have rotated). */
const RELOAD_MS = 10_000

export interface ScreeningKey {
  epoch: number
  secretKey: Uint8Array
  publicKey: Uint8Array
  createdAt: Date
  rotatesAt: Date
  notAfter: Date
}

export class ScreeningKeys {
  private keys = new Map<number, ScreeningKey>()
  private loadedAt = 0
  private readonly box: SealedBox

  constructor(
    private readonly db: Db,
    masterKey: string,
    private readonly opts: { epochDays: number },
  ) {
    this.box = new SealedBox(masterKey, 'screening-keys')
  }

  /** The key of the current epoch, created (or rotated) on demand. */
  async current(now = Date.now()): Promise<ScreeningKey> {
    if (now - this.loadedAt > RELOAD_MS) await this.load()
    let key = this.newest()
    if (!key || key.rotatesAt.getTime() <= now) {
      await this.rotateIfDue(false)
      key = this.newest()
    }
    if (!key) throw new Error('no screening key after rotation')
    return key
  }

  /** The key of an epoch while it is accepted (current, or rotated less than its grace ago); undefined otherwise. */
  async accepted(epoch: number, now = Date.now()): Promise<ScreeningKey | undefined> {
    if (!Number.isSafeInteger(epoch) || epoch < 1) return undefined
    let key = this.keys.get(epoch)
    if (!key && now - this.loadedAt > 1_000) {
      await this.load()
      key = this.keys.get(epoch)
    }
    return key && now < key.notAfter.getTime() ? key : undefined
  }

  /** Every accepted key, the current one first. */
  async published(now = Date.now()): Promise<ScreeningKey[]> {
    const current = await this.current(now)
    return [current, ...[...this.keys.values()].filter((k) => k.epoch !== current.epoch && now < k.notAfter.getTime()).sort((a, b) => b.epoch - a.epoch)]
  }

  /** Start a new epoch when the current one is due (or now, when forced). The new epoch, or null when none was due. */
  async rotateIfDue(force: boolean): Promise<number | null> {
    const epoch = await this.db.transaction(async (tx) => {
      // One node at a time decides, having seen what the others did.
      await rows(tx, sql`SELECT pg_advisory_xact_lock(${SCREENING_KEY_LOCK_ID})`)
      const [newest] = await tx.select().from(screeningKeys).orderBy(desc(screeningKeys.epoch)).limit(1)
      const now = Date.now()
      if (newest && !force && newest.rotatesAt.getTime() > now) return null
      const pair = generateKeyPair()
      const epochMs = this.opts.epochDays * 86_400_000
      const rotatesAt = new Date(now + epochMs)
      const next = (newest?.epoch ?? 0) + 1
      await tx.insert(screeningKeys).values({
        epoch: next,
        publicKey: Buffer.from(pair.publicKey),
        secretKeyEnc: this.box.seal(toBase64url(pair.secretKey)),
        createdAt: new Date(now),
        rotatesAt,
        notAfter: new Date(rotatesAt.getTime() + Math.min(ACCEPT_AFTER_ROTATION_MS, epochMs)),
      })
      return next
    })
    await this.load()
    return epoch
  }

  async load(): Promise<void> {
    const started = Date.now()
    const all = await this.db.select().from(screeningKeys).orderBy(desc(screeningKeys.epoch))
    const next = new Map<number, ScreeningKey>()
    for (const row of all) {
      if (started >= row.notAfter.getTime()) continue
      next.set(row.epoch, this.keys.get(row.epoch) ?? this.unseal(row))
    }
    this.keys = next
    this.loadedAt = started
  }

  private newest(): ScreeningKey | undefined {
    let best: ScreeningKey | undefined
    for (const k of this.keys.values()) if (!best || k.epoch > best.epoch) best = k
    return best
  }

  private unseal(row: ScreeningKeyRow): ScreeningKey {
    let secretKey: Uint8Array
    try {
      secretKey = new Uint8Array(Buffer.from(this.box.open(row.secretKeyEnc), 'base64url'))
    } catch {
      throw new Error(
        `cannot decrypt screening key of epoch ${row.epoch}: DCX_MASTER_KEY differs from the key that sealed it ` +
          '(every node of one database needs the same DCX_MASTER_KEY)',
      )
    }
    const publicKey = new Uint8Array(row.publicKey)
    if (toBase64url(publicKeyOf(secretKey)) !== toBase64url(publicKey))
      throw new Error(`screening key of epoch ${row.epoch}: the public key is not the secret key's`)
    return { epoch: row.epoch, secretKey, publicKey, createdAt: row.createdAt, rotatesAt: row.rotatesAt, notAfter: row.notAfter }
  }
}

/** A key as the wire publishes it (DESIGN.md §8). */
export function keysEntry(key: ScreeningKey): KeysEntry {
  return { suite: SUITE, mode: MODE, epoch: key.epoch, publicKey: toBase64url(key.publicKey), notAfter: key.notAfter.toISOString() }
}
