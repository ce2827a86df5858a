-- A large TAXII push (issue 14, TAXII 2.1 §4.3.1/§5.4) is accepted with a pending status and
-- processed after the response: the accepted objects wait in the status row until the import ran.
-- A row with pending_objects is work not yet done; any node picks it up (taxii.pending.ts), as the
-- poster, locking the row (FOR UPDATE SKIP LOCKED) so one node processes it once.
ALTER TABLE taxii_statuses ADD COLUMN pending_objects jsonb;
--> statement-breakpoint
ALTER TABLE taxii_statuses ADD COLUMN updated_at timestamp (3) with time zone DEFAULT now() NOT NULL;
--> statement-breakpoint
CREATE INDEX taxii_statuses_pending_idx ON taxii_statuses (created_at) WHERE pending_objects IS NOT NULL;
--> statement-breakpoint
-- The poster's own rows only: the service role completes its organisation's pending statuses.
GRANT UPDATE ON taxii_statuses TO dcx_app;
--> statement-breakpoint
CREATE POLICY taxii_statuses_update ON taxii_statuses FOR UPDATE TO dcx_app USING (organisation_id = dcx_org()) WITH CHECK (organisation_id = dcx_org());
