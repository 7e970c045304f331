-- Query texts of the given pg_stat_statements ids (already normalized by the extension).
SELECT DISTINCT ON (s.queryid) s.queryid::text AS query_id, s.query
FROM @extschema@.pg_stat_statements(true) AS s
WHERE s.queryid = ANY ($1::int8[])
