-- One visibility definition (DESIGN §3). Every read path — the application's queries and the
-- row-level-security policies alike — calls dcx_can_see(); the distributions are rows of
-- dcx_distributions; the caller is set once per transaction by dcx_act_as(). Nothing else in the
-- database or the application encodes who sees what.
--
-- A note revision is an item of its own: it now carries its owner next to the TLP, distribution
-- and group it already had, so each version is shown only to those that version reaches (a red
-- draft no longer travels with the note once the note is made public).
ALTER TABLE "note_revisions" ADD COLUMN "organisation_id" uuid;
--> statement-breakpoint
UPDATE note_revisions r SET organisation_id = n.organisation_id FROM notes n WHERE n.id = r.note_id;
--> statement-breakpoint
ALTER TABLE "note_revisions" ALTER COLUMN "organisation_id" SET NOT NULL;
--> statement-breakpoint
ALTER TABLE "note_revisions" ADD CONSTRAINT "note_revisions_organisation_id_organisations_id_fk" FOREIGN KEY ("organisation_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint

-- Distributions as data: the sectors whose organisations each distribution reaches. The owner
-- always sees its own items, and the members of a sharing group see what is distributed to the
-- group (by membership, not by sector), so 'organisation' and 'sharing_group' reach no sector.
-- A new audience is a row here (plus the CHECK constraints and the API's enum); a new sector is
-- added to the rows that should reach it ('community' reaches every sector).
CREATE TABLE dcx_distributions (
  distribution text PRIMARY KEY,
  sectors text[] NOT NULL
);
--> statement-breakpoint
INSERT INTO dcx_distributions (distribution, sectors) VALUES
  ('organisation', '{}'),
  ('sharing_group', '{}'),
  ('authorities', '{police,customs,border,prosecution,judiciary,international}'),
  ('community', '{police,customs,border,prosecution,judiciary,postal,courier,industry,academia,international}');
--> statement-breakpoint
GRANT SELECT ON dcx_distributions TO dcx_app;
--> statement-breakpoint

-- The caller, for one transaction (set_config(..., true) is transaction-local, so a pooled
-- connection never carries it over): its organisation, the distributions that reach it by its
-- sector, and the sharing groups it belongs to — computed once here, so the per-row test below
-- is plain comparisons, with no sub-select the planner would run per row. dcx.purpose is
-- cleared: only matching opts in (set_config('dcx.purpose', 'match', true)).
CREATE FUNCTION dcx_act_as(org uuid) RETURNS void LANGUAGE sql VOLATILE AS $$
  SELECT
    set_config('dcx.org_id', org::text, true),
    set_config('dcx.reach', coalesce((
      SELECT array_agg(d.distribution ORDER BY d.distribution)
      FROM dcx_distributions d JOIN organisations o ON o.sector = ANY (d.sectors)
      WHERE o.id = org), '{}')::text, true),
    set_config('dcx.groups', coalesce((
      SELECT array_agg(m.group_id ORDER BY m.group_id)
      FROM sharing_group_members m
      WHERE m.organisation_id = org), '{}')::text, true),
    set_config('dcx.purpose', '', true)
$$;
--> statement-breakpoint
-- The caller's settings, read back (dcx_org() is 0003's).
CREATE FUNCTION dcx_reach() RETURNS text[] LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('dcx.reach', true), ''), '{}')::text[]
$$;
--> statement-breakpoint
CREATE FUNCTION dcx_groups() RETURNS uuid[] LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('dcx.groups', true), ''), '{}')::uuid[]
$$;
--> statement-breakpoint
CREATE FUNCTION dcx_matching() RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT coalesce(current_setting('dcx.purpose', true) = 'match', false)
$$;
--> statement-breakpoint

