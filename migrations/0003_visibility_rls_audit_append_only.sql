-- Domain checks: the database refuses what the API would never write.
ALTER TABLE indicators ADD CONSTRAINT indicators_type_check CHECK (type IN ('onion_url','url','domain','crypto_address','email','phone','pgp_fingerprint','vendor_alias','postal_item','postal_address','person_name','file_hash','shipping_pattern'));
--> statement-breakpoint
ALTER TABLE indicators ADD CONSTRAINT indicators_tlp_check CHECK (tlp IN ('clear','green','amber','amber+strict','red'));
--> statement-breakpoint
ALTER TABLE indicators ADD CONSTRAINT indicators_distribution_check CHECK (distribution IN ('organisation','sharing_group','authorities','community') AND (distribution = 'sharing_group') = (sharing_group_id IS NOT NULL) AND (tlp <> 'red' OR distribution IN ('organisation','sharing_group')));
--> statement-breakpoint
ALTER TABLE indicators ADD CONSTRAINT indicators_grading_check CHECK (confidence BETWEEN 0 AND 100 AND reliability IN ('A','B','C','D','E','F') AND credibility BETWEEN 1 AND 6 AND value_visibility IN ('full','match_only') AND status IN ('active','revoked'));
--> statement-breakpoint
ALTER TABLE notes ADD CONSTRAINT notes_tlp_check CHECK (tlp IN ('clear','green','amber','amber+strict','red'));
--> statement-breakpoint
ALTER TABLE notes ADD CONSTRAINT notes_distribution_check CHECK (distribution IN ('organisation','sharing_group','authorities','community') AND (distribution = 'sharing_group') = (sharing_group_id IS NOT NULL) AND (tlp <> 'red' OR distribution IN ('organisation','sharing_group')) AND status IN ('published','revoked'));
--> statement-breakpoint
ALTER TABLE sightings ADD CONSTRAINT sightings_check CHECK (count BETWEEN 1 AND 1000000 AND outcome IN ('seen','seized','nothing_found','controlled_delivery','false_positive'));
--> statement-breakpoint
ALTER TABLE audit_events ADD CONSTRAINT audit_events_outcome_check CHECK (outcome IN ('ok','denied','error'));
--> statement-breakpoint

-- Privileges of the service role. The audit tables: INSERT and SELECT only.
GRANT SELECT, INSERT, UPDATE ON indicators, notes TO dcx_app;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON sharing_groups, sharing_group_members, idempotency_keys TO dcx_app;
--> statement-breakpoint
GRANT SELECT, INSERT ON sightings, note_revisions, audit_events, audit_chain, audit_checkpoints TO dcx_app;
--> statement-breakpoint
GRANT USAGE ON SEQUENCE change_seq, audit_events_id_seq TO dcx_app;
--> statement-breakpoint

-- The visibility rule (DESIGN §3), the database's copy. The application writes the same rule
-- into every read query (src/modules/access/visibility.ts); this one holds even if a query
-- forgets it. The caller's organisation and whether it is an authority are set per
-- transaction with set_config(..., true), so a pooled connection never carries them over.
CREATE FUNCTION dcx_org() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('dcx.org_id', true), '')::uuid
$$;
--> statement-breakpoint
CREATE FUNCTION dcx_visible(owner uuid, dist text, grp uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT dcx_org() IS NOT NULL AND (
    owner = dcx_org()
    OR dist = 'community'
    OR (dist = 'authorities' AND current_setting('dcx.authority', true) = 'true')
    OR (dist = 'sharing_group' AND EXISTS (
      SELECT 1 FROM sharing_group_members m WHERE m.group_id = grp AND m.organisation_id = dcx_org()))
  )
$$;
--> statement-breakpoint
ALTER TABLE indicators ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY indicators_read ON indicators FOR SELECT TO dcx_app USING (dcx_visible(organisation_id, distribution, sharing_group_id));
--> statement-breakpoint
CREATE POLICY indicators_insert ON indicators FOR INSERT TO dcx_app WITH CHECK (organisation_id = dcx_org());
--> statement-breakpoint
CREATE POLICY indicators_update ON indicators FOR UPDATE TO dcx_app USING (organisation_id = dcx_org()) WITH CHECK (organisation_id = dcx_org());
--> statement-breakpoint
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY notes_read ON notes FOR SELECT TO dcx_app USING (dcx_visible(organisation_id, distribution, sharing_group_id));
--> statement-breakpoint
CREATE POLICY notes_insert ON notes FOR INSERT TO dcx_app WITH CHECK (organisation_id = dcx_org());
--> statement-breakpoint
CREATE POLICY notes_update ON notes FOR UPDATE TO dcx_app USING (organisation_id = dcx_org()) WITH CHECK (organisation_id = dcx_org());
--> statement-breakpoint
ALTER TABLE note_revisions ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY note_revisions_read ON note_revisions FOR SELECT TO dcx_app USING (EXISTS (SELECT 1 FROM notes n WHERE n.id = note_id));
--> statement-breakpoint
CREATE POLICY note_revisions_insert ON note_revisions FOR INSERT TO dcx_app WITH CHECK (EXISTS (SELECT 1 FROM notes n WHERE n.id = note_id AND n.organisation_id = dcx_org()));
--> statement-breakpoint
ALTER TABLE sightings ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY sightings_read ON sightings FOR SELECT TO dcx_app USING (EXISTS (SELECT 1 FROM indicators i WHERE i.id = indicator_id));
--> statement-breakpoint
CREATE POLICY sightings_insert ON sightings FOR INSERT TO dcx_app WITH CHECK (organisation_id = dcx_org() AND EXISTS (SELECT 1 FROM indicators i WHERE i.id = indicator_id));
--> statement-breakpoint
ALTER TABLE sharing_groups ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY sharing_groups_read ON sharing_groups FOR SELECT TO dcx_app USING (organisation_id = dcx_org() OR EXISTS (SELECT 1 FROM sharing_group_members m WHERE m.group_id = id AND m.organisation_id = dcx_org()));
--> statement-breakpoint
CREATE POLICY sharing_groups_write ON sharing_groups FOR ALL TO dcx_app USING (organisation_id = dcx_org()) WITH CHECK (organisation_id = dcx_org());
--> statement-breakpoint

-- The audit log is append-only for everyone, whoever runs the statement. (A superuser can
-- disable the trigger; the hash chain and signed checkpoints detect what it then changes.)
CREATE FUNCTION dcx_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION dcx_audit_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION dcx_audit_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE ON audit_chain FOR EACH ROW EXECUTE FUNCTION dcx_audit_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain FOR EACH STATEMENT EXECUTE FUNCTION dcx_audit_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION dcx_audit_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION dcx_audit_append_only();
