// Role × organisation for every review and retention operation: each role of the owner
// organisation and of another one (which can see the item: it is community-distributed) — the
// role decides 401/403, ownership 404, and only the owner's contributors and admins decide.
import t from 'tap'
import type { Role } from '../../src/core/roles.js'
import { as, buildTestApp, orgWith } from '../helper.js'
import { backdate, inDays, postIndicator, postNote } from './support.js'

type Caller = Role | 'anon'
const CALLERS: Caller[] = ['reader', 'contributor', 'org_admin', 'auditor', 'platform_admin', 'anon']
const ROLES: Role[] = ['reader', 'contributor', 'org_admin', 'auditor', 'platform_admin']

const app = await buildTestApp(t)
const own = await orgWith(app, ROLES, { sector: 'police' })
const other = await orgWith(app, ROLES, { sector: 'customs' })
const tokenOf = (org: typeof own, c: Caller) => (c === 'anon' ? undefined : org[c].token)

// Expected per caller: [caller of the owner organisation, caller of another organisation].
const writes: Record<Caller, [number, number]> = {
  reader: [403, 403],
  contributor: [200, 404],
  org_admin: [200, 404],
  auditor: [403, 403],
  platform_admin: [403, 403],
  anon: [401, 401],
}

t.test('GET /v1/review-queue: reader+ of any organisation, each its own queue', async (t) => {
  const ind = await postIndicator(app, own.contributor.token)
  await backdate(app, 'indicator', ind.id, 2)
  const expected: Record<Caller, number> = { reader: 200, contributor: 200, org_admin: 200, auditor: 403, platform_admin: 403, anon: 401 }
  for (const [org, name] of [
    [own, 'own'],
    [other, 'other'],
  ] as const) {
    for (const c of CALLERS) {
      const res = await as(app, tokenOf(org, c)).get('/v1/review-queue?limit=500')
      t.equal(res.statusCode, expected[c], `${name} ${c}: ${expected[c]}`)
      if (res.statusCode === 200) {
        const listed = (res.json() as { items: { id: string }[] }).items.some((i) => i.id === ind.id)
        t.equal(listed, org === own, `${name} ${c}: the item is listed only for its owner`)
      }
    }
  }
})

for (const kind of ['indicator', 'note'] as const) {
  for (const decision of ['extend', 'erase'] as const) {
    t.test(`POST /v1/${kind}s/{id}/review (${decision})`, async (t) => {
      for (const [org, i] of [
        [own, 0],
        [other, 1],
      ] as const) {
        for (const c of CALLERS) {
          const item = kind === 'indicator' ? await postIndicator(app, own.contributor.token) : await postNote(app, own.contributor.token)
          const body = decision === 'extend' ? { decision, reviewBy: inDays(100), reason: 'matrix check' } : { decision, reason: 'matrix check' }
          const res = await as(app, tokenOf(org, c)).post(`/v1/${kind}s/${item.id}/review`, body)
          const want = writes[c][i]
          t.equal(res.statusCode, want, `${i === 0 ? 'owner' : 'other'} ${c}: ${want} (${res.body.slice(0, 120)})`)
          const after = (await as(app, own.reader.token).get(`/v1/${kind}s/${item.id}`)).json() as { version: number; status: string }
          t.equal(after.version, want === 200 ? 2 : 1, `${c}: changed only when allowed`)
          if (want === 200) t.equal(after.status, decision === 'erase' ? 'erased' : kind === 'indicator' ? 'active' : 'published')
        }
      }
    })
  }
}

// Retraction notices: `own` owns the item, `other` received it and was told.
async function retracted(kind: 'indicator' | 'note') {
  const item = kind === 'indicator' ? await postIndicator(app, own.contributor.token) : await postNote(app, own.contributor.token)
  await as(app, other.reader.token).get(`/v1/${kind}s/${item.id}`)
  await as(app, own.contributor.token).delete(`/v1/${kind}s/${item.id}`)
  const list = (await as(app, other.reader.token).get('/v1/retractions?limit=500')).json() as { items: { id: string; itemId: string }[] }
  const notice = list.items.find((n) => n.itemId === item.id)
  if (!notice) throw new Error('fixture: no notice')
  return { itemId: item.id, noticeId: notice.id }
}
const readers = (s: number): Record<Caller, number> => ({ reader: s, contributor: s, org_admin: s, auditor: 403, platform_admin: 403, anon: 401 })

t.test('GET /v1/retractions: reader+ of any organisation, each its own notices', async (t) => {
  const { itemId } = await retracted('indicator')
  for (const [org, name] of [
    [own, 'owner'],
    [other, 'recipient'],
  ] as const) {
    for (const c of CALLERS) {
      const res = await as(app, tokenOf(org, c)).get('/v1/retractions?limit=500')
      t.equal(res.statusCode, readers(200)[c], `${name} ${c}`)
      if (res.statusCode === 200) {
        const has = (res.json() as { items: { itemId: string }[] }).items.some((n) => n.itemId === itemId)
        t.equal(has, org === other, `${name} ${c}: listed only for the recipient`)
      }
    }
  }
})

t.test('POST /v1/retractions/{id}/ack: the recipient’s reader+ only; the owner 404', async (t) => {
  for (const [org, name, allowed] of [
    [own, 'owner', 404],
    [other, 'recipient', 200],
  ] as const) {
    for (const c of CALLERS) {
      const { noticeId } = await retracted('indicator')
      const res = await as(app, tokenOf(org, c)).post(`/v1/retractions/${noticeId}/ack`)
      t.equal(res.statusCode, readers(allowed)[c], `${name} ${c}`)
      const after = ((await as(app, other.reader.token).get('/v1/retractions?limit=500')).json() as { items: { id: string }[] }).items.some(
        (n) => n.id === noticeId,
      )
      t.equal(after, res.statusCode !== 200, `${name} ${c}: acknowledged only when allowed`)
    }
  }
})

for (const kind of ['indicator', 'note'] as const) {
  t.test(`GET /v1/${kind}s/{id}/retractions: the owner’s reader+ only; others 404`, async (t) => {
    const { itemId } = await retracted(kind)
    for (const [org, name, allowed] of [
      [own, 'owner', 200],
      [other, 'recipient', 404],
    ] as const) {
      for (const c of CALLERS) {
        const res = await as(app, tokenOf(org, c)).get(`/v1/${kind}s/${itemId}/retractions`)
        t.equal(res.statusCode, readers(allowed)[c], `${name} ${c}`)
        if (res.statusCode === 200) t.equal((res.json() as { items: unknown[] }).items.length, 1, 'the one organisation told')
      }
    }
  })
}
