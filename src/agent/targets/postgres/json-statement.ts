/**
 * Wraps a row query so that it returns one row: its rows as a JSON array (`rows`), any extra
 * columns, and last the server time the statement took until then (`server_ms`,
 * clock_timestamp() − statement_timestamp(); the SELECT list is evaluated left to right).
 */
export function jsonStatement(query: string, extraColumns: readonly string[] = []): string {
  return [
    'SELECT',
    `  (SELECT coalesce(json_agg(q), '[]') FROM (\n${query}) AS q) AS rows,`,
    ...extraColumns.map((column) => `  ${column},`),
    "  date_part('epoch', clock_timestamp() - statement_timestamp()) * 1000 AS server_ms",
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
