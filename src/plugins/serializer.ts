// Response serialisation from the route's own schema, compiled once. The zod type provider's
// serializer re-validates every response with zod and then JSON.stringify()s it — a seventh of a
// 50-item list's CPU. The same schema, turned into JSON Schema (as the OpenAPI document already
// is), compiles with fast-json-stringify (Fastify's own serialiser) into a function that writes
// only the declared properties: an internal field a service might leave on an object still never
// leaves. A schema JSON Schema cannot express falls back to the zod serializer.
import fastJson from 'fast-json-stringify'
import { z } from 'zod'
import { serializerCompiler as zodSerializer } from 'fastify-type-provider-zod'

type SerializerCompiler = (route: Parameters<typeof zodSerializer>[0]) => (data: unknown) => string

export const serializerCompiler: SerializerCompiler = (route) => {
  try {
    const schema = route.schema as z.ZodType
    const json = z.toJSONSchema(schema, { io: 'output', target: 'draft-7', unrepresentable: 'throw' }) as Record<string, unknown>
    delete json.$schema
    return fastJson(json as unknown as Parameters<typeof fastJson>[0])
  } catch {
    return zodSerializer(route)
  }
}
