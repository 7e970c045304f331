import { resolveConnInfo } from './postgres-conninfo.js';

/** PostgreSQL connection URLs: which database one names (the redactor is core/url-redaction.ts). */

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

interface DatabaseAddress {
  readonly host: string;
  readonly port: string;
  readonly database: string;
}

/**
 * host, port and database a postgres:// URL connects to, read as libpq reads it (a socket directory
 * as `?host=` or a %-encoded host; libpq's defaults, not the `PG*` variables, fill the gaps); null
 * when it is not one.
 */
export function databaseAddress(url: string): DatabaseAddress | null {
  const resolved = resolveConnInfo(url, { passfile: '', osUser: 'postgres' });
  if (!resolved.ok) return null;
  const { host: rawHost, port, database } = resolved.info;
  // A socket directory is a path: its case counts.
  const host = rawHost.startsWith('/')
    ? rawHost
    : LOOPBACK.has(rawHost.toLowerCase())
      ? 'localhost'
      : rawHost.toLowerCase();
  return { host, port: String(port), database };
}

/** Do both URLs name the same database (same host, port and database name)? */
export function sameDatabase(a: string, b: string): boolean {
  const x = databaseAddress(a);
  const y = databaseAddress(b);
  return x !== null && y !== null && x.host === y.host && x.port === y.port && x.database === y.database;
}