-- The one definition. May `caller` see an item (or a version of one) owned by `owner`, with
-- distribution `dist`, sharing group `grp` and value visibility `value_visibility`? The owner
-- always; anyone else if the distribution reaches it — by sector (`reach`: dcx_distributions) or
-- by membership of the group (`groups`) — and another organisation's match_only value only when
-- the transaction is matching (which tells who holds a value, never the value).
--
-- One expression, no FROM, no sub-select, not STRICT, each caller argument used once: PostgreSQL
-- inlines it into the calling query, so the planner sees plain column tests. Every caller
-- passes the caller's settings as uncorrelated sub-selects —
--   dcx_can_see(organisation_id, distribution, sharing_group_id, value_visibility,
--               (SELECT dcx_org()), (SELECT dcx_reach()), (SELECT dcx_groups()), (SELECT dcx_matching()))
-- — which the planner runs once per statement (InitPlans), not once per row; `owner = $caller`
-- stays usable by an index. Without a caller (dcx.org_id unset) it is never true.
CREATE FUNCTION dcx_can_see(owner uuid, dist text, grp uuid, value_visibility text, caller uuid, reach text[], groups uuid[], matching boolean)
RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT owner = caller
    OR ((dist = ANY (reach) OR (dist = 'sharing_group' AND grp = ANY (groups)))
        AND (value_visibility = 'full' OR matching))
$$;
--> statement-breakpoint

-- The policies, all on the one function.
DROP POLICY indicators_read ON indicators;
--> statement-breakpoint
CREATE POLICY indicators_read ON indicators FOR SELECT TO dcx_app USING (
  dcx_can_see(organisation_id, distribution, sharing_group_id, value_visibility, (SELECT dcx_org()), (SELECT dcx_reach()), (SELECT dcx_groups()), (SELECT dcx_matching())));
--> statement-breakpoint
DROP POLICY notes_read ON notes;
--> statement-breakpoint
CREATE POLICY notes_read ON notes FOR SELECT TO dcx_app USING (
  dcx_can_see(organisation_id, distribution, sharing_group_id, 'full', (SELECT dcx_org()), (SELECT dcx_reach()), (SELECT dcx_groups()), (SELECT dcx_matching())));
--> statement-breakpoint
-- Each revision by its own owner, distribution and group — no longer "the parent note is visible".
DROP POLICY note_revisions_read ON note_revisions;
--> statement-breakpoint
CREATE POLICY note_revisions_read ON note_revisions FOR SELECT TO dcx_app USING (
  dcx_can_see(organisation_id, distribution, sharing_group_id, 'full', (SELECT dcx_org()), (SELECT dcx_reach()), (SELECT dcx_groups()), (SELECT dcx_matching())));
--> statement-breakpoint
DROP POLICY note_revisions_insert ON note_revisions;
--> statement-breakpoint
CREATE POLICY note_revisions_insert ON note_revisions FOR INSERT TO dcx_app WITH CHECK (
  organisation_id = dcx_org() AND EXISTS (SELECT 1 FROM notes n WHERE n.id = note_id AND n.organisation_id = dcx_org()));
--> statement-breakpoint
-- A sharing group is seen by its owner and its members: as an item distributed to the group.
DROP POLICY sharing_groups_read ON sharing_groups;
--> statement-breakpoint
CREATE POLICY sharing_groups_read ON sharing_groups FOR SELECT TO dcx_app USING (
  dcx_can_see(organisation_id, 'sharing_group', id, 'full', (SELECT dcx_org()), (SELECT dcx_reach()), (SELECT dcx_groups()), (SELECT dcx_matching())));
--> statement-breakpoint
-- A TAXII status is the posting organisation's own: an item distributed to it alone.
DROP POLICY taxii_statuses_read ON taxii_statuses;
--> statement-breakpoint
CREATE POLICY taxii_statuses_read ON taxii_statuses FOR SELECT TO dcx_app USING (
  dcx_can_see(organisation_id, 'organisation', NULL, 'full', (SELECT dcx_org()), (SELECT dcx_reach()), (SELECT dcx_groups()), (SELECT dcx_matching())));
--> statement-breakpoint
-- (Sightings keep their policies: a sighting is visible with its indicator, and their EXISTS on
-- indicators is itself filtered by indicators_read.)

-- The old definitions go, so there is only one.
DROP FUNCTION dcx_visible(uuid, text, uuid);
--> statement-breakpoint
DROP FUNCTION dcx_in_group(uuid);
