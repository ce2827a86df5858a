// The statistics keeper (db/maintenance.ts) in the app: started when configured, stopped on
// close, like the audit chainer. With it, on the same timer, the yield counts' fold
// (modules/indicators/yield.fold.ts): table upkeep both; yield reads fold as well. At boot, the log says when the server leaves statistics to us
// (autovacuum or track_counts off) or when the change feed's horizon cannot see other sessions.
import fp from 'fastify-plugin'
import { bootWarnings, StatisticsKeeper } from '../db/maintenance.js'
import { MatchCountFolder } from '../modules/indicators/yield.fold.js'

declare module 'fastify' {
  interface FastifyInstance {
    statsKeeper: StatisticsKeeper
    matchCountFolder: MatchCountFolder
  }
}

export default fp(
  async (app) => {
    const keeper = new StatisticsKeeper(app.database, app.log)
    app.decorate('statsKeeper', keeper)
    for (const warning of await bootWarnings(app.database, app.config.statsKeeper)) app.log.warn(warning)
    const folder = new MatchCountFolder(app.db, app.log)
    app.decorate('matchCountFolder', folder)
    if (app.config.statsKeeper) {
      keeper.start(app.config.statsIntervalMs)
      folder.start(app.config.statsIntervalMs)
    }
    app.addHook('onClose', async () => {
      await folder.stop()
      await keeper.stop()
    })
  },
  { name: 'dcx-maintenance', dependencies: ['dcx-db'] },
)
