import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { idParams, problems } from '../../core/schemas.js'
import { etag, ifMatchVersion } from '../../core/etag.js'
import { settingsService as service } from './settings.service.js'
import { organisationSettings, organisationSettingsPatch } from './settings.schemas.js'

const tags = ['organisations']

const routes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/organisations/:id/settings',
    {
      schema: {
        tags,
        operationId: 'getOrganisationSettings',
        summary: "An organisation's lifecycle settings: four-eyes publication and retention (its org_admin, platform_admin)",
        params: idParams,
        response: { 200: organisationSettings, ...problems(400, 401, 403, 404, 429, 500) },
      },
    },
    async (req, reply) => {
      const { settings, version } = await service.get(req.ctx, req.params.id)
      reply.header('etag', etag(version))
      return settings
    },
  )

  app.patch(
    '/organisations/:id/settings',
    {
      schema: {
        tags,
        operationId: 'updateOrganisationSettings',
        summary: 'Change four-eyes publication or retention periods (1–60 months); If-Match for optimistic concurrency',
        params: idParams,
        headers: z.object({ 'if-match': z.string().optional() }),
        body: organisationSettingsPatch,
        response: { 200: organisationSettings, ...problems(400, 401, 403, 404, 409, 412, 429, 500) },
      },
    },
    async (req, reply) => {
      const { settings, version } = await service.update(req.ctx, req.params.id, req.body, ifMatchVersion(req.headers['if-match']))
      reply.header('etag', etag(version))
      return settings
    },
  )
}

export default routes
