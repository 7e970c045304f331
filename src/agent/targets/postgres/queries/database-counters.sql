-- Cumulative counters per database (the row for shared objects, datname NULL, is left out).
-- deadlocks is only a fallback signal: it was measured to lag up to 10 s on PostgreSQL 15+.
SELECT
  d.datname AS database,
  d.xact_commit::float8 AS commits,
  d.xact_rollback::float8 AS rollbacks,
  d.deadlocks::float8 AS deadlocks,
  d.conflicts::float8 AS conflicts
FROM pg_catalog.pg_stat_database AS d
WHERE d.datname IS NOT NULL
