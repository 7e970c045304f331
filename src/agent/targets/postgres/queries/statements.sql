-- Cumulative pg_stat_statements figures, one row per entry (user, database, query id, top level),
-- without texts: showtext => false spares reading the texts file; texts are fetched only for new
-- ids (statement-texts.sql). @extschema@ is replaced by the extension's quoted schema.
-- Measured (bench:metrics, 5,343 entries, PostgreSQL 18, backend CPU from /proc): the function
-- alone costs ~4 ms; grouping and json_agg on the server took it to ~16 ms, plain rows ~7 ms.
-- So rows go out as they are, only the four columns used, and the client sums per query id.
SELECT s.queryid, s.calls, s.total_exec_time, s.rows
FROM @extschema@.pg_stat_statements(false) AS s
WHERE s.queryid IS NOT NULL
