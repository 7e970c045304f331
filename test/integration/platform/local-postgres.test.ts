import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalPostgres } from '../../../src/platform/local-postgres.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

describe('the suite PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('is a real server with English messages and a fresh database per file', async () => {
    const client = await db.connect();
    try {
      const { rows } = await client.query<{ db: string; lc: string; num: string }>(
        "select current_database() as db, current_setting('lc_messages') as lc, current_setting('server_version_num') as num",
      );
      expect(rows[0]?.db).toBe(db.name);
      expect(rows[0]?.lc).toBe('C');
      expect(Number(rows[0]?.num)).toBeGreaterThanOrEqual(130000);
      await expect(client.query('select 1/0')).rejects.toMatchObject({ code: '22012' });
    } finally {
      await client.end();
    }
  });
});

describe('LocalPostgres', () => {
  it('stops, starts again with its data, and accepts a second stop', async () => {
    const server = await LocalPostgres.start();
    try {
      const { default: pg } = await import('pg');
      const client = new pg.Client(server.url());
      await client.connect();
      await client.query('CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)');
      await client.end();
      await server.stop();
      await server.stop();
      await server.resume();
      const again = new pg.Client(server.url());
      await again.connect();
      const { rows } = await again.query<{ id: number }>('SELECT id FROM kept');
      await again.end();
      expect(rows).toEqual([{ id: 7 }]);
    } finally {
      await server.destroy();
    }
  });
});
