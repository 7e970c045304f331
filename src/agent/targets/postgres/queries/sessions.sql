-- Every backend but our own, from pg_stat_activity. Reads shared memory only: it never waits
-- on a lock. Times are epoch milliseconds; query text needs pg_read_all_stats (in pg_monitor)
-- to be visible for other roles' sessions.
SELECT
  a.pid,
  a.state,
  a.backend_type,
  a.usename,
  a.datname,
  a.application_name,
  CASE WHEN a.client_port = -1 THEN 'local' ELSE host(a.client_addr) END AS client,
  (date_part('epoch', a.backend_start) * 1000)::int8 AS backend_start,
  (date_part('epoch', a.xact_start) * 1000)::int8 AS xact_start,
  (date_part('epoch', a.query_start) * 1000)::int8 AS query_start,
  (date_part('epoch', a.state_change) * 1000)::int8 AS state_change,
  a.wait_event_type,
  a.wait_event,
  a.query
FROM pg_catalog.pg_stat_activity AS a
WHERE a.pid <> pg_catalog.pg_backend_pid()
