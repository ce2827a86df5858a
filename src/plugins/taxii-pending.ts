// The TAXII pending-status job (modules/taxii/taxii.pending.ts) in the app: large pushes are
// processed after their 202 on the node that took them, and on every node the job completes
// statuses a dead node left pending, every config.taxii.pendingIntervalMs. Tests run it themselves.
import fp from 'fastify-plugin'
import { TaxiiPending } from '../modules/taxii/taxii.pending.js'

declare module 'fastify' {
  interface FastifyInstance {
    taxiiPending: TaxiiPending
  }
}

export default fp<{ recording?: boolean }>(
  async (app, opts) => {
    const job = new TaxiiPending({
      db: app.db,
      database: app.database,
      recording: opts.recording !== false,
      loadActor: (accountId) => app.loadActor(accountId),
      log: app.log,
    })
    app.decorate('taxiiPending', job)
    if (app.config.taxii.pendingJob) job.start(app.config.taxii.pendingIntervalMs)
    app.addHook('onClose', async () => job.stop())
  },
  { name: 'dcx-taxii-pending', dependencies: ['dcx-db', 'dcx-auth'] },
)
