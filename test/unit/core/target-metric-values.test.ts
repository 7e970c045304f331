import { describe, expect, it } from 'vitest';
import type { DeadlockFinding } from '../../../src/core/finding.js';
import { createDeadlockTally, targetMetricValues } from '../../../src/core/target-metric-values.js';
import type { Sample } from '../../../src/core/sample.js';
import { T0, counters, sample, session, wait } from '../../support/sample-builder.js';

const deadlock = (id: string, over: Partial<DeadlockFinding> = {}): DeadlockFinding => ({
  kind: 'deadlock',
  id,
  target: 'primary',
  at: T0,
  source: 'live',
  victimPid: null,
  processes: [],
  count: 1,
  database: 'shop',
  ...over,
});

describe('targetMetricValues', () => {
  const s: Sample = {
    ...sample(T0, {
      sessions: [
        session(10, { state: 'idle in transaction', xactStart: T0 - 40_000 }),
        session(11, { waitEventType: 'Lock', xactStart: T0 - 5_000 }),
        session(12, { waitEventType: 'Lock', xactStart: T0 - 3_000 }),
        session(13, { state: 'active', database: 'reports', waitEventType: 'IO' }),
        session(14, { state: 'idle', database: 'reports' }),
        session(15),
        session(16, { backendType: 'checkpointer', state: null, database: null }),
      ],
      lockWaits: [
        wait(11, [10], { waitStart: T0 - 4_500 }),
        wait(12, [11], { waitStart: T0 - 2_000, mode: 'ExclusiveLock', lockType: 'tuple' }),
      ],
      counters: [counters(2, 'shop'), counters(0, 'postgres')],
    }),
    serverNow: T0,
    maxConnections: 100,
  };

  it('maps a sample to sessions, locks and waits', () => {
    const v = targetMetricValues(s);
    // Every state of every database, zeros included; the longest transaction per state.
    expect(v.sessions).toHaveLength(3 * 6);
    expect(v.sessions.filter((x) => x.count > 0)).toEqual([
      { database: 'reports', state: 'active', count: 1, maxTxSeconds: 0 },
      { database: 'reports', state: 'idle', count: 1, maxTxSeconds: 0 },
      { database: 'shop', state: 'active', count: 3, maxTxSeconds: 5 },
      { database: 'shop', state: 'idle in transaction', count: 1, maxTxSeconds: 40 },
    ]);
    expect(v.backends).toEqual([
      { database: 'postgres', count: 0 },
      { database: 'reports', count: 2 },
      { database: 'shop', count: 4 },
    ]);
    expect(v.connections).toBe(6);
    expect(v.maxConnections).toBe(100);
    expect(v.blockedSessions).toBe(2);
    expect(v.longestBlockSeconds).toBe(4.5);
    expect(v.rootBlockers).toEqual([{ state: 'idle in transaction', count: 1 }]);
    expect(v.lockWaits).toEqual([
      { mode: 'ShareLock', count: 1 },
      { mode: 'ExclusiveLock', count: 1 },
    ]);
    expect(v.activeByWait).toEqual([
      { waitEventType: 'Lock', count: 2 },
      { waitEventType: 'IO', count: 1 },
      { waitEventType: 'CPU', count: 1 },
    ]);
    expect(v.split.behind).toEqual([{ pid: 10, waiters: 2 }]);
    expect(v.databases.map((d) => d.database)).toEqual(['shop', 'postgres']);
  });

  it('is quiet on a quiet server', () => {
    const v = targetMetricValues(sample(T0, { sessions: [session(1, { state: 'idle' })] }));
    expect(v.blockedSessions).toBe(0);
    expect(v.longestBlockSeconds).toBe(0);
    expect(v.rootBlockers).toEqual([]);
    expect(v.lockWaits).toEqual([]);
    expect(v.maxConnections).toBeNull();
  });

  it('names a root that left between the reads as unknown', () => {
    const v = targetMetricValues(sample(T0, { sessions: [session(11)], lockWaits: [wait(11, [99])] }));
    expect(v.rootBlockers).toEqual([{ state: 'unknown', count: 1 }]);
  });
});

describe('createDeadlockTally', () => {
  it('counts a live deadlock and its log report once, and counter findings by their count', () => {
    const tally = createDeadlockTally();
    expect(tally.record(deadlock('d1'))).toBe(1);
    // The server log's report, re-emitted under the live finding's id.
    expect(tally.record(deadlock('d1', { source: 'log', victimPid: 11 }))).toBe(0);
    expect(tally.record(deadlock('d2', { source: 'log' }))).toBe(1);
    expect(tally.record(deadlock('d3', { source: 'counter', count: 3 }))).toBe(3);
    expect(tally.total).toBe(5);
  });

  it('keeps counting once old ids are forgotten', () => {
    const tally = createDeadlockTally();
    for (let i = 0; i < 1_500; i += 1) tally.record(deadlock(`d${i}`));
    expect(tally.total).toBe(1_500);
    expect(tally.record(deadlock('d1499'))).toBe(0);
  });
});
