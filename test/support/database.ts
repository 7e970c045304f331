import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/** A database of its own for one test file, on the suite's PostgreSQL server. */
export interface TestDatabase {
  readonly name: string;
  /** Superuser URL of this database. */
  readonly url: string;
  /** Opens a client on it (remember to `end()` it, or use `withClient`). */
  connect(options?: { applicationName?: string }): Promise<pg.Client>;
  /** Drops the database, disconnecting whatever is still connected. */
  drop(): Promise<void>;
}

export function adminUrl(): string {
  return inject('pgAdminUrl');
}

export function urlFor(database: string, base = adminUrl()): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates a fresh, uniquely named database (call it in `beforeAll`, drop it in `afterAll`). */
export async function createTestDatabase(prefix = 't'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  await withClient(adminUrl(), (c) => c.query(`CREATE DATABASE ${name}`));
  const url = urlFor(name);
  return {
    name,
    url,
    async connect(options = {}) {
      const client = new pg.Client({
        connectionString: url,
        ...(options.applicationName ? { application_name: options.applicationName } : {}),
      });
      await client.connect();
      return client;
    },
    async drop() {
      await withClient(adminUrl(), (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
