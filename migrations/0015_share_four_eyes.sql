-- Handling-code records (issue 12; DESIGN §7, "Handling codes"): H1 consents and H2 share requests.
-- The item they are about is an indicator or a note (item_kind), owned by owner_organisation_id
-- (copied from the item when the record is written, so the row-level security below needs no
-- join and cannot be fooled by an item the caller may not see).
--
-- A consent: the owner's permission for one organisation to use an H1 item in judicial
-- proceedings, i.e. to receive it in an evidential (signed) export. Seen by the owner and by the
-- organisation it names (the export checks the requester's consents as the requester).
CREATE TABLE handling_consents (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  item_kind text NOT NULL,
  item_id uuid NOT NULL,
  owner_organisation_id uuid NOT NULL REFERENCES organisations(id),
  organisation_id uuid NOT NULL REFERENCES organisations(id),
  purpose text NOT NULL,
  created_by uuid NOT NULL,
  created_at timestamp (3) with time zone NOT NULL DEFAULT now(),
  CONSTRAINT handling_consents_check CHECK (item_kind IN ('indicator','note') AND length(purpose) BETWEEN 3 AND 500 AND organisation_id <> owner_organisation_id),
  CONSTRAINT handling_consents_once UNIQUE (item_id, organisation_id)
);
--> statement-breakpoint
CREATE INDEX handling_consents_org_idx ON handling_consents (organisation_id, item_id);
--> statement-breakpoint
GRANT SELECT, INSERT ON handling_consents TO dcx_app;
--> statement-breakpoint
ALTER TABLE handling_consents ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY handling_consents_read ON handling_consents FOR SELECT TO dcx_app USING (owner_organisation_id = dcx_org() OR organisation_id = dcx_org());
--> statement-breakpoint
CREATE POLICY handling_consents_insert ON handling_consents FOR INSERT TO dcx_app WITH CHECK (owner_organisation_id = dcx_org());
--> statement-breakpoint

-- A share request: a recipient asks the owner to let a further organisation see an item. The
-- owner approves (the item's granted_to gains that organisation: the explicit-grant path of
-- dcx_can_see) or refuses, with a reason. Seen by the owner and the requesting organisation.
CREATE TABLE share_requests (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  item_kind text NOT NULL,
  item_id uuid NOT NULL,
  owner_organisation_id uuid NOT NULL REFERENCES organisations(id),
  requester_organisation_id uuid NOT NULL REFERENCES organisations(id),
  organisation_id uuid NOT NULL REFERENCES organisations(id),
  reason text NOT NULL,
  status text NOT NULL DEFAULT 'pending',
  requested_by uuid NOT NULL,
  decided_by uuid,
  decided_at timestamp (3) with time zone,
  decision_reason text,
  created_at timestamp (3) with time zone NOT NULL DEFAULT now(),
  CONSTRAINT share_requests_check CHECK (
    item_kind IN ('indicator','note') AND status IN ('pending','approved','refused')
    AND length(reason) BETWEEN 3 AND 1000
    AND (status = 'pending') = (decided_at IS NULL)
    AND organisation_id <> owner_organisation_id AND organisation_id <> requester_organisation_id)
);
--> statement-breakpoint
CREATE INDEX share_requests_owner_idx ON share_requests (owner_organisation_id, created_at DESC, id DESC);
--> statement-breakpoint
CREATE INDEX share_requests_requester_idx ON share_requests (requester_organisation_id, created_at DESC, id DESC);
--> statement-breakpoint
CREATE UNIQUE INDEX share_requests_pending_once ON share_requests (item_id, organisation_id) WHERE status = 'pending';
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON share_requests TO dcx_app;
--> statement-breakpoint
ALTER TABLE share_requests ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY share_requests_read ON share_requests FOR SELECT TO dcx_app USING (owner_organisation_id = dcx_org() OR requester_organisation_id = dcx_org());
--> statement-breakpoint
CREATE POLICY share_requests_insert ON share_requests FOR INSERT TO dcx_app WITH CHECK (requester_organisation_id = dcx_org());
--> statement-breakpoint
CREATE POLICY share_requests_decide ON share_requests FOR UPDATE TO dcx_app USING (owner_organisation_id = dcx_org()) WITH CHECK (owner_organisation_id = dcx_org());
--> statement-breakpoint

-- Four-eyes publication (DESIGN §7): a draft another account of the organisation sent back, with
-- the reason, who and when; cleared when the draft is published.
ALTER TABLE indicators ADD COLUMN sent_back_reason text;
--> statement-breakpoint
ALTER TABLE indicators ADD COLUMN sent_back_by uuid;
--> statement-breakpoint
ALTER TABLE indicators ADD COLUMN sent_back_at timestamp (3) with time zone;
--> statement-breakpoint
ALTER TABLE notes ADD COLUMN sent_back_reason text;
--> statement-breakpoint
ALTER TABLE notes ADD COLUMN sent_back_by uuid;
--> statement-breakpoint
ALTER TABLE notes ADD COLUMN sent_back_at timestamp (3) with time zone;
