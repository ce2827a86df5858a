// Fixed-window counters for limits the rate-limit plugin cannot express (failed token attempts
// only). In Redis when REDIS_URL is set, so every node shares them; in memory otherwise.
import type { Redis } from 'ioredis'

export interface Counter {
  /** Current count for key in this window. */
  get(key: string): Promise<number>
  /** Add one; returns the new count and the ms until the window resets. */
  hit(key: string): Promise<{ count: number; resetMs: number }>
  /** Take back one hit of the current window (a reserved attempt that turned out fine). */
  unhit(key: string): Promise<void>
  ttl(key: string): Promise<number>
}

export class MemoryCounter implements Counter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>()
  constructor(private readonly windowMs: number) {}

  private live(key: string) {
    const w = this.windows.get(key)
    if (w && w.resetAt > Date.now()) return w
    if (w) this.windows.delete(key)
    return undefined
  }
  async get(key: string) {
    return this.live(key)?.count ?? 0
  }
  async hit(key: string) {
    let w = this.live(key)
    if (!w) {
      if (this.windows.size > 100_000) this.windows.clear()
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
  async ttl(key: string) {
    const w = this.live(key)
    return w ? w.resetAt - Date.now() : 0
  }
}

export class RedisCounter implements Counter {
  constructor(
    private readonly redis: Redis,
    private readonly windowMs: number,
    private readonly prefix: string,
  ) {}
  async get(key: string) {
    return Number((await this.redis.get(this.prefix + key)) ?? 0)
  }
  async hit(key: string) {
    const k = this.prefix + key
    const [[, count], [, ttl]] = (await this.redis.multi().incr(k).pttl(k).exec()) as [[null, number], [null, number]]
    if (ttl < 0) await this.redis.pexpire(k, this.windowMs)
    return { count, resetMs: ttl < 0 ? this.windowMs : ttl }
  }
  async unhit(key: string) {
    // Never below zero, and never creating a key that expired meanwhile.
    await this.redis.eval("local v = redis.call('GET', KEYS[1]) if v and tonumber(v) > 0 then redis.call('DECR', KEYS[1]) end return 0", 1, this.prefix + key)
  }
  async ttl(key: string) {
    return Math.max(0, await this.redis.pttl(this.prefix + key))
  }
}
