import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsMaintenance } from '../../../src/app/metrics-maintenance.js';
import { MetricsQueries } from '../../../src/app/metrics-queries.js';
import { MetricsRecorder } from '../../../src/app/metrics-recorder.js';
import type { IncidentStore } from '../../../src/core/incident-store.js';
import { DAY } from '../../../src/core/metrics-downsampling.js';
import { MetricsLoop } from '../../../src/engine/metrics-loop.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { FakeClock } from '../../support/fake-clock.js';
import { sample, session } from '../../support/sample-builder.js';

const HOUR = 3_600_000;
/** Midnight UTC: the start of a day's 10 s partition. */
const T = Date.UTC(2026, 10, 2);

/** Samples every 10 s in these windows only: three hours on day 0, ten minutes on day 2. */
const ACTIVE = [
  [T, T + 3 * HOUR],
  [T + 2 * DAY, T + 2 * DAY + 10 * 60_000],
] as const;
const isActive = (t: number): boolean => ACTIVE.some(([from, until]) => t >= from && t < until);

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('metrics_job');
});
afterAll(async () => {
  await db.drop();
});

describe.each([
  ['MemoryStore', () => Promise.resolve(new MemoryStore() as IncidentStore)],
  ['PostgresStore', async () => (await PostgresStore.open({ url: db.url })) as IncidentStore],
])('the downsampling job on a fake clock (%s)', (_name, open) => {
  it('rolls 10 s points up to 1 min and 1 h, losing no count, and drops the 10 s partition once a day old', async () => {
    const store = await open();
    try {
      const clock = new FakeClock(T);
      const failures: unknown[] = [];
      const recorder = new MetricsRecorder({ store, onError: (error) => failures.push(error) });
      let commits = 0;
      let next = T;
      const until = T + 2 * DAY + 15 * 60_000;
      const controller = new AbortController();
      const loop = new MetricsLoop(new MetricsMaintenance({ store }), {
        signal: controller.signal,
        clock,
        logger: { error: (obj: unknown) => failures.push(obj) },
        intervalMs: 10 * 60_000,
        // Time passes only while the loop waits: the samples of that time are recorded meanwhile.
        sleep: async (ms) => {
          const end = Math.min(clock.now() + ms, until);
          for (; next < end; next += 10_000) {
            if (!isActive(next)) continue;
            commits += 5;
            recorder.record({
              ...sample(next, {
                sessions: [session(1), session(2, { waitEventType: 'Lock' })],
                counters: [{ database: 'shop', commits, rollbacks: 0, deadlocks: 0, conflicts: 0 }],
              }),
              maxConnections: 100,
            });
          }
          clock.set(end);
          // What serve does after every sample attempt: an interval whose target went quiet is closed.
          recorder.closeIdle(end);
          await recorder.flushed();
          if (end >= until) controller.abort();
        },
      });
      await loop.run();
      expect(failures).toEqual([]);

      const m = store.metrics;
      const sum = (ps: { values: { commits?: number } }[]) =>
        ps.reduce((n, p) => n + (p.values.commits ?? 0), 0);
      const day0 = { from: T, until: T + DAY, target: 'primary' };
      // Every delta but the first sample's (its baseline) is in each coarser tier.
      const perMinute = await m.points({ resolutionMs: 60_000, ...day0 });
      const perHour = await m.points({ resolutionMs: HOUR, ...day0 });
      expect(perMinute).toHaveLength(180);
      expect(perHour.map((p) => [p.at - T, p.samples])).toEqual([
        [0, 360],
        [HOUR, 360],
        [2 * HOUR, 360],
      ]);
      expect(sum(perMinute)).toBe(5 * (3 * 360 - 1));
      expect(sum(perHour)).toBe(5 * (3 * 360 - 1));
      expect(perHour[0]?.values).toMatchObject({
        active_cpu: 1,
        active_lock: 1,
        connections: 3,
        max_connections: 100,
      });

      // Day 0's 10 s partition is over a day old at T + 2 days: dropped whole, day 2's kept.
      expect(await m.points({ resolutionMs: 10_000, ...day0 })).toEqual([]);
      const tenSecondPartitions = (await m.partitions())
        .filter((p) => p.resolutionMs === 10_000)
        .map((p) => (p.from - T) / DAY);
      expect(tenSecondPartitions).not.toContain(0);
      expect(tenSecondPartitions).toContain(2);
      expect(
        await m.points({ resolutionMs: 10_000, from: T + 2 * DAY, until, target: 'primary' }),
      ).toHaveLength(60);
      // Partitions ahead: the next day of 10 s points has its partition already.
      expect(tenSecondPartitions).toContain(3);

      // A day ending now is read at 10 s; two days at 1 min, the newest minutes (not rolled up yet) at 10 s.
      const queries = new MetricsQueries({ store });
      const now = clock.now();
      const day = await queries.series(
        { target: 'primary', metric: 'commits', from: now - DAY, to: now },
        now,
      );
      expect(day.resolutionMs).toBe(10_000);
      expect(day.points).toHaveLength(60);
      const twoDays = await queries.series({ target: 'primary', metric: 'commits', from: T, to: now }, now);
      expect(twoDays.resolutionMs).toBe(60_000);
      expect(twoDays.points.reduce((n, p) => n + (p.value ?? 0), 0)).toBe(commits - 5);
    } finally {
      await store.close();
    }
  });
});
