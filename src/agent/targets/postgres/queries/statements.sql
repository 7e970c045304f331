-- Cumulative pg_stat_statements figures per query id, without the query texts: showtext => false
-- spares reading the texts file on every sample; texts are fetched only for new ids
-- (statement-texts.sql). @extschema@ is replaced by the extension's quoted schema. From 1.9 the
-- statement also reads pg_stat_statements_info.stats_reset (one row in shared memory), so that a
-- full reset between two samples is seen even when a statement ran more often since than before.
SELECT
  s.queryid::text AS query_id,
  sum(s.calls)::float8 AS calls,
  sum(s.total_exec_time)::float8 AS total_exec_ms,
  sum(s.rows)::float8 AS rows
FROM @extschema@.pg_stat_statements(false) AS s
WHERE s.queryid IS NOT NULL
GROUP BY s.queryid
