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
