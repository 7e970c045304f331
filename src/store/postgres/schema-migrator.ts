import type pg from 'pg';
import { HindsightError } from '../../core/errors.js';
import { advisoryKey } from './advisory-key.js';
import { MIGRATIONS, type Migration } from './migration-list.js';

/**
 * Brings the schema up to date: under a session advisory lock (so that replicas starting at once
 * take turns: the first migrates, the others find it done), each migration not yet recorded in
 * `hindsight_migrations` runs in a transaction of its own together with its record. Returns the
 * names it applied (empty when the schema was current).
 *
 * A database migrated by a newer release (more records than we know) is accepted: migrations only
 * add, so this release's queries still work. A record that names a different migration at one of
 * our positions is not: the schema is not one we know.
 */
export async function migrate(
  client: pg.Client,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<string[]> {
  await client.query('SELECT pg_advisory_lock($1::bigint)', [advisoryKey('migrations')]);
  try {
    await client.query(
      'CREATE TABLE IF NOT EXISTS hindsight_migrations (position integer PRIMARY KEY, name text NOT NULL UNIQUE)',
    );
    const { rows } = await client.query<{ position: number; name: string }>(
      'SELECT position, name FROM hindsight_migrations ORDER BY position',
    );
    for (const row of rows) {
      const known = migrations[row.position - 1];
      if (known !== undefined && known.name !== row.name) {
        throw new HindsightError({
          code: 'STORE_SCHEMA_UNKNOWN',
          kind: 'user',
          message:
            `The store's schema records migration ${row.position} as "${row.name}", but this Hindsight has "${known.name}" there. ` +
            'The database holds another application’s or a modified Hindsight schema: point --store at a database of its own.',
        });
      }
    }
    const applied: string[] = [];
    for (const [index, migration] of migrations.entries()) {
      if (index < rows.length) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO hindsight_migrations (position, name) VALUES ($1, $2)', [
          index + 1,
          migration.name,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
      applied.push(migration.name);
    }
    return applied;
  } finally {
    // Closing the session releases it too; an unlock failure must not hide the migration's error.
    await client
      .query('SELECT pg_advisory_unlock($1::bigint)', [advisoryKey('migrations')])
      .catch(() => undefined);
  }
}
