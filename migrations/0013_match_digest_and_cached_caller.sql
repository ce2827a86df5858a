-- Speed (issue 11). Two changes, neither alters who sees what:
--
-- 1. dcx_act_as() in PL/pgSQL. As a LANGUAGE sql function returning void it could not be
--    inlined and was planned afresh on every call (half a millisecond a request); PL/pgSQL keeps
--    the plans of its two lookups for the life of the connection. Same statements, same result.
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
    set_config('dcx.purpose', '', true);
END
$$;
--> statement-breakpoint
-- 2. Matching by a fixed-width digest. The first 16 bytes of SHA-256 over type, a newline and the
--    normalised value (src/modules/indicators/digest.ts computes the same for each probe): one
--    narrow key instead of two variable-width text columns, and a covering index that carries
--    everything the match answer and the visibility rule read, so a probe is one index-only
--    descent. convert_to() is only STABLE because the database encoding could differ; the
--    database is UTF8 (PGlite always, and DCX's PostgreSQL databases), so the function is
--    declared IMMUTABLE to be usable in a generated column. 128 bits: a chance collision among a
--    billion indicators and ten thousand probes is below 10^-20.
CREATE FUNCTION dcx_match_digest(type text, normalized_value text) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT substring(sha256(convert_to(type || E'\n' || normalized_value, 'UTF8')) FROM 1 FOR 16)
$$;
--> statement-breakpoint
ALTER TABLE indicators ADD COLUMN match_digest bytea GENERATED ALWAYS AS (dcx_match_digest(type, normalized_value)) STORED;
--> statement-breakpoint
CREATE INDEX indicators_match_digest_idx ON indicators (match_digest)
  INCLUDE (status, organisation_id, distribution, sharing_group_id, value_visibility, id, type, tlp, confidence, created_at);
--> statement-breakpoint
-- The (type, normalized_value) index served only matching; lookups by value use indicators_normalized_idx.
DROP INDEX IF EXISTS indicators_match_idx;
