-- Warning lists and yield (issue 13 items 4 and 5; DESIGN §8, "Warning lists" and "Yield").
--
-- A warning list names shared infrastructure (parcel lockers, forwarding addresses, exchange hot
-- wallets, large hosting domains): a match on a listed value says so. Platform lists
-- (organisation_id NULL) are curated by platform admins and read by every account; an
-- organisation's lists are written by its org_admins and read by its members only. Who sees a
-- list is the one visibility definition, dcx_can_see(): a platform list is placed like a
-- 'community' item of no one's, an organisation's list like an 'organisation' item of its own.
-- Who may write a platform list is a role (platform_admin), which the database does not know:
-- the application's policy decides it (src/access/policy.ts, modules/warning-lists).
CREATE TABLE warning_lists (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  scope text NOT NULL,
  organisation_id uuid REFERENCES organisations (id),
  name text NOT NULL,
  reason text NOT NULL,
  version integer NOT NULL DEFAULT 1,
  created_by uuid REFERENCES accounts (id),
  created_at timestamp (3) with time zone NOT NULL DEFAULT now(),
  updated_at timestamp (3) with time zone NOT NULL DEFAULT now(),
  CONSTRAINT warning_lists_scope_check CHECK (scope IN ('platform','organisation') AND (scope = 'platform') = (organisation_id IS NULL))
);
--> statement-breakpoint
CREATE INDEX warning_lists_org_idx ON warning_lists (organisation_id, created_at, id);
--> statement-breakpoint
-- An entry: the value as the indicator normaliser gives it, and its match digest (the same
-- generated digest as indicators.match_digest, so a match's probes look entries up by one key).
CREATE TABLE warning_list_entries (
  list_id uuid NOT NULL REFERENCES warning_lists (id) ON DELETE CASCADE,
  type text NOT NULL,
  normalized_value text NOT NULL,
  match_digest bytea GENERATED ALWAYS AS (dcx_match_digest(type, normalized_value)) STORED,
  created_at timestamp (3) with time zone NOT NULL DEFAULT now(),
  PRIMARY KEY (list_id, type, normalized_value),
  CONSTRAINT warning_list_entries_type_check CHECK (type IN ('onion_url','url','domain','crypto_address','email','phone','pgp_fingerprint','vendor_alias','postal_item','postal_address','person_name','file_hash','shipping_pattern'))
);
--> statement-breakpoint
CREATE INDEX warning_list_entries_digest_idx ON warning_list_entries (match_digest) INCLUDE (list_id);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON warning_lists, warning_list_entries TO dcx_app;
--> statement-breakpoint
ALTER TABLE warning_lists ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY warning_lists_read ON warning_lists FOR SELECT TO dcx_app USING (
  dcx_can_see(organisation_id, CASE WHEN organisation_id IS NULL THEN 'community' ELSE 'organisation' END, NULL, 'full', 'active', '{}', (SELECT dcx_org()), (SELECT dcx_reach()), (SELECT dcx_groups()), (SELECT dcx_principals()), (SELECT dcx_matching())));
--> statement-breakpoint
CREATE POLICY warning_lists_insert ON warning_lists FOR INSERT TO dcx_app WITH CHECK (organisation_id IS NULL OR organisation_id = dcx_org());
--> statement-breakpoint
CREATE POLICY warning_lists_update ON warning_lists FOR UPDATE TO dcx_app USING (organisation_id IS NULL OR organisation_id = dcx_org()) WITH CHECK (organisation_id IS NULL OR organisation_id = dcx_org());
--> statement-breakpoint
CREATE POLICY warning_lists_delete ON warning_lists FOR DELETE TO dcx_app USING (organisation_id IS NULL OR organisation_id = dcx_org());
--> statement-breakpoint
ALTER TABLE warning_list_entries ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
-- An entry is seen with its list (the list's own policy applies inside the sub-select).
CREATE POLICY warning_list_entries_read ON warning_list_entries FOR SELECT TO dcx_app USING (EXISTS (SELECT 1 FROM warning_lists l WHERE l.id = list_id));
--> statement-breakpoint
CREATE POLICY warning_list_entries_insert ON warning_list_entries FOR INSERT TO dcx_app WITH CHECK (EXISTS (SELECT 1 FROM warning_lists l WHERE l.id = list_id AND (l.organisation_id IS NULL OR l.organisation_id = dcx_org())));
--> statement-breakpoint
CREATE POLICY warning_list_entries_delete ON warning_list_entries FOR DELETE TO dcx_app USING (EXISTS (SELECT 1 FROM warning_lists l WHERE l.id = list_id AND (l.organisation_id IS NULL OR l.organisation_id = dcx_org())));
--> statement-breakpoint

-- Yield: how often each indicator was returned by a match. Its owner reads the counts (row-level
-- security: the owner organisation only); whoever matches adds to them, through
-- dcx_count_matches() below, which can update a row the caller may not read (an upsert needs
-- the SELECT policy, and the matcher is not the owner).
CREATE TABLE indicator_match_counts (
  indicator_id uuid PRIMARY KEY REFERENCES indicators (id) ON DELETE CASCADE,
  organisation_id uuid NOT NULL REFERENCES organisations (id),
  matches bigint NOT NULL DEFAULT 0,
  last_matched_at timestamp (3) with time zone NOT NULL DEFAULT now()
);
--> statement-breakpoint
GRANT SELECT ON indicator_match_counts TO dcx_app;
--> statement-breakpoint
ALTER TABLE indicator_match_counts ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY indicator_match_counts_read ON indicator_match_counts FOR SELECT TO dcx_app USING (organisation_id = (SELECT dcx_org()));
--> statement-breakpoint
-- Add n[k] matches to indicator ids[k], for the indicators the caller of the current transaction
-- may see (under its own matching setting: the one visibility definition, with the caller's
-- settings, which SECURITY DEFINER keeps). One statement for a whole match call; rows are
-- taken in id order, so two concurrent calls lock the rows they share in the same order and
-- never deadlock. SECURITY DEFINER, owned by the migrating user: the matcher may not read (so
-- may not upsert) another organisation's counts.
CREATE FUNCTION dcx_count_matches(ids uuid[], n integer[]) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_catalog, pg_temp AS $$
  INSERT INTO indicator_match_counts AS c (indicator_id, organisation_id, matches, last_matched_at)
  SELECT i.id, i.organisation_id, q.n, now()
  FROM unnest(ids, n) AS q(id, n)
  JOIN indicators i ON i.id = q.id
  WHERE q.n > 0 AND dcx_can_see(i.organisation_id, i.distribution, i.sharing_group_id, i.value_visibility, i.status, i.granted_to, (SELECT dcx_org()), (SELECT dcx_reach()), (SELECT dcx_groups()), (SELECT dcx_principals()), (SELECT dcx_matching()))
  ORDER BY i.id
  ON CONFLICT (indicator_id) DO UPDATE SET matches = c.matches + excluded.matches, last_matched_at = excluded.last_matched_at
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION dcx_count_matches(uuid[], integer[]) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION dcx_count_matches(uuid[], integer[]) TO dcx_app;
