// Role × organisation for every screening operation: each role of the holdings' owner and of
// another organisation (a postal operator), and no credentials. Readers screen (the roles that
// imply reader too); auditors and platform admins hold no content role; what a reader gets
// depends on its organisation: the owner's digest holds its organisation-only holding, the other's
// does not; the owner's readers see the disclosure notices, the other's see none of them.
import t from 'tap'
import { normalizeIndicator } from '../../src/modules/indicators/normalize.js'
import type { Role } from '../../src/core/roles.js'
import { loadFastOprf } from '../../src/screening/fast.js'
import { blind, oprfInput } from '../../src/screening/oprf.js'
import { holdingTag } from '../../src/screening/server.js'
import { toBase64url } from '../../src/screening/wire.js'
import { as, buildTestApp, json, orgWith, unique } from '../helper.js'

const ROLES: Role[] = ['reader', 'contributor', 'org_admin', 'auditor', 'platform_admin']
const app = await buildTestApp(t)
const fast = await loadFastOprf()
const owner = await orgWith(app, ROLES, { sector: 'customs' })
const other = await orgWith(app, ROLES, { sector: 'postal' })

const value = `${unique('matrix').toLowerCase()}@example.org`
const created = await as(app, owner.contributor.token).post('/v1/indicators', { type: 'email', value, distribution: 'organisation', tlp: 'amber' })
const shared = await as(app, owner.contributor.token).post('/v1/indicators', { type: 'email', value: `shared-${value}`, distribution: 'community' })
if (created.statusCode !== 201 || shared.statusCode !== 201) throw new Error('fixtures')
const sharedId = json<{ id: string }>(shared).id
await app.screening.tagger.runOnce({ wait: true })
const key = await app.screening.keys.current()
const tag = (v: string) => {
  const n = normalizeIndicator('email', v)
  if (!n.ok) throw new Error(n.reason)
  return toBase64url(holdingTag(fast, key.secretKey, 'email', n.normalizedValue))
}
// One disclosure of the shared holding to the other organisation, so the owner has a notice.
await as(app, other.reader.token).post('/v1/screening/resolve', { epoch: key.epoch, type: 'email', tags: [tag(`shared-${value}`)] })

type Op = { name: string; call: (token: string | undefined) => ReturnType<ReturnType<typeof as>['get']> }
const OPS: Op[] = [
  { name: 'getScreeningKeys', call: (tk) => as(app, tk).get('/v1/screening/keys') },
  { name: 'getScreeningDigest', call: (tk) => as(app, tk).get('/v1/screening/digest?type=email') },
  {
    name: 'evaluateScreening',
    call: (tk) =>
      as(app, tk).post('/v1/screening/evaluate', { epoch: key.epoch, type: 'email', elements: [toBase64url(blind(oprfInput('email', value)).blinded)] }),
  },
  { name: 'resolveScreening', call: (tk) => as(app, tk).post('/v1/screening/resolve', { epoch: key.epoch, type: 'email', tags: [tag(value)] }) },
  { name: 'listScreeningDisclosures', call: (tk) => as(app, tk).get('/v1/screening/disclosures') },
]
const READS = new Set<Role>(['reader', 'contributor', 'org_admin'])

for (const op of OPS) {
  t.test(op.name, async (t) => {
    t.equal((await op.call(undefined)).statusCode, 401, 'no credentials: 401')
    for (const [where, org] of [
      ['owner', owner],
      ['other', other],
    ] as const) {
      for (const role of ROLES) {
        const res = await op.call(org[role].token)
        const want = READS.has(role) ? 200 : 403
        t.equal(res.statusCode, want, `${where} ${role}: ${want}${res.statusCode !== want ? ` (${res.body.slice(0, 160)})` : ''}`)
        if (res.statusCode !== 200) continue
        const body = json<Record<string, unknown>>(res)
        if (op.name === 'getScreeningDigest') {
          t.equal(
            (body.tags as string[]).includes(tag(value)),
            where === 'owner',
            `${where} ${role}: the organisation-only holding is ${where === 'owner' ? '' : 'not '}in the digest`,
          )
          t.ok((body.tags as string[]).includes(tag(`shared-${value}`)), `${where} ${role}: the community holding is`)
        }
        if (op.name === 'resolveScreening') {
          const matches = (body.results as { matches: unknown[] }[])[0]?.matches ?? []
          t.equal(matches.length, where === 'owner' ? 1 : 0, `${where} ${role}: resolves the organisation-only holding only for its owner`)
        }
        if (op.name === 'listScreeningDisclosures') {
          const ids = (body.items as { indicatorId: string }[]).map((i) => i.indicatorId)
          t.same(ids, where === 'owner' ? [sharedId] : [], `${where} ${role}: ${where === 'owner' ? 'the owner’s notice' : 'no notices of others’ holdings'}`)
        }
      }
    }
  })
}
