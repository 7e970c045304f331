-- Read once per connection. data_directory and the log_* settings need pg_read_all_settings,
-- query text of other roles needs pg_read_all_stats: pg_monitor grants both, and the
-- has_* columns say which is missing so that the error can name the GRANT to run.
SELECT
  current_setting('server_version_num')::int4 AS server_version_num,
  current_setting('server_version') AS server_version,
  current_user AS role,
  current_database() AS database,
  (SELECT d.oid::int8 FROM pg_catalog.pg_database AS d WHERE d.datname = current_database()) AS database_oid,
  pg_catalog.pg_backend_pid() AS backend_pid,
  pg_catalog.pg_has_role('pg_read_all_settings', 'USAGE') AS has_read_all_settings,
  pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE') AS has_read_all_stats,
  current_setting('log_line_prefix') AS log_line_prefix,
  current_setting('log_timezone') AS log_timezone,
  current_setting('log_destination') AS log_destination,
  current_setting('logging_collector') = 'on' AS logging_collector,
  current_setting('lc_messages') AS lc_messages,
  (SELECT s.setting::int4 FROM pg_catalog.pg_settings AS s WHERE s.name = 'deadlock_timeout') AS deadlock_timeout_ms,
  current_setting('log_lock_waits') = 'on' AS log_lock_waits,
  current_setting('statement_timeout') AS statement_timeout,
  current_setting('lock_timeout') AS lock_timeout,
  CASE WHEN pg_catalog.pg_has_role('pg_read_all_settings', 'USAGE')
    THEN current_setting('log_directory') END AS log_directory,
  CASE WHEN pg_catalog.pg_has_role('pg_read_all_settings', 'USAGE')
    THEN current_setting('data_directory') END AS data_directory
