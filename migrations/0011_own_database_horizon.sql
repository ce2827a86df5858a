-- The horizon of the change feed (GET /v1/changes) and of the audit chainer, in this database
-- only. Both read rows whose writing transaction id (change_xid / xid, an xid8) is below a
-- horizon, in (xid, seq) order, and promise that a transaction committing late is never
-- skipped: every transaction below the horizon that could write rows here must be finished. The
-- horizon was pg_snapshot_xmin(pg_current_snapshot()), the oldest transaction running anywhere
-- in the cluster — so one open write transaction in another database on the same server (a
-- migration, a forgotten psql session, another service) stalled the feed and the chain of every
-- database on it. Transaction ids are cluster-wide, but a transaction of another database can
-- never write a row here: a session is bound to one database for its life (dblink or an FDW
-- write through a session of their own, in the database they write to).
--
-- dcx_horizon() returns the oldest transaction still running in the caller's snapshot that is
-- not PROVEN to belong to another database, or the snapshot's xmax when there is none:
--
--   S  := pg_current_snapshot()            -- taken first
--   F  := top-level xids that pg_stat_activity (read after S, fresh: pg_stat_clear_snapshot())
--         shows running in a session of another database, and prepared transactions of another
--         database (pg_prepared_xacts)
--   horizon := min({ x in xip(S) : x not in F } ∪ { xmax(S) })
--
-- Why this is safe. Take a transaction X < horizon that could write here. X < xmax(S), so X was
-- either finished when S was taken — then its commit is visible to S and to every later
-- snapshot — or it was in S's running list xip(S). In that case X is not in F (else it could
-- not write here), so min picked something ≤ X: X < horizon is impossible. Hence every
-- transaction below the horizon that could write here is finished, and visible to S or any later
-- snapshot: to the statement that reads with it in READ COMMITTED (a later statement, a later
-- snapshot) and in REPEATABLE READ (S is the transaction's snapshot) alike. No transaction
-- below the horizon can start later either: new xids are ≥ xmax(S) ≥ horizon.
--
-- Why "exclude what is proven foreign" and not "include what is seen here" (the minimum of this
-- database's backend_xid): pg_stat_activity is read after S, and a transaction of this database
-- that was running at S may have committed in between — it no longer shows there, the horizon
-- moves past it, and a REPEATABLE READ reader (whose snapshot is S) would skip its rows for ever.
-- Here such a transaction is simply not in F: it holds the horizon for one more poll. Whatever
-- cannot be placed — a session whose backend_xid this function may not see, a process without a
-- database, a prepared transaction of this database — is not in F either, so the answer only
-- ever errs towards the cluster-wide horizon (never below it: every element of xip(S) is ≥ xmin).
--
-- Each xid of F is a running one and matched in its low 32 bits: pg_stat_activity.backend_xid
-- and pg_prepared_xacts.transaction are 32-bit xids, the snapshot's are 64-bit xid8 (epoch in
-- the high half). Two running (or just finished) transactions are always less than 2^31 apart
-- — wraparound protection stops new xids long before — so the low 32 bits of an element of
-- xip(S) identify it among the transactions F can name.
--
-- pg_stat_activity shows another role's backend_xid only to superusers and members of
-- pg_read_all_stats: hence SECURITY DEFINER, owned by the migrating user. `sees_all` tells the
-- caller whether this owner can see every session; when it cannot, other roles' sessions keep
-- their hold (the answer degrades to the cluster-wide horizon for them) and the service logs it
-- once at boot. PGlite has one database and one session: xip is empty, the horizon is xmax.
--
-- VOLATILE: call it once, in a statement of its own, and compare with the value it returned;
-- inside another statement's WHERE it would run per row.
CREATE FUNCTION dcx_horizon(OUT horizon xid8, OUT sees_all boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  snap pg_snapshot := pg_current_snapshot();
BEGIN
  -- pg_stat_activity is otherwise read once per transaction and then cached: it must be read now,
  -- after the snapshot.
  PERFORM pg_stat_clear_snapshot();
  sees_all := coalesce((SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user), false)
              OR pg_has_role(current_user, 'pg_read_all_stats', 'USAGE');
  WITH foreign_xids AS MATERIALIZED (
    SELECT a.backend_xid::text::bigint AS x32
    FROM pg_stat_activity a
    WHERE a.backend_xid IS NOT NULL AND a.datname IS NOT NULL AND a.datname <> current_database()
    UNION ALL
    SELECT p.transaction::text::bigint
    FROM pg_prepared_xacts p
    WHERE p.database <> current_database()
  )
  SELECT min(x) INTO horizon
  FROM pg_snapshot_xip(snap) AS x
  WHERE NOT EXISTS (SELECT 1 FROM foreign_xids f WHERE f.x32 = (x::text::bigint & 4294967295));
  horizon := coalesce(horizon, pg_snapshot_xmax(snap));
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION dcx_horizon() FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION dcx_horizon() TO dcx_app;
