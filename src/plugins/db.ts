import fp from 'fastify-plugin'
import type { Database, Db } from '../db/client.js'

declare module 'fastify' {
  interface FastifyInstance {
    database: Database
    db: Db
  }
}

/** Decorates the opened database; the app owns it and closes it last, after in-flight requests. */
export default fp<{ database: Database }>(
  async (app, { database }) => {
    app.decorate('database', database)
    app.decorate('db', database.db)
    app.addHook('onClose', async () => {
      await database.close()
    })
  },
  { name: 'dcx-db' },
)
