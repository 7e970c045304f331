import type { ScheduleEngine } from './schedule-engine.js';

const TABLES = `SELECT c.oid::int AS oid, format('%I.%I', n.nspname, c.relname) AS name,
  (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
     FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attidentity = ''
      AND (d.adbin IS NULL OR pg_get_expr(d.adbin, d.adrelid) NOT LIKE '%(%')) AS columns
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_t%'
ORDER BY 2`;

/**
 * The contents of every user table, canonical (rows sorted), as one string. Columns filled by a
 * sequence, an identity or a function default (now(), random ids) are left out: they differ
 * between runs without meaning anything.
 */
export async function snapshotUserTables(engine: ScheduleEngine): Promise<string> {
  const tables = await engine.control<{ name: string; columns: string | null }>(TABLES);
  const parts: string[] = [];
  for (const t of tables.rows) {
    if (!t.columns) continue;
    const rows = await engine.control<{ rows: string | null }>(
      `SELECT string_agg(r, E'\\n' ORDER BY r) AS rows FROM (SELECT to_jsonb(x)::text AS r FROM (SELECT ${t.columns} FROM ${t.name}) x) y`,
    );
    parts.push(`${t.name}\n${rows.rows[0]?.rows ?? ''}`);
  }
  return parts.join('\n\n');
}
