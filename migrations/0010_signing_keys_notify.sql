-- Every change of signing_keys (a rotation inserts a key and retires the current one) notifies
-- channel dcx_signing_keys when its transaction commits. Each API node LISTENs on it over a
-- dedicated connection (src/access/keys.ts) and reloads its keys at once, so a key retired on
-- one node stops signing on every node within moments. The payload is constant: PostgreSQL folds
-- identical notifications of one transaction into one. NOTIFY needs no privilege, so the trigger
-- works for dcx_app as for the owner; a poll on every node backs it up.
CREATE OR REPLACE FUNCTION dcx_signing_keys_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('dcx_signing_keys', 'changed');
  RETURN NULL;
END $$;
--> statement-breakpoint
DROP TRIGGER IF EXISTS signing_keys_notify ON signing_keys;
--> statement-breakpoint
CREATE TRIGGER signing_keys_notify AFTER INSERT OR UPDATE OR DELETE ON signing_keys
  FOR EACH STATEMENT EXECUTE FUNCTION dcx_signing_keys_notify();
