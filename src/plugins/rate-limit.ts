// Named rate-limit tiers (per account, per address, token attempts). Counters live in Redis when REDIS_URL is set, so any
// number of nodes share them; in memory otherwise. The client address is the socket's unless
// DCX_TRUST_PROXY names the proxies, so a spoofed X-Forwarded-For never resets a limit.
//
// Redis down: a node starts without it and connects when it comes (ioredis reconnects; no
// offline queue, short command timeout, so no request waits on it). Meanwhile every counter —
// the tiers below and the failed-token-attempt counter — counts in this node's memory with the
// same limits (bounded: core/counter.ts), so N nodes allow up to N× a limit during the outage.
// The outage is logged (warn) once when it starts and once when it ends; /readyz reports it.
import fp from 'fastify-plugin'
import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import { Redis } from 'ioredis'
import { AppError } from '../core/errors.js'
import { FallbackCounter, MemoryCounter, RedisCounter, RedisHealth, type Counter } from '../core/counter.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Failed token attempts, per client id and per address: guessing stops fast. */
    tokenFailures: Counter
    /** Redis's state when REDIS_URL is set (null otherwise): degraded while counters count locally. */
    redisHealth: RedisHealth | null
  }
}

const MINUTE = 60_000
/** A Redis command that has not answered by then fails, and the counter counts locally. */
const REDIS_COMMAND_TIMEOUT_MS = 500

function limited(retryAfterMs: number) {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000))
  return new AppError('rate_limited', `Rate limit reached; retry in ${seconds} s.`, undefined, {
    'retry-after': String(seconds),
  })
}

/** A @fastify/rate-limit store over our counters (one per window length), so its tiers fall back like ours. */
function counterStore(make: (prefix: string, windowMs: number) => Counter): FastifyRateLimitStoreCtor {
  class CounterStore {
    private readonly counters = new Map<number, Counter>()
    constructor(
      _params: unknown,
      private readonly prefix = 'dcx-rl-',
    ) {}
    incr(key: string, cb: (err: Error | null, res: { current: number; ttl: number } | null) => void, timeWindow: number) {
      let counter = this.counters.get(timeWindow)
      if (!counter) {
        counter = make(this.prefix, timeWindow)
        this.counters.set(timeWindow, counter)
      }
      counter.hit(key).then(
        (h) => cb(null, { current: h.count, ttl: h.resetMs }),
        (err: Error) => cb(err, null),
      )
    }
    child(routeOptions: { routeInfo: { method: string; url: string } }) {
      return new CounterStore(null, `${this.prefix}${routeOptions.routeInfo.method}${routeOptions.routeInfo.url}-`)
    }
  }
  return CounterStore as unknown as FastifyRateLimitStoreCtor
}

export default fp(
  async (app) => {
    const { rateLimit: limits, redisUrl } = app.config
    let health: RedisHealth | null = null
    if (redisUrl) {
      const redis = new Redis(redisUrl, {
        connectTimeout: 1_000,
        commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
        // Fail fast rather than queue: a rate-limit check must not hang a request.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        // Keep trying to (re)connect, at most a second apart; the boot does not wait for it.
        retryStrategy: (times) => Math.min(100 * times, 1_000),
        // First connection once the app is ready: a boot that keeps the event loop busy (the
        // embedded database's migrations) would otherwise outlast connectTimeout and log an
        // outage that never was. Until then the counters count locally.
        lazyConnect: true,
      })
      health = new RedisHealth(redis, app.log)
      const h = health
      app.addHook('onReady', async () => {
        // A refused first attempt is heard by RedisHealth; the retry strategy keeps trying.
        redis.connect().catch(() => {})
      })
      app.addHook('onClose', async () => h.close())
    }
    const counter = (prefix: string, windowMs = MINUTE): Counter =>
      health ? new FallbackCounter(new RedisCounter(health.redis, windowMs, prefix), health, windowMs) : new MemoryCounter(windowMs)
    app.decorate('redisHealth', health)

    // Tier 1, every request including 404s and bad tokens, before authentication: per client
    // address. Generous — many partner systems may sit behind one NAT address — but it bounds floods.
    const perAddress = counter('dcx-rl-addr-')
    app.addHook('onRequest', async (request) => {
      const hit = await perAddress.hit(request.ip)
      if (hit.count > limits.perAddressPerMinute) throw limited(hit.resetMs)
    })

    // Tier 2, after authentication (preHandler): per account on authenticated routes, so one
    // noisy system cannot starve the rest; per address on public routes. The token endpoint
    // sets its own, looser max per address (all attempts) in its route config.
    await app.register(rateLimit, {
      global: true,
      hook: 'preHandler',
      max: async (req) => (req.actor ? limits.perAccountPerMinute : limits.perAddressPerMinute),
      timeWindow: MINUTE,
      keyGenerator: (req) => (req.actor ? `acct:${req.actor.accountId}` : `addr:${req.ip}`),
      store: counterStore((prefix, windowMs) => counter(prefix, windowMs)),
      // Our counters do not fail (they count locally instead); should one ever, serve rather than 500.
      skipOnError: true,
      errorResponseBuilder: (_req, ctx) => limited(ctx.ttl),
    })

    app.decorate('tokenFailures', counter('dcx-rl-tokfail-'))
  },
  { name: 'dcx-rate-limit' },
)
