-- TAXII status resources: the service role inserts and reads them; nothing updates or deletes.
GRANT SELECT, INSERT ON taxii_statuses TO dcx_app;
--> statement-breakpoint
-- A status is the posting organisation's business only: row-level security, as for the items.
ALTER TABLE taxii_statuses ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY taxii_statuses_read ON taxii_statuses FOR SELECT TO dcx_app USING (organisation_id = dcx_org());
--> statement-breakpoint
CREATE POLICY taxii_statuses_insert ON taxii_statuses FOR INSERT TO dcx_app WITH CHECK (organisation_id = dcx_org());
