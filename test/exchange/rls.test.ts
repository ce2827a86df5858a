// Row-level security enforces the visibility rule a second time (dcx_can_see, migrations/0009): with the
// application's filter left out of a query, the database alone must still hide what the caller
// may not see. The queries here deliberately carry no visibility predicate.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { as, buildTestApp, orgWith } from '../helper.js'
import { rows } from '../../src/db/client.js'
import { canSee, forMatching, withActor } from '../../src/access/visibility.js'
import { indicators } from '../../src/db/schema/index.js'
import { actorFor, createGroup, postIndicator, rowsAs, word } from './fixtures.js'

const app = await buildTestApp(t)
const O = await orgWith(app, ['contributor', 'org_admin'], { sector: 'customs' })
const G = await orgWith(app, ['contributor'], { sector: 'postal' })
const P = await orgWith(app, ['contributor'], { sector: 'police' })
const N = await orgWith(app, ['contributor'], { sector: 'industry' })
const group = await createGroup(app, O.org_admin.token, word('rls'), [G.org.id])

const mk = (body: Record<string, unknown>) => postIndicator(app, O.contributor.token, { type: 'vendor_alias', value: word('rls'), tlp: 'amber', ...body })
const inds = {
  organisation: await mk({ distribution: 'organisation' }),
  sharing_group: await mk({ distribution: 'sharing_group', sharingGroupId: group.id }),
  authorities: await mk({ distribution: 'authorities' }),
  community: await mk({ distribution: 'community' }),
}
// The owner reports a sighting on each.
for (const ind of Object.values(inds)) {
  const s = await as(app, O.contributor.token).post(`/v1/indicators/${ind.id}/sightings`, { seenAt: new Date().toISOString() })
  if (s.statusCode !== 201) throw new Error(s.body)
}

const expected: Record<'O' | 'G' | 'P' | 'N', (keyof typeof inds)[]> = {
  O: ['organisation', 'sharing_group', 'authorities', 'community'],
  G: ['sharing_group', 'community'],
  P: ['authorities', 'community'],
  N: ['community'],
}
const viewers = { O, G, P, N }
const idsOf = (keys: (keyof typeof inds)[]) => keys.map((k) => inds[k].id).sort()

t.test('the service runs as dcx_app, which is neither superuser nor exempt from RLS', async (t) => {
  await withActor(app.db, actorFor(N.org), async (tx) => {
    const [who] = await rows<{ u: string }>(tx, sql`select current_user as u`)
    t.equal(who?.u, 'dcx_app')
    const [role] = await rows<{ rolsuper: boolean; rolbypassrls: boolean }>(tx, sql`select rolsuper, rolbypassrls from pg_roles where rolname = current_user`)
    t.strictSame(role, { rolsuper: false, rolbypassrls: false })
    const [owner] = await rows<{ owner: string }>(tx, sql`select tableowner as owner from pg_tables where tablename = 'indicators'`)
    t.not(owner?.owner, 'dcx_app', 'and does not own the tables (an owner would bypass RLS)')
  })
  const [outside] = await rows<{ u: string }>(app.db, sql`select current_user as u`)
  t.equal(outside?.u, 'dcx_app', 'outside a transaction too')
})

t.test('indicators: no visibility predicate, RLS alone decides', async (t) => {
  for (const [v, keys] of Object.entries(expected) as [keyof typeof viewers, (keyof typeof inds)[]][]) {
    const got = await rowsAs<{ id: string }>(app, viewers[v].org, sql`select id from indicators where organisation_id = ${O.org.id} order by id`)
    t.strictSame(got.map((r) => r.id).sort(), idsOf(keys), `${v} (${viewers[v].org.sector}) sees ${keys.join(', ')}`)
  }
})

