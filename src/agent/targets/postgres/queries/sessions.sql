-- Every backend but our own, from pg_stat_activity (backend status in shared memory, joined by
-- the view to pg_database and pg_authid: no user table is locked). Times are epoch milliseconds,
-- as float8 because pg parses int8 into strings. Other roles' query text is visible with
-- pg_read_all_stats (part of pg_monitor). server_ms is the server time spent so far; volatile, it
-- is evaluated after the sort, which needs every row: the first row's value is the time to build
-- them all, before any is sent (so a slow reader does not count).
SELECT
  a.pid,
  a.state,
  a.backend_type,
  a.usename,
  a.datname,
  a.application_name,
  CASE WHEN a.client_port = -1 THEN 'local' ELSE host(a.client_addr) END AS client,
  floor(date_part('epoch', a.backend_start) * 1000) AS backend_start,
  floor(date_part('epoch', a.xact_start) * 1000) AS xact_start,
  floor(date_part('epoch', a.query_start) * 1000) AS query_start,
  floor(date_part('epoch', a.state_change) * 1000) AS state_change,
  a.wait_event_type,
  a.wait_event,
  a.query,
  date_part('epoch', clock_timestamp() - statement_timestamp()) * 1000 AS server_ms
FROM pg_catalog.pg_stat_activity AS a
WHERE a.pid <> pg_catalog.pg_backend_pid()
ORDER BY a.pid
