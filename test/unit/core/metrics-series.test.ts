import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_METRICS_TIERS,
  DAY,
  downsample,
  downsampleStatements,
  partitionOf,
  resolutionFor,
  rollupWindow,
  tierProblems,
  windowTopStatements,
} from '../../../src/core/metrics-downsampling.js';
import {
  seriesAccumulator,
  seriesValue,
  type SeriesPoint,
  type StatementPoint,
} from '../../../src/core/metrics-series.js';
import type { DatabaseCounters, Sample } from '../../../src/core/sample.js';
import { T0, sample, session, wait } from '../../support/sample-builder.js';

const db = (over: Partial<DatabaseCounters> = {}): DatabaseCounters => ({
  database: 'shop',
  commits: 0,
  rollbacks: 0,
  deadlocks: 0,
  conflicts: 0,
  tempBytes: 0,
  blocksHit: 0,
  blocksRead: 0,
  ...over,
});

const at = (s: Sample, over: Partial<Sample>): Sample => ({ ...s, ...over });

describe('series points from samples', () => {
  it('counts sessions by state, active backends by wait (CPU = no wait), ages, connections', () => {
    const acc = seriesAccumulator({ target: 'primary' });
    const busy = at(
      sample(T0, {
        sessions: [
          session(1), // working
          session(2, { waitEventType: 'Lock', waitEvent: 'transactionid' }),
          session(3, { waitEventType: 'Lock', waitEvent: 'tuple' }),
          session(4, { waitEventType: 'IO', waitEvent: 'DataFileRead', xactStart: T0 - 90_000 }),
          session(5, { state: 'idle in transaction', xactStart: T0 - 60_000, stateChange: T0 - 45_000 }),
          session(6, { state: 'idle' }),
          session(7, { backendType: 'autovacuum worker', state: null }),
        ],
        lockWaits: [wait(2, [5]), wait(3, [2])],
        counters: [db({ commits: 100 })],
      }),
      { maxConnections: 100, serverNow: T0 },
    );
    expect(acc.add(busy)).toBeNull();
    const closed = acc.add(sample(T0 + 10_000));
    expect(closed?.point).toMatchObject({ target: 'primary', at: T0, resolutionMs: 10_000, samples: 1 });
    expect(closed?.point.values).toMatchObject({
      sessions_active: 4,
      sessions_idle: 1,
      sessions_idle_in_transaction: 1,
      active_cpu: 1,
      active_lock: 2,
      active_io: 1,
      lock_waits: 2,
      connections: 7, // six client backends and the sampler
      max_connections: 100,
      longest_transaction_ms: 90_000,
      oldest_idle_in_transaction_ms: 45_000,
      commits: 0, // the first sight of a database is its baseline
    });
  });

  it('adds counter deltas over the interval, a reset counting from 0, and averages gauges', () => {
    const acc = seriesAccumulator({ target: 'primary' });
    const s = (t: number, c: Partial<DatabaseCounters>, active: number): Sample =>
      sample(t, { counters: [db(c)], sessions: Array.from({ length: active }, (_, i) => session(i + 1)) });
    acc.add(
      s(T0 - 1_000, { commits: 1_000, rollbacks: 10, blocksHit: 900, blocksRead: 100, tempBytes: 0 }, 0),
    );
    acc.add(s(T0, { commits: 1_050, rollbacks: 10, blocksHit: 1_800, blocksRead: 200, tempBytes: 4096 }, 2));
    acc.add(
      s(T0 + 1_000, { commits: 1_060, rollbacks: 15, blocksHit: 2_700, blocksRead: 300, tempBytes: 4096 }, 4),
    );
    // pg_stat_reset(): counters go down, what they show is what happened since.
    acc.add(s(T0 + 2_000, { commits: 5, rollbacks: 0, blocksHit: 90, blocksRead: 10, tempBytes: 0 }, 0));
    const closed = acc.add(s(T0 + 10_000, {}, 0));
    const v = closed?.point.values;
    expect(closed?.point.samples).toBe(3);
    expect(v).toMatchObject({
      commits: 65,
      rollbacks: 5,
      temp_bytes: 4096,
      blocks_hit: 1_890,
      blocks_read: 210,
      sessions_active: 2,
    });
    expect(closed && seriesValue(closed.point, 'cache_hit_ratio')).toBeCloseTo(0.9);
    expect(closed && seriesValue(closed.point, 'rollback_ratio')).toBeCloseTo(5 / 70);
    expect(closed && seriesValue(closed.point, 'connections_used_ratio')).toBeNull();
  });

  it('sums statement deltas per query id over the interval and keeps the top by total time', () => {
    const acc = seriesAccumulator({ target: 'primary', topStatements: 2, statementsResolutionMs: 10_000 });
    const st = (queryId: string, calls: number, totalExecMs: number) => ({
      queryId,
      query: `q${queryId}`,
      calls,
      totalExecMs,
      rows: calls,
    });
    acc.add({ ...sample(T0), statements: [st('1', 1, 5), st('2', 10, 20), st('3', 1, 1)] });
    acc.add({ ...sample(T0 + 5_000), statements: [st('1', 2, 30)] });
    acc.add({ ...sample(T0 + 6_000), statements: null });
    const closed = acc.close(T0 + 10_000);
    expect(closed?.statements.map((s) => [s.queryId, s.calls, s.totalExecMs])).toEqual([
      ['1', 3, 35],
      ['2', 10, 20],
    ]);
    expect(acc.close(T0 + 20_000)).toBeNull();
  });

  it('keeps statements per minute by default: they close with the point that ends their minute, or with the next point after the target stopped', () => {
    const acc = seriesAccumulator({ target: 'primary' });
    const st = (queryId: string, calls: number) => ({
      queryId,
      query: `q${queryId}`,
      calls,
      totalExecMs: calls,
      rows: 0,
    });
    acc.add({ ...sample(T0), statements: [st('1', 1)] });
    const first = acc.add({ ...sample(T0 + 10_000), statements: [] });
    expect(first?.statements).toEqual([]);
    acc.add({ ...sample(T0 + 50_000), statements: [st('1', 2), st('2', 1)] });
    const minute = acc.add({ ...sample(T0 + 60_000), statements: [st('2', 5)] });
    expect(minute?.point.at).toBe(T0 + 50_000);
    expect(minute?.statements.map((s) => [s.at, s.resolutionMs, s.queryId, s.calls])).toEqual([
      [T0, 60_000, '1', 3],
      [T0, 60_000, '2', 1],
    ]);
    // The target stops: the point closes after 10 s, its minute's statements only once the minute is over…
    expect(acc.close(T0 + 70_000)?.statements).toEqual([]);
    expect(acc.close(T0 + 120_000)).toBeNull();
    // …and go out with the next point.
    acc.add(sample(T0 + 300_000));
    const back = acc.close(T0 + 310_000);
    expect(back?.statements.map((s) => [s.at, s.queryId, s.calls])).toEqual([[T0 + 60_000, '2', 5]]);
  });

  it("keeps the host's figures beside the sample's when the host is read: CPU, load, memory, disk, backend cores", () => {
    const acc = seriesAccumulator({ target: 'primary' });
    const host = (cpuBusy: number, disk: boolean) => ({
      at: T0,
      cpuBusy,
      cpus: 2,
      load: [1.5, 1, 0.5] as const,
      memory: { totalBytes: 8_000, availableBytes: 3_000 },
      disk: disk ? { path: '/', totalBytes: 100_000, freeBytes: 40_000 } : null,
      backends: [],
      backendCores: 0.5,
    });
    acc.add(sample(T0), host(0.2, true));
    acc.add(sample(T0 + 5_000), host(0.6, false));
    acc.add(sample(T0 + 6_000));
    const closed = acc.close(T0 + 10_000);
    // Means over the samples that had the host's figures, not over all of the interval's.
    expect(closed?.point.values).toMatchObject({
      host_cpu_busy: 0.4,
      host_load1: 1.5,
      host_memory_used_bytes: 5_000,
      host_memory_total_bytes: 8_000,
      host_disk_used_bytes: 60_000,
      host_disk_total_bytes: 100_000,
      host_backend_cores: 0.5,
    });
    expect(closed?.point.samples).toBe(3);
    expect(closed && seriesValue(closed.point, 'host_cpu_busy')).toBeCloseTo(0.4);
  });

  it('closes an interval only once it has ended', () => {
    const acc = seriesAccumulator({ target: 'primary' });
    acc.add(sample(T0 + 1_000));
    expect(acc.close(T0 + 9_999)).toBeNull();
    expect(acc.close(T0 + 10_000)?.point.at).toBe(T0);
  });
});