t.test('sightings follow their indicator', async (t) => {
  const all = Object.values(inds).map((i) => i.id)
  for (const [v, keys] of Object.entries(expected) as [keyof typeof viewers, (keyof typeof inds)[]][]) {
    const got = await rowsAs<{ indicator_id: string }>(
      app,
      viewers[v].org,
      sql`select indicator_id from sightings where indicator_id in (${sql.join(
        all.map((id) => sql`${id}::uuid`),
        sql`, `,
      )})`,
    )
    t.strictSame(got.map((r) => r.indicator_id).sort(), idsOf(keys), `${v}: sightings of visible indicators only`)
  }
})

t.test('sharing groups: owner and members only', async (t) => {
  for (const [v, can] of [
    ['O', true],
    ['G', true],
    ['P', false],
    ['N', false],
  ] as const) {
    const got = await rowsAs(app, viewers[v].org, sql`select id from sharing_groups where id = ${group.id}`)
    t.equal(got.length, can ? 1 : 0, `${v}: ${can ? 'sees' : 'does not see'} the group`)
  }
})

t.test('notes: same rule', async (t) => {
  const notes: Record<string, string> = {}
  for (const distribution of ['organisation', 'community'] as const) {
    const [r] = await rowsAs<{ id: string }>(
      app,
      O.org,
      sql`insert into notes (organisation_id, title, summary, body, topics, language, tlp, distribution)
          values (${O.org.id}, 'rls note', 'summary', 'body', array['detection']::text[], 'en', 'amber', ${distribution}) returning id`,
    )
    notes[distribution] = r?.id as string
  }
  for (const v of ['O', 'G', 'P', 'N'] as const) {
    const got = await rowsAs<{ id: string }>(app, viewers[v].org, sql`select id from notes where organisation_id = ${O.org.id}`)
    const want = v === 'O' ? [notes.organisation, notes.community] : [notes.community]
    t.strictSame(got.map((r) => r.id).sort(), (want as string[]).sort(), `${v}: notes`)
  }
})

// A revision is an item of its own: RLS checks each revision's own TLP / distribution / group,
// not only that the parent note is visible today (a red draft stays red after the note goes public).
t.test('note revisions: each version by its own distribution', async (t) => {
  const A = as(app, O.contributor.token)
  const created = await A.post('/v1/notes', {
    title: 'rls revisions',
    summary: 's',
    body: 'red draft',
    topics: ['detection'],
    tlp: 'red',
    distribution: 'organisation',
  })
  if (created.statusCode !== 201) throw new Error(created.body)
  const id = (created.json() as { id: string }).id
  for (const body of [
    { body: 'group version', tlp: 'amber', distribution: 'sharing_group', sharingGroupId: group.id },
    { body: 'authorities version', tlp: 'amber', distribution: 'authorities' },
    { body: 'community version', tlp: 'green', distribution: 'community' },
  ]) {
    const res = await A.patch(`/v1/notes/${id}`, body)
    if (res.statusCode !== 200) throw new Error(res.body)
  }
  const want = { O: [1, 2, 3, 4], G: [2, 4], P: [3, 4], N: [4] }
  for (const v of ['O', 'G', 'P', 'N'] as const) {
    const got = await rowsAs<{ version: number }>(app, viewers[v].org, sql`select version from note_revisions where note_id = ${id} order by version`)
    t.strictSame(
      got.map((r) => r.version),
      want[v],
      `${v} (${viewers[v].org.sector}): revisions ${want[v].join(', ')}`,
    )
  }
  const none = await rows(app.db, sql`select version from note_revisions where note_id = ${id}`)
  t.strictSame(none, [], 'without a caller: none')
})

