// Fixed-window counters: the rate-limit tiers (plugins/rate-limit.ts) and failed token attempts
// (access/credentials.ts). In Redis when REDIS_URL is set, so every node shares them; in memory
// otherwise. While Redis is unreachable, FallbackCounter counts in this node's memory instead,
// with the same limits: the service keeps answering (never a 500, never a hang), and the limits
// hold per node — N nodes allow up to N times a limit until Redis returns.
import type { Redis } from 'ioredis'

export interface Hit {
  count: number
  /** ms until the window resets */
  resetMs: number
  /** Counted in this node's memory (Redis unreachable): the matching unhit goes there too. */
  local?: boolean
}

export interface Counter {
  /** Add one; returns the new count and the ms until the window resets. Atomic per key. */
  hit(key: string): Promise<Hit>
  /** Take back one hit of the current window (a reserved attempt that turned out fine); pass the hit when there is one. */
  unhit(key: string, hit?: Hit): Promise<void>
}

/** Windows kept at most; past it the oldest go first (a flood of addresses cannot grow memory). */
const MAX_WINDOWS = 100_000

export class MemoryCounter implements Counter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>()
  constructor(private readonly windowMs: number) {}

  private live(key: string) {
    const w = this.windows.get(key)
    if (w && w.resetAt > Date.now()) return w
    if (w) this.windows.delete(key)
    return undefined
  }
  // No await before the count changes: hits of one key never interleave.
  async hit(key: string) {
    let w = this.live(key)
    if (!w) {
      if (this.windows.size >= MAX_WINDOWS) this.evict()
      w = { count: 0, resetAt: Date.now() + this.windowMs }
      this.windows.set(key, w)
    }
    w.count++
    return { count: w.count, resetMs: w.resetAt - Date.now() }
  }
  async unhit(key: string) {
    const w = this.live(key)
    if (w && w.count > 0) w.count--
  }
  /** Expired windows first; if none, the oldest tenth (Map order is insertion order). */
  private evict() {
    const now = Date.now()
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k)
    if (this.windows.size < MAX_WINDOWS) return
    let n = Math.ceil(MAX_WINDOWS / 10)
    for (const k of this.windows.keys()) {
      if (n-- <= 0) break
      this.windows.delete(k)
    }
  }
}

// INCR and, on a new window, PEXPIRE in one round trip, atomically: a key never lives without a TTL.
const HIT_LUA = `local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) return {c, tonumber(ARGV[1])} end
local t = redis.call('PTTL', KEYS[1])
if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) t = tonumber(ARGV[1]) end
return {c, t}`
// Never below zero, and never creating a key that expired meanwhile.
const UNHIT_LUA = "local v = redis.call('GET', KEYS[1]) if v and tonumber(v) > 0 then redis.call('DECR', KEYS[1]) end return 0"

export class RedisCounter implements Counter {
  constructor(
    private readonly redis: Redis,
    private readonly windowMs: number,
    private readonly prefix: string,
  ) {}
  async hit(key: string) {
    const [count, resetMs] = (await this.redis.eval(HIT_LUA, 1, this.prefix + key, this.windowMs)) as [number, number]
    return { count, resetMs }
  }
  async unhit(key: string) {
    await this.redis.eval(UNHIT_LUA, 1, this.prefix + key)
  }
}

/** After a failed command, Redis is left alone this long before one request tries it again. */
const RETRY_AFTER_FAILURE_MS = 1_000

/**
 * Whether Redis is usable, shared by every counter of one client. Outages are logged once when
 * they start and once when they end. "Down": the connection is not ready (refused, dropped,
 * reconnecting) or the last command failed (timed out: a frozen server) and no command or
 * reconnect has succeeded since.
 */
export class RedisHealth {
  private state: 'starting' | 'up' | 'down' = 'starting'
  private retryAt = 0
  private closing = false

  constructor(
    readonly redis: Redis,
    private readonly log: { warn(obj: object, msg: string): void },
  ) {
    redis.on('ready', () => this.succeeded())
    // Connection errors come with 'close'/'reconnecting'; an 'error' without a listener would
    // crash the process, so it is always heard here.
    redis.on('error', (err: Error) => this.failed(err))
    redis.on('close', () => this.failed())
  }

  /** Redis is unreachable (or not yet reached): the counters count locally. */
  get degraded(): boolean {
    return this.state !== 'up' || this.redis.status !== 'ready'
  }

  /** Try Redis for this call? Not while disconnected, nor right after a failed command. */
  usable(): boolean {
    return this.redis.status === 'ready' && (this.state === 'up' || Date.now() >= this.retryAt)
  }

  /** Stop reconnecting, and stay quiet about the connection this ends. */
  close(): void {
    this.closing = true
    this.redis.disconnect()
  }

  succeeded(): void {
    if (this.closing || this.redis.status !== 'ready') return
    if (this.state === 'down') this.log.warn({}, 'Redis is reachable again: rate-limit counters are shared between nodes again')
    this.state = 'up'
  }

  failed(err?: Error): void {
    this.retryAt = Date.now() + RETRY_AFTER_FAILURE_MS
    if (this.closing || this.state === 'down') return
    this.state = 'down'
    this.log.warn(
      { err: err ? { message: err.message, code: (err as { code?: string }).code } : undefined },
      'Redis is unreachable: rate-limit counters fall back to per-node memory (each node allows the full limits) until it returns',
    )
  }
}

/** Redis while it answers, this node's memory while it does not. Never rejects, never waits long (the client's commandTimeout). */
export class FallbackCounter implements Counter {
  private readonly local: MemoryCounter
  constructor(
    private readonly shared: RedisCounter,
    private readonly health: RedisHealth,
    windowMs: number,
  ) {
    this.local = new MemoryCounter(windowMs)
  }
  async hit(key: string): Promise<Hit> {
    if (this.health.usable()) {
      try {
        const hit = await this.shared.hit(key)
        this.health.succeeded()
        return hit
      } catch (err) {
        this.health.failed(err as Error)
      }
    }
    return { ...(await this.local.hit(key)), local: true }
  }
  async unhit(key: string, hit?: Hit): Promise<void> {
    if (hit?.local) return this.local.unhit(key)
    if (!this.health.usable()) return // the reservation stays counted: the safe side
    try {
      await this.shared.unhit(key)
    } catch (err) {
      this.health.failed(err as Error)
    }
  }
}
