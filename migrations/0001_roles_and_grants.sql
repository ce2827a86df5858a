-- The service runs its queries as dcx_app: neither superuser nor table owner, so row-level
-- security applies to it and the audit table can be made insert-only for it. Roles are
-- cluster-wide; several databases on one server share it (hence the duplicate_object guard).
DO $$
BEGIN
  CREATE ROLE dcx_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
--> statement-breakpoint
-- The migrating (connecting) user must be able to SET ROLE dcx_app.
DO $$
BEGIN
  EXECUTE format('GRANT dcx_app TO %I', current_user);
EXCEPTION WHEN duplicate_object OR invalid_grant_operation THEN NULL;
END $$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO dcx_app;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON organisations, accounts TO dcx_app;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON signing_keys TO dcx_app;
--> statement-breakpoint
ALTER TABLE organisations ADD CONSTRAINT organisations_sector_check CHECK (sector IN ('police','customs','border','prosecution','judiciary','postal','courier','industry','academia','international'));
--> statement-breakpoint
ALTER TABLE organisations ADD CONSTRAINT organisations_status_check CHECK (status IN ('active','suspended'));
--> statement-breakpoint
ALTER TABLE organisations ADD CONSTRAINT organisations_country_check CHECK (country ~ '^[A-Z]{2}$');
--> statement-breakpoint
ALTER TABLE accounts ADD CONSTRAINT accounts_roles_check CHECK (roles <@ ARRAY['reader','contributor','org_admin','auditor','platform_admin']::text[] AND cardinality(roles) > 0);
