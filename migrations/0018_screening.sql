-- Oblivious screening (issue 13, DESIGN.md §8): the VOPRF keys per epoch, the holdings' tags,
-- the per-organisation daily evaluate quota and the disclosures resolve makes.
--
-- Keys: one per epoch, numbered 1, 2, …; the secret half sealed under DCX_MASTER_KEY (as the
-- token signing keys). A key is current until rotates_at and accepted until not_after. The
-- primary key on epoch means two nodes rotating at once cannot both add one (the loser retries).
CREATE TABLE screening_keys (
  epoch integer PRIMARY KEY CHECK (epoch > 0),
  public_key bytea NOT NULL CHECK (length(public_key) = 32),
  secret_key_enc text NOT NULL,
  created_at timestamp (3) with time zone NOT NULL DEFAULT now(),
  rotates_at timestamp (3) with time zone NOT NULL,
  not_after timestamp (3) with time zone NOT NULL,
  CHECK (created_at < rotates_at AND rotates_at <= not_after)
);
--> statement-breakpoint
GRANT SELECT, INSERT ON screening_keys TO dcx_app;
--> statement-breakpoint

-- A holding's tag in an epoch: the first 8 bytes of Evaluate(k, "<type>:<normalizedValue>"),
-- computed for active indicators only, at the holding's change_seq (a change makes it stale).
-- Written only by the tagger's functions below; read by digest and resolve joined to indicators,
-- whose visibility decides (and row-level security: a tag is seen only with its holding).
CREATE TABLE screening_tags (
  indicator_id uuid NOT NULL REFERENCES indicators(id) ON DELETE CASCADE,
  epoch integer NOT NULL REFERENCES screening_keys(epoch) ON DELETE CASCADE,
  type text NOT NULL,
  tag bytea NOT NULL CHECK (length(tag) = 8),
  change_seq bigint NOT NULL,
  PRIMARY KEY (indicator_id, epoch)
);
--> statement-breakpoint
CREATE INDEX screening_tags_lookup_idx ON screening_tags (epoch, type, tag);
--> statement-breakpoint
GRANT SELECT ON screening_tags TO dcx_app;
--> statement-breakpoint
ALTER TABLE screening_tags ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY screening_tags_read ON screening_tags FOR SELECT TO dcx_app USING (EXISTS (SELECT 1 FROM indicators i WHERE i.id = indicator_id));
--> statement-breakpoint

-- The tagger reads every organisation's active holdings (their normalised values never leave the
-- service: it only evaluates them), which row-level security rightly hides from dcx_app: three
-- SECURITY DEFINER functions, owned by the migrating user, do exactly that and nothing more.
-- Holdings that need a tag in p_epoch: active, and no tag at their current change_seq.
CREATE FUNCTION dcx_screening_pending(p_epoch integer, p_limit integer)
RETURNS TABLE (id uuid, type text, normalized_value text, change_seq bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_catalog, pg_temp AS $$
  SELECT i.id, i.type, i.normalized_value, i.change_seq
  FROM indicators i
  LEFT JOIN screening_tags t ON t.indicator_id = i.id AND t.epoch = p_epoch
  WHERE i.status = 'active' AND (t.indicator_id IS NULL OR t.change_seq <> i.change_seq)
  ORDER BY i.change_seq
  LIMIT p_limit
$$;
--> statement-breakpoint
-- Store computed tags, each only if its holding is still active at the change_seq it was computed
-- for (a holding changed meanwhile is picked up again by the next pass). Idempotent.
CREATE FUNCTION dcx_screening_store(p_epoch integer, p_ids uuid[], p_tags bytea[], p_seqs bigint[])
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_catalog, pg_temp AS $$
DECLARE
  stored integer;
BEGIN
  INSERT INTO screening_tags (indicator_id, epoch, type, tag, change_seq)
  SELECT i.id, p_epoch, i.type, n.tag, n.seq
  FROM unnest(p_ids, p_tags, p_seqs) AS n(id, tag, seq)
  JOIN indicators i ON i.id = n.id AND i.status = 'active' AND i.change_seq = n.seq
  ON CONFLICT (indicator_id, epoch) DO UPDATE SET type = excluded.type, tag = excluded.tag, change_seq = excluded.change_seq
    WHERE screening_tags.change_seq <> excluded.change_seq;
  GET DIAGNOSTICS stored = ROW_COUNT;
  RETURN stored;
END
$$;
--> statement-breakpoint
-- Remove stale tags: of epochs no longer accepted (by the table's not_after, never by what one
-- node has loaded), and of holdings no longer active (revoked, erased, back to draft) or changed
-- since their tag was computed.
CREATE FUNCTION dcx_screening_prune()
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_catalog, pg_temp AS $$
DECLARE
  removed integer;
  more integer;
BEGIN
  DELETE FROM screening_tags t USING screening_keys k WHERE k.epoch = t.epoch AND k.not_after <= now();
  GET DIAGNOSTICS removed = ROW_COUNT;
  DELETE FROM screening_tags t USING indicators i
  WHERE i.id = t.indicator_id AND (i.status <> 'active' OR i.change_seq <> t.change_seq);
  GET DIAGNOSTICS more = ROW_COUNT;
  RETURN removed + more;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION dcx_screening_pending(integer, integer), dcx_screening_store(integer, uuid[], bytea[], bigint[]), dcx_screening_prune() FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION dcx_screening_pending(integer, integer), dcx_screening_store(integer, uuid[], bytea[], bigint[]), dcx_screening_prune() TO dcx_app;
--> statement-breakpoint

-- The daily evaluate quota: elements evaluated per organisation and UTC day, counted by one
-- INSERT … ON CONFLICT DO UPDATE … RETURNING, so every node shares it.
CREATE TABLE screening_quota (
  organisation_id uuid NOT NULL REFERENCES organisations(id),
  day date NOT NULL,
  used integer NOT NULL CHECK (used >= 0),
  PRIMARY KEY (organisation_id, day)
);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON screening_quota TO dcx_app;
--> statement-breakpoint
ALTER TABLE screening_quota ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY screening_quota_own ON screening_quota FOR ALL TO dcx_app USING (organisation_id = dcx_org()) WITH CHECK (organisation_id = dcx_org());
--> statement-breakpoint

-- What resolve disclosed: which holding reached which organisation. The holding's owner reads
-- these as its notices (GET /v1/screening/disclosures); the resolving organisation writes them.
CREATE TABLE screening_disclosures (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  indicator_id uuid NOT NULL REFERENCES indicators(id) ON DELETE CASCADE,
  owner_id uuid NOT NULL REFERENCES organisations(id),
  disclosed_to uuid NOT NULL REFERENCES organisations(id),
  account_id uuid REFERENCES accounts(id),
  epoch integer NOT NULL,
  type text NOT NULL,
  justification text,
  request_id text,
  created_at timestamp (3) with time zone NOT NULL DEFAULT now()
);
--> statement-breakpoint
CREATE INDEX screening_disclosures_owner_idx ON screening_disclosures (owner_id, created_at, id);
--> statement-breakpoint
GRANT SELECT, INSERT ON screening_disclosures TO dcx_app;
--> statement-breakpoint
ALTER TABLE screening_disclosures ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY screening_disclosures_read ON screening_disclosures FOR SELECT TO dcx_app USING (owner_id = dcx_org() OR disclosed_to = dcx_org());
--> statement-breakpoint
CREATE POLICY screening_disclosures_insert ON screening_disclosures FOR INSERT TO dcx_app WITH CHECK (disclosed_to = dcx_org());
