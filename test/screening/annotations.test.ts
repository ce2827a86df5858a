// A resolved screening hit says what a match says (DESIGN §8, "Warning lists"): a value on a
// warning list the caller may see carries `warning`, a value held by more than 20 visible items is
// `overCorrelated`; neither ever carries the value.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { normalizeIndicator } from '../../src/modules/indicators/normalize.js'
import { loadFastOprf } from '../../src/screening/fast.js'
import { holdingTag } from '../../src/screening/server.js'
import { toBase64url } from '../../src/screening/wire.js'
import { as, buildTestApp, json, orgWith } from '../helper.js'

const app = await buildTestApp(t)
const fast = await loadFastOprf()
const owner = await orgWith(app, ['contributor'], { sector: 'police' })
const postal = await orgWith(app, ['reader', 'org_admin'], { sector: 'postal' })
const run = randomUUID().slice(0, 8)
const listed = `locker-${run}.example`
const crowded = `hosting-${run}.example`
const plain = `shop-${run}.example`

const items = [listed, plain, ...Array.from({ length: 21 }, () => crowded)].map((value) => ({ type: 'domain', value, tlp: 'green', distribution: 'community' }))
const made = await as(app, owner.contributor.token).post('/v1/indicators/bulk', { items })
if (made.statusCode !== 200) throw new Error(made.body)
const list = await as(app, postal.org_admin.token).post('/v1/warning-lists', {
  name: `lockers ${run}`,
  reason: 'Parcel locker bank',
  entries: [{ type: 'domain', value: listed }],
})
if (list.statusCode !== 201) throw new Error(list.body)

const tagOf = async (value: string) => {
  const n = normalizeIndicator('domain', value)
  if (!n.ok) throw new Error(n.reason)
  return toBase64url(holdingTag(fast, (await app.screening.keys.current()).secretKey, 'domain', n.normalizedValue))
}

t.test('resolve annotates listed and over-correlated values, and only those', async (t) => {
  await app.screening.tagger.runOnce({ wait: true })
  const epoch = (await app.screening.keys.current()).epoch
  const tags = [await tagOf(listed), await tagOf(crowded), await tagOf(plain)]
  const res = await as(app, postal.reader.token).post('/v1/screening/resolve', { epoch, type: 'domain', tags })
  t.equal(res.statusCode, 200, res.body)
  const [a, b, c] = json<{ results: { tag: string; matches: unknown[]; warning?: { list: string; reason: string }; overCorrelated?: boolean }[] }>(res).results
  t.match(a, { tag: tags[0], warning: { list: `lockers ${run}`, reason: 'Parcel locker bank' } })
  t.notOk(a?.overCorrelated)
  t.equal(b?.matches.length, 21)
  t.equal(b?.overCorrelated, true)
  t.notOk(b?.warning)
  t.equal(c?.matches.length, 1)
  t.notOk(c?.warning || c?.overCorrelated, 'a plain hit: no annotation')
  t.notOk(res.body.includes(listed) || res.body.includes(crowded), 'no value in the answer')
})
