import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../../src/store/postgres/migration-list.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { migrate } from '../../../src/store/postgres/schema-migrator.js';
import { createTestDatabase, withClient, type TestDatabase } from '../../support/database.js';

/** Midnight UTC: the start of a 10 s partition (a day) and of a 1 min one (30 days from the epoch's multiple). */
const T = Date.UTC(2026, 10, 30);

describe('migration 0005-compact-metrics (real PostgreSQL)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('metricscompact');
  });
  afterAll(async () => {
    await db.drop();
  });

  it("keeps 0004's points and statements, in their partitions, readable through the store", async () => {
    const before = MIGRATIONS.findIndex((m) => m.name === '0005-compact-metrics');
    await withClient(db.url, async (c) => {
      await migrate(c, MIGRATIONS.slice(0, before));
      // Two partitions as 0004's store made them, with a point and statements each.
      await c.query(
        `CREATE TABLE metric_points_r10000_${String(T)} PARTITION OF metric_points FOR VALUES FROM (10000, ${String(T)}) TO (10000, ${String(T + 86_400_000)})`,
      );
      await c.query(
        `CREATE TABLE metric_statements_r10000_${String(T)} PARTITION OF metric_statements FOR VALUES FROM (10000, ${String(T)}) TO (10000, ${String(T + 86_400_000)})`,
      );
      await c.query(
        `INSERT INTO metric_points VALUES (10000, $1, 'shop-db', 10, '{"sessions_active": 2.5, "commits": 120, "blocks_read": 0}')`,
        [T],
      );
      await c.query(
        `INSERT INTO metric_statements VALUES (10000, $1, 'shop-db', '-9007199254740993', 2, 5, 2), (10000, $1, 'shop-db', '42', 10, 50, 10)`,
        [T],
      );
      await c.query(
        `INSERT INTO metric_statement_texts VALUES ('shop-db', '42', 'SELECT $1', $1), ('shop-db', '-9007199254740993', 'SELECT 2', $1)`,
        [T],
      );
    });
    const store = await PostgresStore.open({ url: db.url });
    try {
      const window = { resolutionMs: 10_000, from: T, until: T + 10_000 };
      expect(await store.metrics.points(window)).toEqual([
        {
          target: 'shop-db',
          at: T,
          resolutionMs: 10_000,
          samples: 10,
          values: { sessions_active: 2.5, commits: 120, blocks_read: 0 },
        },
      ]);
      expect(
        (await store.metrics.statements(window)).map((s) => [s.queryId, s.query, s.calls, s.totalExecMs]),
      ).toEqual([
        ['42', 'SELECT $1', 10, 50],
        ['-9007199254740993', 'SELECT 2', 2, 5],
      ]);
      expect(await store.metrics.partitions()).toEqual([
        { resolutionMs: 10_000, from: T, until: T + 86_400_000 },
      ]);
      // 0004's tables are gone; the partition is dropped whole as before.
      await withClient(db.url, async (c) => {
        const { rows } = await c.query<{ n: string | null }>(
          "SELECT to_regclass('metric_points')::text AS n UNION ALL SELECT to_regclass('metric_statements')::text",
        );
        expect(rows).toEqual([{ n: null }, { n: null }]);
      });
      expect(await store.metrics.dropPartitions(10_000, T + 86_400_000)).toHaveLength(1);
      expect(await store.metrics.points(window)).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
