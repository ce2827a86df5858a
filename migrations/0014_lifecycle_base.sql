-- The law-enforcement lifecycle's columns and the visibility rule's two new inputs (issue 12;
-- DESIGN, "The law-enforcement lifecycle"). The operations that use them come in later files.
--
-- Organisation settings: four-eyes publication (default on) and the retention periods that give
-- an item its default review-by date (personal-data types 12 months, others 36, at most 60).
ALTER TABLE organisations ADD COLUMN four_eyes boolean NOT NULL DEFAULT true;
--> statement-breakpoint
ALTER TABLE organisations ADD COLUMN retention_personal_months smallint NOT NULL DEFAULT 12;
--> statement-breakpoint
ALTER TABLE organisations ADD COLUMN retention_other_months smallint NOT NULL DEFAULT 36;
--> statement-breakpoint
ALTER TABLE organisations ADD CONSTRAINT organisations_retention_check CHECK (retention_personal_months BETWEEN 1 AND 60 AND retention_other_months BETWEEN 1 AND 60);
--> statement-breakpoint

-- Handling codes (SIENA H0–H3; H3 states its restriction in handling_note), explicit grants (the
-- organisations an originator-approved share request added), the review-by date, and two new
-- states: 'draft' (four-eyes: not yet published) and 'erased' (value and free text wiped; the
-- row stays as a tombstone).
ALTER TABLE indicators ADD COLUMN handling_code text NOT NULL DEFAULT 'H0';
--> statement-breakpoint
ALTER TABLE indicators ADD COLUMN handling_note text;
--> statement-breakpoint
ALTER TABLE indicators ADD COLUMN granted_to uuid[] NOT NULL DEFAULT '{}';
--> statement-breakpoint
ALTER TABLE indicators ADD COLUMN review_by timestamp (3) with time zone;
--> statement-breakpoint
ALTER TABLE notes ADD COLUMN handling_code text NOT NULL DEFAULT 'H0';
--> statement-breakpoint
ALTER TABLE notes ADD COLUMN handling_note text;
--> statement-breakpoint
ALTER TABLE notes ADD COLUMN granted_to uuid[] NOT NULL DEFAULT '{}';
--> statement-breakpoint
ALTER TABLE notes ADD COLUMN review_by timestamp (3) with time zone;
--> statement-breakpoint
ALTER TABLE note_revisions ADD COLUMN handling_code text NOT NULL DEFAULT 'H0';
--> statement-breakpoint
ALTER TABLE note_revisions ADD COLUMN handling_note text;
--> statement-breakpoint
ALTER TABLE note_revisions ADD COLUMN granted_to uuid[] NOT NULL DEFAULT '{}';
--> statement-breakpoint
ALTER TABLE indicators ADD CONSTRAINT indicators_handling_check CHECK (handling_code IN ('H0','H1','H2','H3') AND (handling_code <> 'H3' OR length(handling_note) > 0));
--> statement-breakpoint
ALTER TABLE notes ADD CONSTRAINT notes_handling_check CHECK (handling_code IN ('H0','H1','H2','H3') AND (handling_code <> 'H3' OR length(handling_note) > 0));
--> statement-breakpoint
ALTER TABLE note_revisions ADD CONSTRAINT note_revisions_handling_check CHECK (handling_code IN ('H0','H1','H2','H3'));
--> statement-breakpoint
ALTER TABLE indicators DROP CONSTRAINT indicators_grading_check;
--> statement-breakpoint
ALTER TABLE indicators ADD CONSTRAINT indicators_grading_check CHECK (confidence BETWEEN 0 AND 100 AND reliability IN ('A','B','C','D','E','F') AND credibility BETWEEN 1 AND 6 AND value_visibility IN ('full','match_only') AND status IN ('draft','active','revoked','erased'));
--> statement-breakpoint
ALTER TABLE notes DROP CONSTRAINT notes_distribution_check;
--> statement-breakpoint
ALTER TABLE notes ADD CONSTRAINT notes_distribution_check CHECK (distribution IN ('organisation','sharing_group','authorities','community') AND (distribution = 'sharing_group') = (sharing_group_id IS NOT NULL) AND (tlp <> 'red' OR distribution IN ('organisation','sharing_group')) AND status IN ('draft','published','revoked','erased'));
--> statement-breakpoint

-- The review-by date, when the writer gives none: creation plus the owner's retention period for
-- the item's kind. A trigger, so every way in (one, bulk, STIX import, TAXII) gets it.
CREATE FUNCTION dcx_indicator_review_by() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.review_by IS NULL THEN
    SELECT NEW.created_at + make_interval(months => CASE
             WHEN NEW.type IN ('postal_address','person_name','email','phone') THEN o.retention_personal_months
             ELSE o.retention_other_months END)
      INTO NEW.review_by
      FROM organisations o WHERE o.id = NEW.organisation_id;
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE FUNCTION dcx_note_review_by() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.review_by IS NULL THEN
    SELECT NEW.created_at + make_interval(months => o.retention_other_months)
      INTO NEW.review_by
      FROM organisations o WHERE o.id = NEW.organisation_id;
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER indicators_review_by BEFORE INSERT ON indicators FOR EACH ROW EXECUTE FUNCTION dcx_indicator_review_by();
--> statement-breakpoint
CREATE TRIGGER notes_review_by BEFORE INSERT ON notes FOR EACH ROW EXECUTE FUNCTION dcx_note_review_by();
--> statement-breakpoint
UPDATE indicators i SET review_by = i.created_at + make_interval(months => CASE
    WHEN i.type IN ('postal_address','person_name','email','phone') THEN o.retention_personal_months
    ELSE o.retention_other_months END)
  FROM organisations o WHERE o.id = i.organisation_id AND i.review_by IS NULL;
