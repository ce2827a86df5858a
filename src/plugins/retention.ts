// The retention job (modules/retention/retention.job.ts) in the app: started when configured,
// every DCX_RETENTION_INTERVAL_MS, stopped on close. Tests run it themselves (app.retentionJob.runOnce()).
import fp from 'fastify-plugin'
import { RetentionJob } from '../modules/retention/retention.job.js'

declare module 'fastify' {
  interface FastifyInstance {
    retentionJob: RetentionJob
  }
}

export default fp(
  async (app) => {
    const job = new RetentionJob(app.db, app.log)
    app.decorate('retentionJob', job)
    if (app.config.retentionJob) job.start(app.config.retentionIntervalMs)
    app.addHook('onClose', async () => job.stop())
  },
  { name: 'dcx-retention', dependencies: ['dcx-db'] },
)
