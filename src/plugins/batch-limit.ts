// Batch calls — the routes that take bodies beyond the default limit: bulk ingest, match, STIX and
// TAXII imports — run a few at a time per node (DCX_BATCH_CONCURRENCY); the rest wait, first come
// first served, before their bodies are read. Fifty partners screening 10,000 values at once each
// hold megabytes of parsed body, probes and results: unbounded, that is memory (and no faster on
// a pool of ten connections); queued, it is latency, which the request's own timeout bounds.
// Registered after authentication, so only a caller the service knows can take a slot.
import fp from 'fastify-plugin'
import { Semaphore } from '../core/semaphore.js'

export default fp(
  async (app) => {
    const slots = new Semaphore(app.config.batchConcurrency)
    app.decorate('batchSlots', slots)
    app.addHook('onRequest', async (request, reply) => {
      if ((request.routeOptions.bodyLimit ?? 0) <= app.config.bodyLimit) return
      const release = await slots.acquire()
      // The response's 'close' comes when it is done or when the client went away; one that went
      // away while waiting may have closed already, so its slot goes back at once.
      reply.raw.once('close', release)
      if (request.raw.destroyed || reply.raw.destroyed) release()
    })
  },
  { name: 'dcx-batch-limit', dependencies: ['dcx-auth'] },
)

declare module 'fastify' {
  interface FastifyInstance {
    batchSlots: Semaphore
  }
}
