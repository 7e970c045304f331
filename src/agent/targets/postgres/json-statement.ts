/**
 * Wraps a row query so that it returns one row: its rows as a JSON array (`rows`) and the server
 * time the statement took until then (`server_ms`, clock_timestamp() − statement_timestamp()).
 */
export function jsonStatement(query: string): string {
  return [
    'SELECT',
    `  (SELECT coalesce(json_agg(q), '[]') FROM (\n${query}) AS q) AS rows,`,
    "  (date_part('epoch', clock_timestamp() - statement_timestamp()) * 1000)::float8 AS server_ms",
  ].join('\n');
}

export interface JsonStatementRow<T> {
  readonly rows: readonly T[];
  readonly server_ms: number;
}

/** The extension's schema as a quoted identifier, put where a query file says `@extschema@`. */
export function withExtensionSchema(query: string, schema: string): string {
  return query.replaceAll('@extschema@', `"${schema.replaceAll('"', '""')}"`);
}
