// An analyst's first session: who am I, and who can I reach?
//   DCX_URL=http://127.0.0.1:3000 DCX_CLIENT_ID=... DCX_CLIENT_SECRET=... npx tsx examples/analyst-session.ts
import { createDcxClient, DcxTokenError, type Problem, type Schemas } from './client.js'

function env(name: string): string {
  const value = process.env[name]
  if (!value) {
    process.stderr.write(`Set ${name} (see examples/README.md).\n`)
    process.exit(2)
  }
  return value
}

function fail(what: string, problem: Problem | undefined, status: number): never {
  process.stderr.write(`${what} failed: ${status} ${problem?.title ?? ''} — ${problem?.detail ?? ''} (request ${problem?.requestId ?? '?'})\n`)
  process.exit(1)
}

const baseUrl = env('DCX_URL').replace(/\/+$/, '')
let dcx
try {
  dcx = await createDcxClient(baseUrl, env('DCX_CLIENT_ID'), env('DCX_CLIENT_SECRET'))
} catch (err) {
  if (err instanceof DcxTokenError) {
    process.stderr.write(`${err.message}\n`)
    process.exit(1)
  }
  throw err
}

const me = await dcx.GET('/v1/me')
if (!me.data) fail('GET /v1/me', me.error, me.response.status)
const { account, organisation, effectiveRoles } = me.data
console.log(`Signed in as ${account.name} (${account.clientId})`)
console.log(`  organisation: ${organisation.name} — ${organisation.sector}, ${organisation.country}`)
console.log(`  roles:        ${effectiveRoles.join(', ')}`)

// The directory, every page: partners and the desk to contact them through.
const directory: Schemas['Organisation'][] = []
let cursor: string | undefined
do {
  const page = await dcx.GET('/v1/organisations', { params: { query: { limit: 200, ...(cursor ? { cursor } : {}) } } })
  if (!page.data) fail('GET /v1/organisations', page.error, page.response.status)
  directory.push(...page.data.items)
  cursor = page.data.nextCursor ?? undefined
} while (cursor)

console.log(`\nDirectory: ${directory.length} organisation(s)`)
console.table(
  directory.map((o) => ({
    name: o.name,
    sector: o.sector,
    country: o.country,
    status: o.status,
    email: o.contact.email,
    phone: o.contact.phone ?? '',
    hours: o.contact.hours ?? '',
  })),
)
