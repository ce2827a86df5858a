// 405 rather than 404 for a path that exists with other methods (RFC 9110 §15.5.6), with Allow
// naming them: PUT /v1/indicators answers 405, Allow: GET, POST. The routes are recorded as they
// are added (onRoute), each path pattern as a regular expression; plugins/error-handler.ts asks
// here before answering 404.
import type { FastifyInstance } from 'fastify'

const routes: { re: RegExp; method: string }[] = []

function patternOf(url: string): RegExp {
  const parts = url.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
  return new RegExp(`^${parts.join('/')}$`)
}

export function recordRoutes(app: FastifyInstance): void {
  app.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method]
    const re = patternOf(r.url)
    for (const m of methods) routes.push({ re, method: m.toUpperCase() })
  })
}

/** The methods a path has routes for (HEAD with GET), or [] when none. */
export function allowedMethods(path: string): string[] {
  const found = new Set(routes.filter((r) => r.re.test(path)).map((r) => r.method))
  if (found.has('GET')) found.add('HEAD')
  return [...found].sort()
}
