-- Interchange (issue 14): what a STIX producer said that DCX's own columns cannot hold, kept so a
-- served object says it again. stix_id: the producer's STIX id (the object is served under it, so a
-- client GETs what it pushed; null for items DCX produced, served as indicator--<id>). stix: the
-- producer's properties kept verbatim (created, modified, name, indicator_types, kill_chain_phases,
-- external_references, confidence, created_by_ref, labels, pattern, lang …; see
-- docs/interoperability.md). stix_refs: the objects the producer pushed with it that it references
-- (its identity, extension and marking definitions), served by the collections that serve it.
ALTER TABLE indicators ADD COLUMN stix_id text;
--> statement-breakpoint
ALTER TABLE indicators ADD COLUMN stix jsonb;
--> statement-breakpoint
ALTER TABLE indicators ADD COLUMN stix_refs jsonb;
--> statement-breakpoint
ALTER TABLE indicators ADD CONSTRAINT indicators_stix_id_check CHECK (stix_id IS NULL OR (length(stix_id) <= 300 AND stix_id LIKE 'indicator--%'));
--> statement-breakpoint
ALTER TABLE indicators ADD CONSTRAINT indicators_stix_check CHECK (stix IS NULL OR jsonb_typeof(stix) = 'object');
--> statement-breakpoint
ALTER TABLE indicators ADD CONSTRAINT indicators_stix_refs_check CHECK (stix_refs IS NULL OR jsonb_typeof(stix_refs) = 'array');
--> statement-breakpoint
CREATE INDEX indicators_stix_id_idx ON indicators (stix_id) WHERE stix_id IS NOT NULL;