// The one definition must inline: a per-row function call, or a SubPlan per row for group
// membership, is what it replaced. The caller's settings are InitPlans, evaluated once.
t.test('dcx_can_see() inlines into the query and the policies', async (t) => {
  const plan = async (q: ReturnType<typeof sql>) =>
    (await rowsAs<{ 'QUERY PLAN': string }>(app, G.org, sql`explain (verbose, costs off) ${q}`)).map((r) => r['QUERY PLAN']).join('\n')
  const queries = {
    'indicators list (application filter and policy)': sql`select id from indicators where ${canSee(indicators)} order by created_at desc, id desc limit 51`,
    'notes (policy)': sql`select id from notes order by created_at desc limit 51`,
    'note revisions (policy)': sql`select version from note_revisions where note_id = ${O.org.id}`,
    'sharing groups (policy)': sql`select id from sharing_groups`,
  }
  for (const [name, q] of Object.entries(queries)) {
    const text = await plan(q)
    t.notMatch(text, /dcx_can_see|SubPlan/, `${name}: no function call, no SubPlan`)
    t.match(text, /InitPlan/, `${name}: the caller's settings are read once`)
  }
})

// Distributions are data: who an audience reaches is a row of dcx_distributions, read by the one
// function. (PGlite only: on a server every test file shares the table.)
t.test('distributions are data', { skip: process.env.DATABASE_URL ? 'changes a table every test file on the server shares' : false }, async (t) => {
  const seen = async () => (await rowsAs(app, G.org, sql`select id from indicators where id = ${inds.authorities.id}`)).length
  t.equal(await seen(), 0, 'authorities does not reach a postal operator')
  const set = (sectors: string) =>
    app.database.asOwner((q) => q(sql`update dcx_distributions set sectors = ${sectors}::text[] where distribution = 'authorities'`))
  const [before] = await app.database.asOwner((q) => q(sql`select sectors::text as s from dcx_distributions where distribution = 'authorities'`))
  await set(`${String(before?.s).slice(0, -1)},postal}`)
  try {
    t.equal(await seen(), 1, 'once its row lists postal, it does — nothing else changed')
  } finally {
    await set(String(before?.s))
  }
  t.equal(await seen(), 0, 'and no longer once the row is restored')
})

t.test('without a caller the service role sees nothing', async (t) => {
  const count = async (q: ReturnType<typeof sql>) => Number((await rows<{ n: string }>(app.db, q))[0]?.n)
  t.equal(await count(sql`select count(*) as n from indicators where organisation_id = ${O.org.id}`), 0, 'indicators')
  t.equal(await count(sql`select count(*) as n from sightings where organisation_id = ${O.org.id}`), 0, 'sightings')
  t.equal(await count(sql`select count(*) as n from sharing_groups where organisation_id = ${O.org.id}`), 0, 'sharing groups')
  t.equal(await count(sql`select count(*) as n from notes where organisation_id = ${O.org.id}`), 0, 'notes')
  // The caller is transaction-local: after a withActor transaction, nothing lingers.
  await withActor(app.db, actorFor(O.org), async () => undefined)
  t.equal(await count(sql`select count(*) as n from indicators where organisation_id = ${O.org.id}`), 0, 'still none after a withActor transaction')
  const [setting] = await rows<{ v: string | null }>(app.db, sql`select current_setting('dcx.org_id', true) as v`)
  t.notOk(setting?.v, 'dcx.org_id is not set outside a transaction')
})

/** The database's own error message (drizzle wraps it as the cause of "Failed query: ..."). */
async function dbError(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    const err = e as { message?: string; cause?: { message?: string } }
    return err.cause?.message ?? err.message ?? String(e)
  }
  return '(no error)'
}

