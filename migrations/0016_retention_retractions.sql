-- Review, retention and erasure (issue 12, items 3 and 5; DESIGN §7 "Review and retention").
--
-- The review queue: an organisation's items whose review-by date has passed and that are still
-- live (not revoked, not erased), oldest date first. Partial, so the queue costs nothing for
-- items already closed.
CREATE INDEX indicators_review_queue_idx ON indicators (organisation_id, review_by, id) WHERE status NOT IN ('revoked', 'erased');
--> statement-breakpoint
CREATE INDEX notes_review_queue_idx ON notes (organisation_id, review_by, id) WHERE status NOT IN ('revoked', 'erased');
--> statement-breakpoint
-- The erasure job looks across every organisation for items past their date that still hold
-- content (a revoked item still holds its value, so it is erased too).
CREATE INDEX indicators_retention_idx ON indicators (review_by) WHERE status <> 'erased';
--> statement-breakpoint
CREATE INDEX notes_retention_idx ON notes (review_by) WHERE status <> 'erased';
--> statement-breakpoint

-- What the erasure job must erase: ids and owners only, never content. The service role sees
-- only what its current caller may see, and the job acts for no organisation until it knows
-- whose item it erases; so this one question is answered as the owner of the tables (SECURITY
-- DEFINER, a fixed search_path). Each item is then erased as its owner organisation, under the
-- same row-level security as any write.
CREATE FUNCTION dcx_retention_due(cutoff timestamptz, lim integer)
RETURNS TABLE (kind text, id uuid, organisation_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  (SELECT 'indicator'::text, i.id, i.organisation_id FROM indicators i WHERE i.status <> 'erased' AND i.review_by < cutoff ORDER BY i.review_by LIMIT lim)
  UNION ALL
  (SELECT 'note'::text, n.id, n.organisation_id FROM notes n WHERE n.status <> 'erased' AND n.review_by < cutoff ORDER BY n.review_by LIMIT lim)
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION dcx_retention_due(timestamptz, integer) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION dcx_retention_due(timestamptz, integer) TO dcx_app;
--> statement-breakpoint

-- A note's revisions are append-only, except for erasure: when the note is erased, every
-- revision's text is wiped with it. The service role may update only the three text columns,
-- of its own organisation's revisions, only to empty them, and only once the note itself is
-- erased (in the same transaction).
GRANT UPDATE (title, summary, body) ON note_revisions TO dcx_app;
--> statement-breakpoint
CREATE POLICY note_revisions_erase ON note_revisions FOR UPDATE TO dcx_app USING (organisation_id = dcx_org()) WITH CHECK (organisation_id = dcx_org());
--> statement-breakpoint
CREATE FUNCTION dcx_note_revision_erase_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.title <> '' OR NEW.summary <> '' OR NEW.body <> ''
     OR NOT EXISTS (SELECT 1 FROM notes n WHERE n.id = NEW.note_id AND n.status = 'erased') THEN
    RAISE EXCEPTION 'note revisions are append-only; only an erased note''s revisions may be wiped' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER note_revisions_erase_only BEFORE UPDATE ON note_revisions FOR EACH ROW EXECUTE FUNCTION dcx_note_revision_erase_only();
--> statement-breakpoint

-- Retraction (DESIGN §7, "Retraction"): which organisations received an item, and the notices
-- they get when it is revoked, erased, narrowed or switched to match_only.
--
-- A receipt: organisation X received item I (read, listed, matched, pulled through TAXII,
-- exported, fetched from the feed), once, at first_at. Written by the reading transaction for
-- the reader's own organisation only (ON CONFLICT DO NOTHING: a second read writes nothing);
-- readable by that organisation only. The owner never reads receipts: notices are made from
-- them by dcx_send_retractions() below.
CREATE TABLE item_receipts (
  item_id uuid NOT NULL,
  organisation_id uuid NOT NULL REFERENCES organisations (id),
  kind text NOT NULL CHECK (kind IN ('indicator', 'note')),
  first_at timestamp (3) with time zone NOT NULL DEFAULT now(),
  PRIMARY KEY (item_id, organisation_id)
);
--> statement-breakpoint
GRANT SELECT, INSERT ON item_receipts TO dcx_app;
--> statement-breakpoint
ALTER TABLE item_receipts ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY item_receipts_read ON item_receipts FOR SELECT TO dcx_app USING (organisation_id = dcx_org());
--> statement-breakpoint
CREATE POLICY item_receipts_insert ON item_receipts FOR INSERT TO dcx_app WITH CHECK (organisation_id = dcx_org());
--> statement-breakpoint
-- A notice to one receiving organisation about one retraction (one version of the item). The
-- recipient reads and acknowledges it; the owner reads who was told and who acknowledged.
CREATE TABLE retraction_notices (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind text NOT NULL CHECK (kind IN ('indicator', 'note')),
  item_id uuid NOT NULL,
  owner_id uuid NOT NULL REFERENCES organisations (id),
  organisation_id uuid NOT NULL REFERENCES organisations (id),
  reason text NOT NULL CHECK (reason IN ('revoked', 'erased', 'narrowed', 'match_only')),
  item_version integer NOT NULL,
  created_at timestamp (3) with time zone NOT NULL DEFAULT now(),
  acknowledged_at timestamp (3) with time zone,
  acknowledged_by uuid REFERENCES accounts (id),
  UNIQUE (item_id, organisation_id, item_version)
);
--> statement-breakpoint
CREATE INDEX retraction_notices_pending_idx ON retraction_notices (organisation_id, created_at, id) WHERE acknowledged_at IS NULL;
--> statement-breakpoint
CREATE INDEX retraction_notices_item_idx ON retraction_notices (item_id, created_at, id);
--> statement-breakpoint
GRANT SELECT ON retraction_notices TO dcx_app;
--> statement-breakpoint
GRANT UPDATE (acknowledged_at, acknowledged_by) ON retraction_notices TO dcx_app;
--> statement-breakpoint
ALTER TABLE retraction_notices ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY retraction_notices_read ON retraction_notices FOR SELECT TO dcx_app USING (organisation_id = dcx_org() OR owner_id = dcx_org());
--> statement-breakpoint
CREATE POLICY retraction_notices_ack ON retraction_notices FOR UPDATE TO dcx_app USING (organisation_id = dcx_org()) WITH CHECK (organisation_id = dcx_org());
--> statement-breakpoint
-- The owner (the current caller) retracts its item: one notice per organisation that received
-- it, other than the owner. SECURITY DEFINER, because the receipts are the recipients' rows; it
-- refuses anyone but the item's owner. Returns the number of notices sent.
CREATE FUNCTION dcx_send_retractions(k text, item uuid, why text, ver integer) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  owner uuid;
  n integer;
BEGIN
  IF k = 'indicator' THEN
    SELECT i.organisation_id INTO owner FROM indicators i WHERE i.id = item;
  ELSE
    SELECT o.organisation_id INTO owner FROM notes o WHERE o.id = item;
  END IF;
  IF owner IS NULL OR owner IS DISTINCT FROM dcx_org() THEN
    RAISE EXCEPTION 'only the owner of an item retracts it' USING ERRCODE = 'insufficient_privilege';
  END IF;
  INSERT INTO retraction_notices (kind, item_id, owner_id, organisation_id, reason, item_version)
    SELECT k, item, owner, r.organisation_id, why, ver FROM item_receipts r WHERE r.item_id = item AND r.organisation_id <> owner
    ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION dcx_send_retractions(text, uuid, text, integer) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION dcx_send_retractions(text, uuid, text, integer) TO dcx_app;
