-- Yield counts without row locks on the match path (DESIGN §8, "Yield"). dcx_count_matches()
-- used to upsert one indicator_match_counts row per matched indicator inside the match
-- transaction: concurrent matches over the same hot indicators queued on those rows' locks until
-- each other's COMMIT, and every call rewrote the rows (dead tuples, vacuum churn). Now a match
-- call appends ONE row (the ids it returned that the caller may see, each with how often), which
-- never waits for anything; dcx_fold_match_counts() folds the appended rows into the counts, and
-- runs on a timer and before every read of the counts (the yield read), so what an owner reads is
-- exact. The appended rows are the owner's (the migrating user's) alone: no grant, row-level
-- security with no policy, reached only through the two SECURITY DEFINER functions.
CREATE TABLE indicator_match_events (
  id bigserial PRIMARY KEY,
  ids uuid[] NOT NULL,
  n integer[] NOT NULL,
  at timestamp (3) with time zone NOT NULL DEFAULT now()
);
--> statement-breakpoint
ALTER TABLE indicator_match_events ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
-- The same contract as 0020's: add n[k] matches to indicator ids[k], for the indicators the
-- caller of the current transaction may see (under its own matching setting). One plain INSERT
-- of one row for the whole call: no conflict handling, no lock on any counts row.
CREATE OR REPLACE FUNCTION dcx_count_matches(ids uuid[], n integer[]) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_catalog, pg_temp AS $$
  INSERT INTO indicator_match_events (ids, n)
  SELECT array_agg(q.id ORDER BY q.id), array_agg(q.n ORDER BY q.id)
  FROM unnest(ids, n) AS q(id, n)
  JOIN indicators i ON i.id = q.id
  WHERE q.n > 0 AND dcx_can_see(i.organisation_id, i.distribution, i.sharing_group_id, i.value_visibility, i.status, i.granted_to, (SELECT dcx_org()), (SELECT dcx_reach()), (SELECT dcx_groups()), (SELECT dcx_principals()), (SELECT dcx_matching()))
  HAVING count(*) > 0
$$;
--> statement-breakpoint
-- Fold every appended row into indicator_match_counts: one upsert per indicator however many
-- calls matched it, in id order. One fold at a time (a transaction-level advisory lock, held to
-- the caller's COMMIT): a second waits, then finds the rows the first deleted gone. Rows of an
-- indicator erased meanwhile are dropped (the join). Returns the number of counts rows written.
-- Anyone may run it (it only moves counts the matches already made into place, and says nothing).
CREATE FUNCTION dcx_fold_match_counts() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_catalog, pg_temp AS $$
DECLARE
  written integer;
BEGIN
  PERFORM pg_advisory_xact_lock(1684240403); -- 0x64637813 (src/db/maintenance.ts uses 0x64637811)
  WITH gone AS (
    DELETE FROM indicator_match_events RETURNING ids, n, at
  ), per AS (
    SELECT u.id, sum(u.n) AS n, max(g.at) AS at
    FROM gone g, unnest(g.ids, g.n) AS u(id, n)
    GROUP BY u.id
  )
  INSERT INTO indicator_match_counts AS c (indicator_id, organisation_id, matches, last_matched_at)
  SELECT per.id, i.organisation_id, per.n, per.at
  FROM per JOIN indicators i ON i.id = per.id
  ORDER BY per.id
  ON CONFLICT (indicator_id) DO UPDATE SET matches = c.matches + excluded.matches, last_matched_at = greatest(c.last_matched_at, excluded.last_matched_at);
  GET DIAGNOSTICS written = ROW_COUNT;
  RETURN written;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION dcx_fold_match_counts() FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION dcx_fold_match_counts() TO dcx_app;
