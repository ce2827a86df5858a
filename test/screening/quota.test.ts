// The daily evaluate quota (DCX_SCREENING_DAILY_QUOTA): counted per organisation in the database
// by one statement, so two nodes on one PostgreSQL database share it; beyond it a 429
// problem+json with Retry-After, and nothing counted or evaluated.
import t from 'tap'
import { sql } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { prepareScreening } from '../../src/screening/client.js'
import { toBase64url } from '../../src/screening/wire.js'
import { as, buildTestApp, createAccount, isProblem, orgWith } from '../helper.js'

const QUOTA = 5
const env = { DCX_SCREENING_DAILY_QUOTA: String(QUOTA) }
const node1 = await buildTestApp(t, env)
const onServer = Boolean(process.env.DATABASE_URL)

const elements = (n: number) =>
  prepareScreening(
    'email',
    Array.from({ length: n }, (_, i) => `quota-${i}@example.org`),
  ).items.map((i) => toBase64url(i.state.blinded))

async function evaluate(app: FastifyInstance, token: string, n: number) {
  const epoch = (await app.screening.keys.current()).epoch
  return as(app, token).post('/v1/screening/evaluate', { epoch, type: 'email', elements: elements(n) })
}

async function used(app: FastifyInstance, organisationId: string) {
  const [row] = await app.database.asOwner((q) =>
    q(sql`select used from screening_quota where organisation_id = ${organisationId} and day = (now() at time zone 'utc')::date`),
  )
  return row ? Number(row.used) : 0
}

t.test('one node: up to the quota, then 429 with Retry-After; per organisation', async (t) => {
  const a = await orgWith(node1, ['reader'], { sector: 'postal' })
  const b = await orgWith(node1, ['reader'], { sector: 'postal' })
  t.equal((await evaluate(node1, a.reader.token, 3)).statusCode, 200)
  const over = await evaluate(node1, a.reader.token, 3)
  const problem = isProblem(t, over, 429)
  t.match(problem.detail, /quota of 5/)
  t.ok(
    Number(over.headers['retry-after']) > 0 && Number(over.headers['retry-after']) <= 86_400,
    `Retry-After ${over.headers['retry-after']} s, until midnight UTC`,
  )
  t.equal(await used(node1, a.org.id), 3, 'a refused call counts nothing')
  t.equal((await evaluate(node1, a.reader.token, 2)).statusCode, 200, 'what is left can still be used')
  isProblem(t, await evaluate(node1, a.reader.token, 1), 429)
  t.equal(await used(node1, a.org.id), 5)
  isProblem(t, await evaluate(node1, b.reader.token, 6), 429)
  t.equal((await evaluate(node1, b.reader.token, 5)).statusCode, 200, 'another organisation has its own quota')
  const events = await node1.database.asOwner((q) =>
    q(sql`select status, outcome from audit_events where organisation_id = ${a.org.id} and action = 'screening.evaluate' order by id`),
  )
  t.same(
    events.map((e) => e.status),
    [200, 429, 200, 429],
    'refusals are audited too',
  )
})

t.test(
  'two nodes on one PostgreSQL database share the quota',
  { skip: onServer ? false : 'PGlite is one process and one database per app: two nodes need a PostgreSQL server' },
  async (t) => {
    const node2 = await buildTestApp(t, env)
    const { org, reader } = await orgWith(node1, ['reader'], { sector: 'postal' })
    // The same organisation's second account, used on the other node.
    const other = await createAccount(node2, org.id, ['reader'])
    // Concurrently, 3 + 3 against 5: exactly one passes, whichever node it reached.
    const [r1, r2] = await Promise.all([evaluate(node1, reader.token, 3), evaluate(node2, other.token, 3)])
    t.same([r1.statusCode, r2.statusCode].sort(), [200, 429], 'one call passes, the other is over the shared quota')
    t.equal(await used(node2, org.id), 3)
    t.equal((await evaluate(node2, other.token, 2)).statusCode, 200, 'the rest on node 2')
    isProblem(t, await evaluate(node1, reader.token, 1), 429)
    t.equal(await used(node1, org.id), 5)
  },
)
