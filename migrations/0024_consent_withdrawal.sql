-- H1 consents can be withdrawn (DESIGN §7, "Handling codes"): the owner's org_admin ends a consent;
-- the record stays, with who withdrew it, when and why, so the history of what an organisation was
-- allowed to use in proceedings is never lost. A withdrawn consent no longer lets an evidential
-- export include the item, and the organisation may be given a new consent later (one live consent
-- per item and organisation). The service role may set the withdrawal columns once, on its own
-- organisation's consents, and change nothing else.
ALTER TABLE handling_consents ADD COLUMN withdrawn_at timestamp (3) with time zone;
--> statement-breakpoint
ALTER TABLE handling_consents ADD COLUMN withdrawn_by uuid;
--> statement-breakpoint
ALTER TABLE handling_consents ADD COLUMN withdrawal_reason text;
--> statement-breakpoint
ALTER TABLE handling_consents DROP CONSTRAINT handling_consents_once;
--> statement-breakpoint
CREATE UNIQUE INDEX handling_consents_once ON handling_consents (item_id, organisation_id) WHERE withdrawn_at IS NULL;
--> statement-breakpoint
ALTER TABLE handling_consents ADD CONSTRAINT handling_consents_withdrawal CHECK (
  (withdrawn_at IS NULL AND withdrawn_by IS NULL AND withdrawal_reason IS NULL)
  OR (withdrawn_at IS NOT NULL AND withdrawn_by IS NOT NULL AND length(withdrawal_reason) BETWEEN 3 AND 500)
);
--> statement-breakpoint
GRANT UPDATE (withdrawn_at, withdrawn_by, withdrawal_reason) ON handling_consents TO dcx_app;
--> statement-breakpoint
CREATE POLICY handling_consents_withdraw ON handling_consents FOR UPDATE TO dcx_app
  USING (owner_organisation_id = dcx_org() AND withdrawn_at IS NULL)
  WITH CHECK (owner_organisation_id = dcx_org());
