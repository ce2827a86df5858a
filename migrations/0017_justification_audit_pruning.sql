-- Justification and verifiable audit pruning (issue 12, items 4 and 6; DESIGN §7).
--
-- An account's default justification: the purpose a partner system that screens automatically
-- gives once, used when a request carries no DCX-Justification header (src/access/justification.ts).
ALTER TABLE accounts ADD COLUMN default_justification text;
--> statement-breakpoint
ALTER TABLE accounts ADD CONSTRAINT accounts_default_justification_check CHECK (default_justification IS NULL OR (char_length(default_justification) BETWEEN 3 AND 200 AND default_justification !~ '[[:cntrl:]]'));
--> statement-breakpoint

-- Verifiable audit pruning. Each chain row records its scheme (src/audit/canonical.ts): 1, the
-- hash covers the whole event — every row chained before this file keeps that rule and verifies
-- by it; 2, the hash covers the event's header and the digest of its payload (details, client
-- address, user agent), fixed here when it is chained, so the payload can be cleared later while
-- the chain still verifies. The chainer always says which scheme it used (no default).
ALTER TABLE audit_chain ADD COLUMN scheme smallint NOT NULL DEFAULT 1;
--> statement-breakpoint
ALTER TABLE audit_chain ALTER COLUMN scheme DROP DEFAULT;
--> statement-breakpoint
ALTER TABLE audit_chain ADD COLUMN payload_digest text;
--> statement-breakpoint
ALTER TABLE audit_chain ADD CONSTRAINT audit_chain_scheme_check CHECK ((scheme = 1 AND payload_digest IS NULL) OR (scheme = 2 AND payload_digest ~ '^[0-9a-f]{64}$'));
--> statement-breakpoint
-- A pruned event has all three payload columns NULL.
ALTER TABLE audit_events ALTER COLUMN details DROP NOT NULL;
--> statement-breakpoint

-- The one way to clear payloads: dcx_audit_prune(cutoff), owned by the migrating user, SECURITY
-- DEFINER, which dcx_app may EXECUTE. It clears, in one statement (all or nothing), the payload of
-- every event older than the cut-off that is chained under scheme 2; scheme-1 events are kept whole
-- (their hash needs the payload) and counted. The cut-off must be at least a month in the past,
-- whatever the service asks.
CREATE FUNCTION dcx_audit_prune(cutoff timestamptz) RETURNS TABLE (pruned bigint, legacy_kept bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  n bigint;
  k bigint;
BEGIN
  IF cutoff IS NULL OR cutoff > now() - interval '1 month' THEN
    RAISE EXCEPTION 'audit payloads are kept at least a month: cut-off % refused', cutoff USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM set_config('dcx.audit_prune', 'on', true);
  UPDATE audit_events e SET details = NULL, client_address = NULL, user_agent = NULL
    FROM audit_chain c
   WHERE c.event_id = e.id AND c.scheme = 2 AND e.time < cutoff AND e.details IS NOT NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM set_config('dcx.audit_prune', '', true);
  SELECT count(*) INTO k FROM audit_events e JOIN audit_chain c ON c.event_id = e.id
   WHERE c.scheme = 1 AND e.time < cutoff AND e.details IS NOT NULL;
  RETURN QUERY SELECT n, k;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION dcx_audit_prune(timestamptz) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION dcx_audit_prune(timestamptz) TO dcx_app;
--> statement-breakpoint

-- audit_events stays append-only except for exactly that: an UPDATE that sets the three payload
-- columns to NULL and changes nothing else, run as the owner of dcx_audit_prune() (i.e. inside
-- it: dcx_app holds no UPDATE, and setting dcx.audit_prune itself does not make it that owner),
-- with the flag the function sets. DELETE and TRUNCATE stay refused for everyone. (The owner can
-- still drop the trigger, as before; the chain and the signed checkpoints catch what it changes.)
CREATE FUNCTION dcx_audit_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND current_setting('dcx.audit_prune', true) = 'on'
     AND current_user = (SELECT pg_get_userbyid(p.proowner) FROM pg_proc p WHERE p.oid = 'dcx_audit_prune(timestamptz)'::regprocedure)
     AND OLD.details IS NOT NULL
     AND NEW.details IS NULL AND NEW.client_address IS NULL AND NEW.user_agent IS NULL
     AND (to_jsonb(NEW) - ARRAY['details', 'client_address', 'user_agent']) = (to_jsonb(OLD) - ARRAY['details', 'client_address', 'user_agent'])
  THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
DROP TRIGGER audit_events_append_only ON audit_events;
--> statement-breakpoint
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION dcx_audit_events_guard();
