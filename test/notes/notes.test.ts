import t from 'tap'
import { as, buildTestApp, isProblem, json, orgWith } from '../helper.js'

interface Note {
  id: string
  version: number
  title: string
  body: string
  status: string
}

t.test('notes: publish, edit (revisions kept), search, revoke; hidden ones 404', async (t) => {
  const app = await buildTestApp(t)
  const owner = await orgWith(app, ['contributor', 'reader'], { sector: 'customs' })
  const police = await orgWith(app, ['reader'], { sector: 'police' })
  const postal = await orgWith(app, ['reader'], { sector: 'postal' })
  const A = as(app, owner.contributor.token)
  const word = `zq${Date.now().toString(36)}`

  const created = await A.post('/v1/notes', {
    title: 'Profiling inbound parcels',
    summary: 'How the risk desk selects parcels',
    body: `# Method\nWeigh and x-ray ${word} parcels from flagged routes.`,
    topics: ['risk_profiling', 'detection'],
    sectors: ['customs', 'postal'],
    language: 'en',
    tlp: 'green',
    distribution: 'authorities',
  })
  t.equal(created.statusCode, 201, created.body)
  const note = json<Note>(created)
  const v2 = await A.patch(`/v1/notes/${note.id}`, { title: 'Profiling inbound parcels (2026)' }, { 'if-match': '"1"' })
  t.equal(v2.statusCode, 200, v2.body)
  isProblem(t, await A.patch(`/v1/notes/${note.id}`, { summary: 'stale' }, { 'if-match': '"1"' }), 412)
  const v3 = await A.patch(`/v1/notes/${note.id}`, { body: 'Rewritten body' })
  t.equal(json<Note>(v3).version, 3)

  const revs = json<{ items: (Note & { noteId: string })[] }>(await as(app, police.reader.token).get(`/v1/notes/${note.id}/revisions`))
  t.same(
    revs.items.map((r) => r.version),
    [1, 2, 3],
    'every version kept, oldest first',
  )
  t.equal(revs.items[0]?.title, 'Profiling inbound parcels', 'the first version as it was written')
  t.match(revs.items[1]?.body, word, 'version 2 still has the original body')
  t.equal(revs.items[2]?.body, 'Rewritten body')

  // Full-text search over title, summary and body, by an authority; a postal operator may not see it.
  const found = json<{ items: Note[] }>(await as(app, police.reader.token).get(`/v1/notes?q=${encodeURIComponent('risk desk')}&organisationId=${owner.org.id}`))
  t.same(
    found.items.map((n) => n.id),
    [note.id],
  )
  isProblem(t, await as(app, postal.reader.token).get(`/v1/notes/${note.id}`), 404)
  isProblem(t, await as(app, postal.reader.token).get(`/v1/notes/${note.id}/revisions`), 404)
  t.same(json<{ items: Note[] }>(await as(app, postal.reader.token).get(`/v1/notes?organisationId=${owner.org.id}`)).items, [])

  // Writes are the owner's; a reader of the owner organisation may not write.
  isProblem(t, await as(app, owner.reader.token).patch(`/v1/notes/${note.id}`, { title: 'x' }), 403)
  isProblem(t, await as(app, police.reader.token).delete(`/v1/notes/${note.id}`), 403)

  const revoked = await A.delete(`/v1/notes/${note.id}`)
  t.equal(json<Note>(revoked).status, 'revoked')
  t.equal(json<Note>(await as(app, police.reader.token).get(`/v1/notes/${note.id}`)).status, 'revoked', 'still visible, marked revoked')
  t.equal(json<{ items: unknown[] }>(await as(app, police.reader.token).get(`/v1/notes/${note.id}/revisions`)).items.length, 4)
})