const point = (target: string, atMs: number, values: SeriesPoint['values'], samples = 10): SeriesPoint => ({
  target,
  at: atMs,
  resolutionMs: 10_000,
  samples,
  values,
});

describe('downsampling', () => {
  it('weights means by samples, keeps maxima and adds sums', () => {
    const [m] = downsample(
      [
        point('a', T0, { sessions_active: 2, longest_transaction_ms: 100, commits: 5 }, 10),
        point('a', T0 + 10_000, { sessions_active: 8, longest_transaction_ms: 50, commits: 7 }, 5),
      ],
      60_000,
    );
    expect(m).toMatchObject({ target: 'a', at: T0, resolutionMs: 60_000, samples: 15 });
    expect(m?.values.sessions_active).toBeCloseTo((2 * 10 + 8 * 5) / 15);
    expect(m?.values).toMatchObject({ longest_transaction_ms: 100, commits: 12 });
  });

  const arbPoint = fc.record({
    target: fc.constantFrom('a', 'b'),
    slot: fc.integer({ min: 0, max: 359 }),
    samples: fc.integer({ min: 1, max: 10 }),
    active: fc.double({ min: 0, max: 500, noNaN: true }),
    tx: fc.double({ min: 0, max: 1e7, noNaN: true }),
    commits: fc.integer({ min: 0, max: 1e6 }),
  });
  const toPoints = (
    raw: { target: string; slot: number; samples: number; active: number; tx: number; commits: number }[],
  ) => {
    const seen = new Set<string>();
    return raw
      .filter((r) => !seen.has(`${r.target}/${r.slot}`) && seen.add(`${r.target}/${r.slot}`))
      .map((r) =>
        point(
          r.target,
          T0 + r.slot * 10_000,
          { sessions_active: r.active, longest_transaction_ms: r.tx, commits: r.commits },
          r.samples,
        ),
      );
  };

  it('loses no count, no sample and no peak, and downsampling in steps equals doing it at once (property)', () => {
    fc.assert(
      fc.property(fc.array(arbPoint, { maxLength: 200 }), (raw) => {
        const points = toPoints(raw);
        const direct = downsample(points, 3_600_000);
        const stepped = downsample(downsample(points, 60_000), 3_600_000);
        const total = (ps: SeriesPoint[], f: (p: SeriesPoint) => number) => ps.reduce((n, p) => n + f(p), 0);
        expect(total(direct, (p) => p.values.commits ?? 0)).toBe(total(points, (p) => p.values.commits ?? 0));
        expect(total(direct, (p) => p.samples)).toBe(total(points, (p) => p.samples));
        expect(Math.max(0, ...direct.map((p) => p.values.longest_transaction_ms ?? 0))).toBe(
          Math.max(0, ...points.map((p) => p.values.longest_transaction_ms ?? 0)),
        );
        expect(stepped.length).toBe(direct.length);
        stepped.forEach((p, i) => {
          const d = direct[i];
          expect(p.at).toBe(d?.at);
          expect(p.samples).toBe(d?.samples);
          expect(p.values.commits).toBe(d?.values.commits);
          expect(p.values.sessions_active ?? 0).toBeCloseTo(d?.values.sessions_active ?? 0, 6);
        });
      }),
    );
  });

  it('keeps the top statements of each coarser interval, summed by query id', () => {
    const st = (atMs: number, queryId: string, totalExecMs: number): StatementPoint => ({
      target: 'a',
      at: atMs,
      resolutionMs: 10_000,
      queryId,
      query: `q${queryId}`,
      calls: 1,
      totalExecMs,
      rows: 1,
    });
    const rows = [
      st(T0, '1', 10),
      st(T0 + 10_000, '1', 10),
      st(T0, '2', 15),
      st(T0, '3', 1),
      st(T0 + 60_000, '3', 99),
    ];
    expect(
      downsampleStatements(rows, 60_000, 2).map((s) => [s.at, s.queryId, s.totalExecMs, s.calls]),
    ).toEqual([
      [T0, '1', 20, 2],
      [T0, '2', 15, 1],
      [T0 + 60_000, '3', 99, 1],
    ]);
    expect(windowTopStatements(rows, 2).map((s) => [s.queryId, s.totalExecMs])).toEqual([
      ['3', 100],
      ['1', 20],
    ]);
  });
});

