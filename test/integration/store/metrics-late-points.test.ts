import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsMaintenance } from '../../../src/app/metrics-maintenance.js';
import type { IncidentStore } from '../../../src/core/incident-store.js';
import type { SeriesPoint, StatementPoint } from '../../../src/core/metrics-series.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY_MS = 24 * HOUR;
/** Midnight UTC. */
const T = Date.UTC(2026, 10, 2);

const point = (at: number, commits: number): SeriesPoint => ({
  target: 'shop-db',
  at,
  resolutionMs: 10_000,
  samples: 10,
  values: { commits, sessions_active: 2 },
});
const statement = (at: number, calls: number): StatementPoint => ({
  target: 'shop-db',
  at,
  resolutionMs: MIN,
  queryId: '42',
  query: 'SELECT $1',
  calls,
  totalExecMs: calls,
  rows: calls,
});

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('metrics_late');
});
afterAll(async () => {
  await db.drop();
});

describe.each([
  ['MemoryStore', () => Promise.resolve(new MemoryStore() as IncidentStore)],
  ['PostgresStore', async () => (await PostgresStore.open({ url: db.url })) as IncidentStore],
])('points that arrive after their coarser interval was computed (%s)', (_name, open) => {
  it("keeps each tier's configured number of top statements per interval", async () => {
    const store = await open();
    try {
      const tiers = [
        { resolutionMs: 10_000, keepMs: 86_400_000 },
        { resolutionMs: MIN, keepMs: 30 * 86_400_000 },
        { resolutionMs: HOUR, keepMs: 365 * 86_400_000, topStatements: 2 },
      ];
      const at = T + 10 * HOUR;
      // A target of its own: the PostgreSQL database is shared by the tests of this file.
      await store.metrics.savePoints([{ ...point(at, 1), target: 'tops-db' }]);
      await store.metrics.saveStatements(
        ['1', '2', '3'].map((queryId, i) => ({ ...statement(at, 10 - i), queryId, target: 'tops-db' })),
      );
      const job = new MetricsMaintenance({ store, tiers });
      for (let more = true; more;) more = (await job.run(T + 11 * HOUR + 3 * MIN)).more;
      const hour = await store.metrics.statements({
        resolutionMs: HOUR,
        from: T,
        until: T + DAY_MS,
        target: 'tops-db',
      });
      expect(hour.map((s) => [s.queryId, s.calls])).toEqual([
        ['1', 10],
        ['2', 9],
      ]);
    } finally {
      await store.close();
    }
  });

  it('still roll up: the 1 min and 1 h intervals they fall in are computed again, within lateMs', async () => {
    const store = await open();
    try {
      const job = new MetricsMaintenance({ store });
      // An agent pushed 10:50–10:55 except the minute 10:52 (held back by an outage), and the minutes' statements.
      const at = T + 10 * HOUR + 50 * MIN;
      const onTime = Array.from({ length: 30 }, (_, i) => at + i * 10_000).filter(
        (t) => t < at + 2 * MIN || t >= at + 3 * MIN,
      );
      await store.metrics.savePoints(onTime.map((t) => point(t, 1)));
      await store.metrics.saveStatements([statement(at, 5)]);
      const run = async (now: number) => {
        for (let more = true; more;) more = (await job.run(now)).more;
      };
      // 11:03: the minutes and the hour 10:00 are computed.
      await run(T + 11 * HOUR + 3 * MIN);
      const minutes = { resolutionMs: MIN, from: at, until: at + 5 * MIN, target: 'shop-db' };
      const hour = { resolutionMs: HOUR, from: T + 10 * HOUR, until: T + 11 * HOUR, target: 'shop-db' };
      expect((await store.metrics.points(minutes)).map((p) => p.values.commits)).toEqual(
        [6, 6, 6, 6, 6].slice(0, 4),
      );
      expect((await store.metrics.points(hour))[0]?.values.commits).toBe(24);

      // The held-back minute lands at 11:10, with its statements set.
      await store.metrics.savePoints(
        Array.from({ length: 6 }, (_, i) => point(at + 2 * MIN + i * 10_000, 2)),
      );
      await store.metrics.saveStatements([statement(at + 2 * MIN, 7)]);
      const report = await job.run(T + 11 * HOUR + 10 * MIN);
      expect(report.recomputed).toBe(2);
      expect((await store.metrics.points(minutes)).map((p) => [p.at - at, p.values.commits])).toEqual([
        [0, 6],
        [MIN, 6],
        [2 * MIN, 12],
        [3 * MIN, 6],
        [4 * MIN, 6],
      ]);
      const [h] = await store.metrics.points(hour);
      expect(h?.values.commits).toBe(36);
      expect(h?.samples).toBe(300);
      expect((await store.metrics.statements(hour)).map((s) => s.calls)).toEqual([12]);
      // Nothing changed since: nothing computed again.
      expect((await job.run(T + 11 * HOUR + 11 * MIN)).recomputed).toBe(0);
      // Later than lateMs (1 h by default): kept at 10 s only.
      await store.metrics.savePoints([point(at + 4 * MIN + 50_000 + 1, 100)]);
      expect((await job.run(T + 13 * HOUR)).recomputed).toBe(0);
    } finally {
      await store.close();
    }
  });
});
