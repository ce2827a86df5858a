import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { problems } from '../../core/schemas.js'
import { meService } from './me.service.js'
import { me } from './me.schemas.js'

const routes: FastifyPluginAsyncZod = async (app) => {
  const service = meService()

  app.get(
    '/me',
    {
      schema: {
        tags: ['accounts'],
        operationId: 'getMe',
        summary: "The caller's account, roles and organisation",
        response: { 200: me, ...problems(401, 429, 500) },
      },
    },
    async (req) => service.get(req.ctx),
  )
}

export default routes
