-- Erasure reaches the sightings of an erased indicator (DESIGN §7): the free-text note of every
-- organisation's sighting report is wiped — a reporter may have repeated the value in it — while
-- the report itself (who, when, how many, what outcome) stays for the owner's yield and the
-- reporters' own records. The service role may set `note` and nothing else, only to NULL, and only
-- on sightings of an indicator its organisation owns and has erased.
GRANT UPDATE (note) ON sightings TO dcx_app;
--> statement-breakpoint
CREATE POLICY sightings_erase ON sightings FOR UPDATE TO dcx_app
  USING (EXISTS (SELECT 1 FROM indicators i WHERE i.id = indicator_id AND i.organisation_id = dcx_org() AND i.status = 'erased'))
  WITH CHECK (note IS NULL);
