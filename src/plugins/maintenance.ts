// The statistics keeper (db/maintenance.ts) in the app: started when configured, stopped on
// close, like the audit chainer. At boot, the log says when the server leaves statistics to us
// (autovacuum or track_counts off) or when the change feed's horizon cannot see other sessions.
import fp from 'fastify-plugin'
import { bootWarnings, StatisticsKeeper } from '../db/maintenance.js'

declare module 'fastify' {
  interface FastifyInstance {
    statsKeeper: StatisticsKeeper
  }
}

export default fp(
  async (app) => {
    const keeper = new StatisticsKeeper(app.database, app.log)
    app.decorate('statsKeeper', keeper)
    for (const warning of await bootWarnings(app.database, app.config.statsKeeper)) app.log.warn(warning)
    if (app.config.statsKeeper) keeper.start(app.config.statsIntervalMs)
    app.addHook('onClose', async () => keeper.stop())
  },
  { name: 'dcx-maintenance', dependencies: ['dcx-db'] },
)
