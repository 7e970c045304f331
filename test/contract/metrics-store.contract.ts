import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IncidentStore } from '../../src/core/incident-store.js';
import { DAY, partitionOf } from '../../src/core/metrics-downsampling.js';
import type { SeriesPoint, StatementPoint } from '../../src/core/metrics-series.js';
import { deadlock, episode } from './store-fixtures.js';

/** Midnight UTC, 30 Nov 2026: the start of a 10 s partition (a day). */
const T = Date.UTC(2026, 10, 30);

const point = (target: string, at: number, over: Partial<SeriesPoint> = {}): SeriesPoint => ({
  target,
  at,
  resolutionMs: 10_000,
  samples: 10,
  values: { sessions_active: 3.5, commits: 120, longest_transaction_ms: 4_000 },
  ...over,
});

const statement = (
  target: string,
  at: number,
  queryId: string,
  totalExecMs: number,
  over: Partial<StatementPoint> = {},
): StatementPoint => ({
  target,
  at,
  resolutionMs: 10_000,
  queryId,
  query: `SELECT * FROM t${queryId} WHERE id = $1`,
  calls: 10,
  totalExecMs,
  rows: 10,
  ...over,
});

/** The metrics repository and the history filters of findings, on both stores. */
export function metricsStoreContract(name: string, open: () => Promise<IncidentStore>): void {
  describe(`${name} keeps database metrics (contract)`, () => {
    let store: IncidentStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('reads back the points of a window [from, until) of one resolution, oldest first then by target, and upserts by key', async () => {
      await store.metrics.savePoints([
        point('b', T + 10_000),
        point('a', T + 10_000),
        point('a', T),
        point('a', T + 20_000),
        point('a', T + 10_000, { resolutionMs: 60_000, at: T }),
      ]);
      const window = { resolutionMs: 10_000, from: T, until: T + 20_000 };
      expect((await store.metrics.points(window)).map((p) => [p.target, p.at])).toEqual([
        ['a', T],
        ['a', T + 10_000],
        ['b', T + 10_000],
      ]);
      expect(await store.metrics.points({ ...window, target: 'a' })).toEqual([
        point('a', T),
        point('a', T + 10_000),
      ]);
      // Recomputed: replaced, not added.
      await store.metrics.savePoints([point('a', T, { samples: 3, values: { sessions_active: 1 } })]);
      expect((await store.metrics.points({ ...window, target: 'a', until: T + 1 }))[0]).toEqual(
        point('a', T, { samples: 3, values: { sessions_active: 1 } }),
      );
      expect(await store.metrics.extent(10_000)).toEqual({ oldest: T, latest: T + 20_000 });
      expect(await store.metrics.extent(3_600_000)).toBeNull();
      // One metric asked for: only it is read back (the point at T was replaced by one without it).
      expect(
        (await store.metrics.points({ ...window, target: 'a', metrics: ['commits'] })).map((p) => p.values),
      ).toEqual([{}, { commits: 120 }]);
      expect(await store.metrics.extent(10_000, T + 1)).toEqual({ oldest: T + 10_000, latest: T + 20_000 });
      expect(await store.metrics.extent(10_000, T + 20_001)).toBeNull();
    });

    it('keeps top statements with their text, ordered by time, target, total time; an interval saved again is replaced whole', async () => {
      await store.metrics.saveStatements([
        statement('a', T, '-9007199254740993', 5),
        statement('a', T, '42', 50),
        statement('a', T + 10_000, '42', 7),
        statement('b', T, '42', 1, { query: 'SELECT other FROM b' }),
      ]);
      const rows = await store.metrics.statements({ resolutionMs: 10_000, from: T, until: T + 60_000 });
      expect(rows.map((r) => [r.target, r.at, r.queryId, r.totalExecMs])).toEqual([
        ['a', T, '42', 50],
        ['a', T, '-9007199254740993', 5],
        ['b', T, '42', 1],
        ['a', T + 10_000, '42', 7],
      ]);
      expect(rows[1]?.query).toBe('SELECT * FROM t-9007199254740993 WHERE id = $1');
      expect(rows[2]?.query).toBe('SELECT other FROM b');
      expect(
        await store.metrics.statementTotals(
          { resolutionMs: 10_000, from: T, until: T + 60_000, target: 'a' },
          1,
        ),
      ).toEqual([
        { queryId: '42', query: 'SELECT * FROM t42 WHERE id = $1', calls: 20, totalExecMs: 57, rows: 20 },
      ]);
      // A recomputed interval (a rollup again, a retried push) replaces the interval's list.
      await store.metrics.saveStatements([
        statement('a', T, '42', 60, { calls: 11 }),
        statement('a', T, '7', 0.25, { calls: 1, rows: 0 }),
      ]);
      const again = await store.metrics.statements({
        resolutionMs: 10_000,
        from: T,
        until: T + 1,
        target: 'a',
      });
      expect(again.map((r) => [r.queryId, r.calls, r.totalExecMs, r.rows])).toEqual([
        ['42', 11, 60, 10],
        ['7', 1, 0.25, 0],
      ]);
      // Other intervals and targets are left as they were.
      expect(
        (await store.metrics.statements({ resolutionMs: 10_000, from: T, until: T + 60_000 })).map((r) => [
          r.target,
          r.at,
          r.queryId,
        ]),
      ).toEqual([
        ['a', T, '42'],
        ['a', T, '7'],
        ['b', T, '42'],
        ['a', T + 10_000, '42'],
      ]);
    });

    it('keeps every metric of a point exactly, fractions and large counters too, absent ones absent', async () => {
      const values = {
        sessions_active: 2 / 3,
        active_cpu: 0.1,
        temp_bytes: 2 ** 52 + 1,
        blocks_read: 0,
        max_connections: 100,
      };
      await store.metrics.savePoints([point('a', T, { values }), point('a', T + 10_000, { values: {} })]);
      expect(
        (await store.metrics.points({ resolutionMs: 10_000, from: T, until: T + 20_000 })).map(
          (p) => p.values,
        ),
      ).toEqual([values, {}]);
    });

    it('sums the samples of a window per target and coarser interval', async () => {
      await store.metrics.savePoints([
        point('a', T, { samples: 3 }),
        point('a', T + 50_000, { samples: 4 }),
        point('a', T + 60_000, { samples: 5 }),
        point('b', T + 10_000, { samples: 6 }),
        point('a', T, { resolutionMs: 60_000, samples: 100 }),
      ]);
      expect(
        await store.metrics.sampleCounts({ resolutionMs: 10_000, from: T, until: T + 120_000 }, 60_000),
      ).toEqual([
        { target: 'a', at: T, samples: 7 },
        { target: 'b', at: T, samples: 6 },
        { target: 'a', at: T + 60_000, samples: 5 },
      ]);
      expect(
        await store.metrics.sampleCounts(
          { resolutionMs: 10_000, from: T, until: T + 60_000, target: 'b' },
          60_000,
        ),
      ).toEqual([{ target: 'b', at: T, samples: 6 }]);
    });

    it('makes partitions ahead and drops expired ones whole, with their points and statements, leaving other resolutions', async () => {
      expect(await store.metrics.preparePartitions(10_000, T, T + 2 * DAY)).toBe(2);
      expect(await store.metrics.preparePartitions(10_000, T, T + 2 * DAY)).toBe(0);
      await store.metrics.savePoints([
        point('a', T - 1),
        point('a', T),
        point('a', T + DAY),
        point('a', T - 1, { resolutionMs: 60_000, at: T - 60_000 }),
      ]);
      await store.metrics.saveStatements([statement('a', T - 10_000, '1', 5), statement('a', T, '1', 5)]);
      const tenSeconds = (await store.metrics.partitions()).filter((p) => p.resolutionMs === 10_000);
      expect(tenSeconds).toEqual([
        { resolutionMs: 10_000, from: T - DAY, until: T },
        { resolutionMs: 10_000, from: T, until: T + DAY },
        { resolutionMs: 10_000, from: T + DAY, until: T + 2 * DAY },
      ]);
      // The partition [T, T + DAY) is not over at T + DAY - 1: only the one before goes.
      expect(await store.metrics.dropPartitions(10_000, T + DAY - 1)).toEqual([
        { resolutionMs: 10_000, from: T - DAY, until: T },
      ]);
      const all = { resolutionMs: 10_000, from: 0, until: T + 10 * DAY };
      expect((await store.metrics.points(all)).map((p) => p.at)).toEqual([T, T + DAY]);
      expect((await store.metrics.statements(all)).map((p) => p.at)).toEqual([T]);
      expect(await store.metrics.points({ resolutionMs: 60_000, from: 0, until: T })).toHaveLength(1);
      expect((await store.metrics.partitions()).filter((p) => p.resolutionMs === 60_000)).toEqual([
        { resolutionMs: 60_000, ...partitionOf(60_000, T - 60_000) },
      ]);
      expect(await store.metrics.dropPartitions(10_000, T + DAY - 1)).toEqual([]);
    });

    it('lists findings of a history window: target, kinds, since/until, keyset', async () => {
      await store.findings.save(
        [
          deadlock('d1', T - 5_000),
          deadlock('d2', T + 1_000),
          deadlock('d3', T + 2_000, { target: 'other-db' }),
          deadlock('d4', T + 3_000),
          episode('e1', T + 1_500, T + 1_800),
          deadlock('d5', T + 9_000),
        ],
        T + 10_000,
      );
      const page = await store.findings.list({
        since: T,
        until: T + 9_000,
        target: 'shop-db',
        kinds: ['deadlock'],
        limit: 1,
      });
      expect(page.map((f) => f.id)).toEqual(['d2']);
      const next = await store.findings.list({
        since: T,
        until: T + 9_000,
        target: 'shop-db',
        kinds: ['deadlock'],
        after: { at: T + 1_000, id: 'd2' },
      });
      expect(next.map((f) => f.id)).toEqual(['d4']);
      expect((await store.findings.list({ since: T, until: T + 2_000 })).map((f) => f.id)).toEqual([
        'd2',
        'e1',
      ]);
    });
  });
}