describe('tiers, partitions and the plan of the job', () => {
  it('accepts the default tiers and names what is wrong with others', () => {
    expect(tierProblems(DEFAULT_METRICS_TIERS)).toEqual([]);
    expect(
      tierProblems([
        { resolutionMs: 10_000, keepMs: DAY },
        { resolutionMs: 15_000, keepMs: DAY },
      ]),
    ).toEqual(['resolution 2 must be a multiple of resolution 1, and coarser']);
    expect(tierProblems([])).toHaveLength(1);
  });

  it('answers a window from the finest tier that still holds it', () => {
    const now = T0;
    expect(resolutionFor(DEFAULT_METRICS_TIERS, { from: now - DAY, to: now, now })).toBe(10_000);
    expect(resolutionFor(DEFAULT_METRICS_TIERS, { from: now - DAY - 1, to: now, now })).toBe(60_000);
    expect(resolutionFor(DEFAULT_METRICS_TIERS, { from: now - 6 * DAY, to: now, now })).toBe(60_000);
    // A week at 1 min is over 10,000 points: an hour's resolution draws it.
    expect(resolutionFor(DEFAULT_METRICS_TIERS, { from: now - 7 * DAY, to: now, now })).toBe(3_600_000);
    expect(resolutionFor(DEFAULT_METRICS_TIERS, { from: now - 90 * DAY, to: now, now })).toBe(3_600_000);
    // An hour a month ago: 1 min still holds it.
    expect(
      resolutionFor(DEFAULT_METRICS_TIERS, { from: now - 29 * DAY, to: now - 29 * DAY + 3_600_000, now }),
    ).toBe(60_000);
  });

  it('sizes partitions from a day (10 s) to 30 days (1 h) and aligns them', () => {
    expect(partitionOf(10_000, T0 + 5)).toEqual({
      from: Math.floor(T0 / DAY) * DAY,
      until: Math.floor(T0 / DAY) * DAY + DAY,
    });
    const hour = partitionOf(3_600_000, T0);
    expect(hour.until - hour.from).toBe(30 * DAY);
  });

  it('rolls up from the bucket after the last one (or past a gap, the next finer point), up to the last bucket ended lagMs ago', () => {
    const tier = { resolutionMs: 60_000, keepMs: 30 * DAY };
    const now = T0 + 10 * 60_000 + 30_000;
    expect(rollupWindow(tier, { lastAt: null, nextFinerAt: null }, now)).toBeNull();
    expect(rollupWindow(tier, { lastAt: T0 - 60_000, nextFinerAt: null }, now)).toBeNull();
    expect(rollupWindow(tier, { lastAt: null, nextFinerAt: T0 + 15_000 }, now, { lagMs: 60_000 })).toEqual({
      from: T0,
      until: T0 + 9 * 60_000,
    });
    expect(
      rollupWindow(tier, { lastAt: T0 + 8 * 60_000, nextFinerAt: T0 + 9 * 60_000 }, now, { lagMs: 60_000 }),
    ).toBeNull();
    expect(
      rollupWindow(tier, { lastAt: T0, nextFinerAt: T0 + 60_000 }, now, { lagMs: 0, maxBuckets: 3 }),
    ).toEqual({
      from: T0 + 60_000,
      until: T0 + 4 * 60_000,
    });
    // Nothing between T0 and T0 + 7 min: the window starts at the next data.
    expect(
      rollupWindow(tier, { lastAt: T0, nextFinerAt: T0 + 7 * 60_000 + 5_000 }, now, {
        lagMs: 0,
        maxBuckets: 2,
      }),
    ).toEqual({
      from: T0 + 7 * 60_000,
      until: T0 + 9 * 60_000,
    });
  });
});
