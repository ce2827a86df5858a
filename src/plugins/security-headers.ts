// Security headers (helmet) on every response. @fastify/helmet calls helmet(options) in an
// onRequest hook for every request — parsing the CSP directives and building each middleware
// again — about 3 % of a read by id's CPU. The service's options are the same for every route (no
// route has helmet options of its own, no CSP nonces), so every response gets the same headers:
// they are computed once at boot, by @fastify/helmet itself on a throwaway instance, and set on
// the raw response (as helmet does, so a route that writes to reply.raw gets them too).
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet'

/** The headers @fastify/helmet adds to a response with these options: what an instance with it answers beyond one without. */
export async function helmetHeaders(options: FastifyHelmetOptions): Promise<[string, string][]> {
  const bare = Fastify()
  const withHelmet = Fastify()
  await withHelmet.register(helmet, options)
  for (const f of [bare, withHelmet]) f.get('/', async () => 'ok')
  try {
    const [plain, secured] = await Promise.all([bare.inject({ method: 'GET', url: '/' }), withHelmet.inject({ method: 'GET', url: '/' })])
    return Object.entries(secured.headers)
      .filter(([name, value]) => !(name in plain.headers) && value !== undefined)
      .map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value)])
  } finally {
    await Promise.all([bare.close(), withHelmet.close()])
  }
}

export default fp<{ helmet: FastifyHelmetOptions }>(
  async (app, opts) => {
    const headers = await helmetHeaders(opts.helmet)
    if (!headers.some(([name]) => name === 'content-security-policy')) throw new Error('security headers: helmet produced no Content-Security-Policy')
    app.addHook('onRequest', (_request, reply, done) => {
      for (const [name, value] of headers) reply.raw.setHeader(name, value)
      done()
    })
  },
  { name: 'dcx-security-headers' },
)
