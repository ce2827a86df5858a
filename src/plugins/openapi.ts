// OpenAPI 3.1 generated from the route zod schemas; served at /openapi.json, docs at /docs.
// The committed openapi.yaml is this document; test/openapi.test.ts fails when they drift.
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'

export default fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'DCX — Drug-related Cybercrime Exchange',
          version: '1.0.0',
          description:
            'Secure exchange of drug-related cybercrime risk indicators and best-practice notes between police, ' +
            'customs, border forces, prosecutors, postal operators, couriers and industry partners. ' +
            'Errors are RFC 9457 application/problem+json.',
          license: { name: 'Proprietary', identifier: 'LicenseRef-DCX' },
        },
        servers: [{ url: '/', description: 'This server' }],
        tags: [
          { name: 'auth', description: 'Tokens and signing keys' },
          { name: 'accounts', description: 'Accounts and client credentials' },
          { name: 'organisations', description: 'Directory of partner organisations' },
          { name: 'operations', description: 'Health, readiness and metrics' },
        ],
        components: {
          securitySchemes: {
            bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
            clientBasic: { type: 'http', scheme: 'basic', description: 'client_id and client_secret' },
          },
        },
        security: [{ bearer: [] }],
      },
      transform: jsonSchemaTransform,
      transformObject: jsonSchemaTransformObject,
    })
    if (app.config.docs) {
      await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } })
    }
    app.get('/openapi.json', { schema: { hide: true }, config: { public: true } }, async () => app.swagger())
  },
  { name: 'dcx-openapi' },
)
