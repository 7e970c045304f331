-- Schema-qualified names of relations of the connected database, by OID (for deadlock reports
-- from the log: "relation 16385 of database 5"). A catalog lookup: no lock on the relations.
SELECT c.oid::int8 AS oid, format('%I.%I', n.nspname, c.relname) AS name
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.oid = ANY ($1::oid[])
