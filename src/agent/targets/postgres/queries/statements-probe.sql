-- Where pg_stat_statements is installed in the connected database, if at all, and its version.
SELECT n.nspname AS schema, e.extversion AS version
FROM pg_catalog.pg_extension AS e
JOIN pg_catalog.pg_namespace AS n ON n.oid = e.extnamespace
WHERE e.extname = 'pg_stat_statements'
