-- Row-level security now also keeps another organisation's match_only indicators out of every
-- read except matching: the application filter (readableBy) does the same, so a query that forgets
-- it still cannot read such a value. Matching (and reporting a sighting against a match) declares
-- itself with set_config('dcx.purpose', 'match', true) for its transaction only, and returns
-- who holds the item, never its value.
DROP POLICY indicators_read ON indicators;
--> statement-breakpoint
CREATE POLICY indicators_read ON indicators FOR SELECT TO dcx_app USING (
  dcx_visible(organisation_id, distribution, sharing_group_id)
  AND (value_visibility = 'full' OR organisation_id = dcx_org() OR current_setting('dcx.purpose', true) = 'match')
);
