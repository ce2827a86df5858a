// Oblivious screening's state in the app (DESIGN.md §8): the keys per epoch and the tagger, which
// runs on its timer when configured (tests run it themselves: app.screening.tagger.runOnce()).
import fp from 'fastify-plugin'
import { ScreeningKeys } from '../screening/keys.js'
import { ScreeningTagger } from '../screening/tagger.js'

declare module 'fastify' {
  interface FastifyInstance {
    screening: { keys: ScreeningKeys; tagger: ScreeningTagger }
  }
}

export default fp<{ masterKey: string }>(
  async (app, opts) => {
    const keys = new ScreeningKeys(app.db, opts.masterKey, { epochDays: app.config.screening.epochDays })
    const tagger = new ScreeningTagger(app.db, keys, app.log)
    app.decorate('screening', { keys, tagger })
    if (app.config.screening.tagger) tagger.start(app.config.screening.tagIntervalMs)
    app.addHook('onClose', async () => tagger.stop())
  },
  { name: 'dcx-screening', dependencies: ['dcx-db'] },
)
