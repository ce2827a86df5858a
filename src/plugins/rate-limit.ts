// Named rate-limit tiers (per account, per address, token attempts). Counters live in Redis when REDIS_URL is set, so any
// number of nodes share them; in memory otherwise. The client address is the socket's unless
// DCX_TRUST_PROXY names the proxies, so a spoofed X-Forwarded-For never resets a limit.
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import { Redis } from 'ioredis'
import { AppError } from '../core/errors.js'
import { MemoryCounter, RedisCounter, type Counter } from '../core/counter.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Failed token attempts, per client id and per address: guessing stops fast. */
    tokenFailures: Counter
  }
}

const MINUTE = 60_000

function limited(retryAfterMs: number) {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000))
  return new AppError('rate_limited', `Rate limit reached; retry in ${seconds} s.`, undefined, {
    'retry-after': String(seconds),
  })
}

export default fp(
  async (app) => {
    const { rateLimit: limits, redisUrl } = app.config
    let redis: Redis | undefined
    if (redisUrl) {
      // Fail fast rather than queue: a rate-limit check must not hang a request.
      redis = new Redis(redisUrl, { connectTimeout: 1_000, maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true })
      await redis.connect()
      app.addHook('onClose', async () => {
        await redis?.quit()
      })
    }
    const counter = (prefix: string): Counter => (redis ? new RedisCounter(redis, MINUTE, prefix) : new MemoryCounter(MINUTE))

    // Tier 1, every request including 404s and bad tokens, before authentication: per client
    // address. Generous — many partner systems may sit behind one NAT address — but it bounds floods.
    const perAddress = counter('dcx-rl-addr-')
    app.addHook('onRequest', async (request) => {
      let hit: { count: number; resetMs: number }
      try {
        hit = await perAddress.hit(request.ip)
      } catch {
        return // Redis unreachable: serve rather than fail every request.
      }
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
      redis,
      nameSpace: 'dcx-rl-',
      skipOnError: true,
      errorResponseBuilder: (_req, ctx) => limited(ctx.ttl),
    })

    app.decorate('tokenFailures', counter('dcx-rl-tokfail-'))
  },
  { name: 'dcx-rate-limit' },
)