--> statement-breakpoint
UPDATE notes n SET review_by = n.created_at + make_interval(months => o.retention_other_months)
  FROM organisations o WHERE o.id = n.organisation_id AND n.review_by IS NULL;
--> statement-breakpoint
ALTER TABLE indicators ALTER COLUMN review_by SET NOT NULL;
--> statement-breakpoint
ALTER TABLE notes ALTER COLUMN review_by SET NOT NULL;
--> statement-breakpoint

-- The caller's principals, for explicit grants: its own organisation, as an array, so the one
-- definition below can test a grant without using `caller` twice (a sub-select argument used
-- twice stops PostgreSQL from inlining the function).
CREATE OR REPLACE FUNCTION dcx_act_as(org uuid) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM
    set_config('dcx.org_id', org::text, true),
    set_config('dcx.reach', coalesce((
      SELECT array_agg(d.distribution ORDER BY d.distribution)
      FROM dcx_distributions d JOIN organisations o ON o.sector = ANY (d.sectors)
      WHERE o.id = org), '{}')::text, true),
    set_config('dcx.groups', coalesce((
      SELECT array_agg(m.group_id ORDER BY m.group_id)
      FROM sharing_group_members m
      WHERE m.organisation_id = org), '{}')::text, true),
    set_config('dcx.principals', CASE WHEN org IS NULL THEN '{}' ELSE '{' || org::text || '}' END, true),
    set_config('dcx.purpose', '', true);
END
$$;
--> statement-breakpoint
CREATE FUNCTION dcx_principals() RETURNS uuid[] LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('dcx.principals', true), ''), '{}')::uuid[]
$$;
--> statement-breakpoint

-- The one definition, with the item's state and explicit grants. The owner always sees its own
-- items; nobody else sees a draft; anyone else sees a published (active, revoked or erased) item
-- when its distribution reaches them (by sector or group) or an explicit grant names them — and
-- another organisation's match_only value only when matching. An erased item stays visible to
-- its audience as a tombstone (its value and free text are gone), so feeds can retract it.
-- Still one expression, no FROM, no sub-select, each caller argument used once: it inlines.
CREATE FUNCTION dcx_can_see(owner uuid, dist text, grp uuid, value_visibility text, status text, grants uuid[], caller uuid, reach text[], groups uuid[], principals uuid[], matching boolean)
RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT owner = caller
    OR (status <> 'draft'
        AND (dist = ANY (reach) OR (dist = 'sharing_group' AND grp = ANY (groups)) OR grants && principals)
        AND (value_visibility = 'full' OR matching))
$$;
--> statement-breakpoint
DROP POLICY indicators_read ON indicators;
--> statement-breakpoint
CREATE POLICY indicators_read ON indicators FOR SELECT TO dcx_app USING (
  dcx_can_see(organisation_id, distribution, sharing_group_id, value_visibility, status, granted_to, (SELECT dcx_org()), (SELECT dcx_reach()), (SELECT dcx_groups()), (SELECT dcx_principals()), (SELECT dcx_matching())));
--> statement-breakpoint
DROP POLICY notes_read ON notes;
--> statement-breakpoint
CREATE POLICY notes_read ON notes FOR SELECT TO dcx_app USING (
  dcx_can_see(organisation_id, distribution, sharing_group_id, 'full', status, granted_to, (SELECT dcx_org()), (SELECT dcx_reach()), (SELECT dcx_groups()), (SELECT dcx_principals()), (SELECT dcx_matching())));
--> statement-breakpoint
DROP POLICY note_revisions_read ON note_revisions;
--> statement-breakpoint
CREATE POLICY note_revisions_read ON note_revisions FOR SELECT TO dcx_app USING (
  dcx_can_see(organisation_id, distribution, sharing_group_id, 'full', status, granted_to, (SELECT dcx_org()), (SELECT dcx_reach()), (SELECT dcx_groups()), (SELECT dcx_principals()), (SELECT dcx_matching())));
--> statement-breakpoint
DROP POLICY sharing_groups_read ON sharing_groups;
--> statement-breakpoint
CREATE POLICY sharing_groups_read ON sharing_groups FOR SELECT TO dcx_app USING (
  dcx_can_see(organisation_id, 'sharing_group', id, 'full', 'active', '{}', (SELECT dcx_org()), (SELECT dcx_reach()), (SELECT dcx_groups()), (SELECT dcx_principals()), (SELECT dcx_matching())));
--> statement-breakpoint
DROP POLICY taxii_statuses_read ON taxii_statuses;
--> statement-breakpoint
CREATE POLICY taxii_statuses_read ON taxii_statuses FOR SELECT TO dcx_app USING (
  dcx_can_see(organisation_id, 'organisation', NULL, 'full', 'active', '{}', (SELECT dcx_org()), (SELECT dcx_reach()), (SELECT dcx_groups()), (SELECT dcx_principals()), (SELECT dcx_matching())));
--> statement-breakpoint
DROP FUNCTION dcx_can_see(uuid, text, uuid, text, uuid, text[], uuid[], boolean);
--> statement-breakpoint

-- Matching stays one index-only descent: the covering index carries the grants too.
DROP INDEX indicators_match_digest_idx;
--> statement-breakpoint
CREATE INDEX indicators_match_digest_idx ON indicators (match_digest)
  INCLUDE (status, organisation_id, distribution, sharing_group_id, value_visibility, granted_to, id, type, tlp, handling_code, confidence, created_at);
