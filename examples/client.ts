// A typed DCX client in a few lines: types generated from openapi.yaml (npm run examples:generate),
// openapi-fetch for the calls, a middleware that adds the bearer token and renews it before it
// expires. Copy it into a partner system as a starting point.
import createClient, { type Client, type Middleware } from 'openapi-fetch'
import type { components, paths } from './generated/dcx.js'

export type DcxClient = Client<paths>
export type Schemas = components['schemas']
/** RFC 9457 problem details: every error of every route except the token endpoint. */
export type Problem = Schemas['Problem']

/** The token endpoint refused the credentials (an OAuth 2.0 error, RFC 6749 §5.2). */
export class DcxTokenError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(`DCX token request failed (${status} ${error}): ${description}`)
    this.name = 'DcxTokenError'
  }
}

// Renew this long before expiry, so a request never leaves with a token about to lapse.
const RENEW_MARGIN_MS = 30_000

/**
 * Gets an access token (POST /v1/auth/token, client-credentials grant) and returns a typed client
 * that sends it on every request. Throws DcxTokenError when the credentials are refused.
 */
export async function createDcxClient(baseUrl: string, clientId: string, clientSecret: string): Promise<DcxClient> {
  // A separate client for the token endpoint: it must not go through the bearer middleware.
  const tokenClient = createClient<paths>({ baseUrl })
  let token = ''
  let expiresAt = 0

  async function renew(): Promise<void> {
    const { data, error, response } = await tokenClient.POST('/v1/auth/token', {
      body: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret },
    })
    if (!data) {
      const oauth = error && 'error' in error ? error : undefined
      throw new DcxTokenError(
        response.status,
        oauth?.error ?? 'unexpected_response',
        oauth?.error_description ?? (error && 'detail' in error ? error.detail : response.statusText),
      )
    }
    token = data.access_token
    expiresAt = Date.now() + data.expires_in * 1000
  }

  await renew()
  const bearer: Middleware = {
    async onRequest({ request }) {
      if (Date.now() > expiresAt - RENEW_MARGIN_MS) await renew()
      request.headers.set('authorization', `Bearer ${token}`)
      return request
    },
  }
  const client = createClient<paths>({ baseUrl })
  client.use(bearer)
  return client
}
