-- Justification and verifiable audit pruning (issue 12, items 4 and 6; DESIGN §7).
--
-- An account's default justification: the purpose a partner system that screens automatically
-- gives once, used when a request carries no DCX-Justification header (src/access/justification.ts).
ALTER TABLE accounts ADD COLUMN default_justification text;
--> statement-breakpoint
ALTER TABLE accounts ADD CONSTRAINT accounts_default_justification_check CHECK (default_justification IS NULL OR (char_length(default_justification) BETWEEN 3 AND 200 AND default_justification !~ '[[:cntrl:]]'));
