CREATE INDEX "indicators_created_idx" ON "indicators" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "notes_created_idx" ON "notes" USING btree ("created_at","id");