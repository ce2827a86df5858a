// A note revision is an item of its own (DESIGN §3): it carries the TLP and distribution it had
// and is shown only to those who may see that version. The regression: a note first written
// TLP:RED / organisation, then edited to green / community with the secret removed, must not hand
// the red draft to every organisation through GET /v1/notes/{id}/revisions.
import t from 'tap'
import { as, buildTestApp, isProblem, json, orgWith } from '../helper.js'
import { createGroup, word } from '../exchange/fixtures.js'

interface Revision {
  noteId: string
  version: number
  title: string
  summary: string
  body: string
  tlp: string
  distribution: string
  sharingGroupId: string | null
}

const app = await buildTestApp(t)
const O = await orgWith(app, ['contributor', 'reader', 'org_admin'], { sector: 'customs' })
const G = await orgWith(app, ['reader'], { sector: 'postal' }) // member of O's group, not an authority
const P = await orgWith(app, ['reader'], { sector: 'police' }) // an authority, not in the group
const N = await orgWith(app, ['reader'], { sector: 'industry' }) // neither
const group = await createGroup(app, O.org_admin.token, word('revgroup'), [G.org.id])
const A = as(app, O.contributor.token)

async function post(body: Record<string, unknown>) {
  const res = await A.post('/v1/notes', { topics: ['detection'], language: 'en', ...body })
  if (res.statusCode !== 201) throw new Error(res.body)
  return json<{ id: string }>(res).id
}
async function patch(id: string, body: Record<string, unknown>) {
  const res = await A.patch(`/v1/notes/${id}`, body)
  if (res.statusCode !== 200) throw new Error(res.body)
}
const revisions = async (token: string, id: string) => {
  const res = await as(app, token).get(`/v1/notes/${id}/revisions`)
  if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
  return json<{ items: Revision[] }>(res).items
}

t.test('draft leak: a red / organisation first version is not served after the note goes green / community', async (t) => {
  const secret = word('informant')
  const id = await post({
    title: `Source ${secret}`,
    summary: `Informant ${secret} says`,
    body: `Informant ${secret} names the courier.`,
    tlp: 'red',
    distribution: 'organisation',
  })
  await patch(id, { title: 'Courier profiling', summary: 'Public summary', body: 'The courier pattern, sanitised.', tlp: 'green', distribution: 'community' })

  for (const [name, v] of Object.entries({ G, P, N })) {
    const res = await as(app, v.reader.token).get(`/v1/notes/${id}/revisions`)
    t.equal(res.statusCode, 200, `${name}: the note itself is community`)
    t.notMatch(res.body, secret, `${name}: the red draft's content never leaves`)
    const items = json<{ items: Revision[] }>(res).items
    t.same(
      items.map((r) => [r.version, r.tlp, r.distribution]),
      [[2, 'green', 'community']],
      `${name}: only the green / community version`,
    )
  }
  const own = await revisions(O.reader.token, id)
  t.same(
    own.map((r) => [r.version, r.tlp, r.distribution]),
    [
      [1, 'red', 'organisation'],
      [2, 'green', 'community'],
    ],
    'the owner sees every version, each with its own marking',
  )
  t.match(own[0]?.body, secret)
})

t.test('each revision reaches exactly the audience of its own distribution', async (t) => {
  const id = await post({ title: 'v1', summary: 's', body: 'group version', tlp: 'red', distribution: 'sharing_group', sharingGroupId: group.id })
  await patch(id, { body: 'authorities version', tlp: 'amber', distribution: 'authorities' })
  await patch(id, { body: 'community version', tlp: 'green', distribution: 'community' })
  const expected = { O: [1, 2, 3], G: [1, 3], P: [2, 3], N: [3] }
  for (const [name, v] of Object.entries({ O, G, P, N })) {
    const got = await revisions(v.reader.token, id)
    t.same(
      got.map((r) => r.version),
      expected[name as keyof typeof expected],
      `${name} (${v.org.sector})`,
    )
    for (const r of got)
      t.equal(r.body, ['group version', 'authorities version', 'community version'][r.version - 1], `${name} v${r.version} is that version's content`)
  }
})

t.test('a note the caller may no longer see answers 404 for its revisions, whatever earlier versions were', async (t) => {
  const id = await post({ title: 'once public', summary: 's', body: 'was community', tlp: 'green', distribution: 'community' })
  await patch(id, { body: 'now private', tlp: 'amber', distribution: 'organisation' })
  for (const [name, v] of Object.entries({ G, P, N })) {
    isProblem(t, await as(app, v.reader.token).get(`/v1/notes/${id}/revisions`), 404)
    t.pass(`${name}: 404`)
  }
  t.same(
    (await revisions(O.reader.token, id)).map((r) => r.version),
    [1, 2],
  )
})
