/** PostgreSQL connection URLs: which database one names (the redactor is core/url-redaction.ts). */

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

interface DatabaseAddress {
  readonly host: string;
  readonly port: string;
  readonly database: string;
}

/** host, port and database a postgres:// URL connects to (libpq defaults); null when not a URL. */
export function databaseAddress(url: string): DatabaseAddress | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  const rawHost = u.hostname || u.searchParams.get('host') || 'localhost';
  const host = LOOPBACK.has(rawHost.toLowerCase()) ? 'localhost' : rawHost.toLowerCase();
  const user = decodeURIComponent(u.username) || 'postgres';
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || user;
  return { host, port: u.port || u.searchParams.get('port') || '5432', database };
}

/** Do both URLs name the same database (same host, port and database name)? */
export function sameDatabase(a: string, b: string): boolean {
  const x = databaseAddress(a);
  const y = databaseAddress(b);
  return x !== null && y !== null && x.host === y.host && x.port === y.port && x.database === y.database;
}
