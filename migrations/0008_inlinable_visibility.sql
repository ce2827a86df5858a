-- PostgreSQL only inlines a SQL function without sub-selects. dcx_visible() held the sharing-group
-- EXISTS itself, so the policy ran as an opaque call per row; with the EXISTS in its own helper,
-- dcx_visible() inlines into every query and the planner sees the distribution tests.
CREATE FUNCTION dcx_in_group(grp uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM sharing_group_members m WHERE m.group_id = grp AND m.organisation_id = dcx_org())
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION dcx_visible(owner uuid, dist text, grp uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT dcx_org() IS NOT NULL AND (
    owner = dcx_org()
    OR dist = 'community'
    OR (dist = 'authorities' AND current_setting('dcx.authority', true) = 'true')
    OR (dist = 'sharing_group' AND dcx_in_group(grp))
  )
$$;