t.test('writes are checked too: WITH CHECK and USING', async (t) => {
  const insertAs = (who: typeof N) =>
    rowsAs(
      app,
      who.org,
      sql`insert into indicators (organisation_id, type, value, normalized_value, tlp, distribution)
          values (${O.org.id}, 'vendor_alias', 'forged', 'forged', 'amber', 'community') returning id`,
    )
  t.match(await dbError(insertAs(N)), /row-level security/, "an insert in another organisation's name is refused")
  t.match(await dbError(insertAs(P)), /row-level security/, 'also for an authority')

  // An UPDATE of a visible, foreign row changes nothing: the USING clause hides it from the update.
  const updated = await rowsAs(app, N.org, sql`update indicators set description = 'defaced' where id = ${inds.community.id} returning id`)
  t.equal(updated.length, 0, "another organisation's update touches no row")
  const after = await rowsAs<{ description: string }>(app, O.org, sql`select description from indicators where id = ${inds.community.id}`)
  t.not(after[0]?.description, 'defaced')

  // Moving one's own row into another organisation's name is refused.
  t.match(
    await dbError(rowsAs(app, O.org, sql`update indicators set organisation_id = ${N.org.id} where id = ${inds.organisation.id}`)),
    /row-level security/,
    'WITH CHECK on update',
  )
  // No DELETE privilege on indicators at all.
  t.match(await dbError(rowsAs(app, O.org, sql`delete from indicators where id = ${inds.organisation.id}`)), /permission denied/, 'no DELETE grant')

  // A sighting in another organisation's name, or on an invisible indicator, is refused.
  t.match(
    await dbError(
      rowsAs(
        app,
        N.org,
        sql`insert into sightings (indicator_id, organisation_id, account_id, seen_at) values (${inds.community.id}, ${O.org.id}, ${O.contributor.id}, now())`,
      ),
    ),
    /row-level security/,
    "a sighting in another organisation's name",
  )
  t.match(
    await dbError(
      rowsAs(
        app,
        N.org,
        sql`insert into sightings (indicator_id, organisation_id, account_id, seen_at) values (${inds.organisation.id}, ${N.org.id}, ${N.contributor.id}, now())`,
      ),
    ),
    /row-level security/,
    'a sighting on an indicator it may not see',
  )
  // Another organisation cannot rename the group, even knowing its id.
  const renamed = await rowsAs(app, G.org, sql`update sharing_groups set name = 'hijacked' where id = ${group.id} returning id`)
  t.equal(renamed.length, 0, 'a member cannot update the group row')
})

// The database's copy of the rule also keeps match_only rows of other organisations out of every
// read except matching, which opts in for its transaction with dcx.purpose = 'match'.
t.test('match_only values under RLS alone', async (t) => {
  const mo = await mk({ distribution: 'community', valueVisibility: 'match_only' })
  const got = await rowsAs<{ value: string }>(app, N.org, sql`select value from indicators where id = ${mo.id}`)
  t.strictSame(got, [], "another organisation's raw query does not return the value")
  const own = await rowsAs<{ value: string }>(app, O.org, sql`select value from indicators where id = ${mo.id}`)
  t.equal(own.length, 1, 'the owner still reads its own value')
  const matching = await withActor(app.db, actorFor(N.org), async (tx) => {
    await forMatching(tx)
    return rows(tx, sql`select id from indicators where id = ${mo.id}`)
  })
  t.equal(matching.length, 1, 'a matching transaction reaches the row (and the application returns only who holds it)')
})

// The lifecycle's inputs to the one rule (migrations/0014): a draft reaches its owner only — not
// its distribution's audience, not even a matching transaction — and an erased item stays visible
// to its audience as a tombstone.
t.test('drafts and erased items under RLS alone', async (t) => {
  const draft = await mk({ distribution: 'community' })
  const erased = await mk({ distribution: 'community' })
  await app.database.asOwner(async (q) => {
    await q(sql`update indicators set status = 'draft' where id = ${draft.id}`)
    await q(sql`update indicators set status = 'erased', value = '', normalized_value = '' where id = ${erased.id}`)
  })
  t.equal((await rowsAs(app, O.org, sql`select id from indicators where id = ${draft.id}`)).length, 1, 'the owner reads its draft')
  t.strictSame(await rowsAs(app, N.org, sql`select id from indicators where id = ${draft.id}`), [], 'the community does not')
  const matching = await withActor(app.db, actorFor(N.org), async (tx) => {
    await forMatching(tx)
    return rows(tx, sql`select id from indicators where id = ${draft.id}`)
  })
  t.strictSame(matching, [], 'nor does a matching transaction')
  t.equal(
    (await rowsAs(app, N.org, sql`select id from indicators where id = ${erased.id}`)).length,
    1,
    'an erased item: a tombstone its audience still reaches',
  )
})
