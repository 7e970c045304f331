import { describe, expect, it } from 'vitest';
import type { WatchState } from '../../../src/app/watch-cycle.js';
import type { HostReader, HostReading } from '../../../src/core/host-figures.js';
import type { Sample } from '../../../src/core/sample.js';
import { TargetMetricsBoard } from '../../../src/engine/target-metrics-board.js';
import { T0, sample, session } from '../../support/sample-builder.js';

const state = (s: Sample, reachable = true): WatchState => ({
  target: 'primary',
  reachable,
  problem: null,
  lastSample: s,
  samplesTaken: 1,
  recentFindings: [],
});

const reading = (at: number, ticks: number): HostReading => ({
  at,
  cpuTicks: { total: at / 10, idle: 0 },
  cpus: 1,
  load: [0, 0, 0],
  memory: { totalBytes: 1, availableBytes: 1 },
  disk: null,
  processTicks: new Map([[1, ticks]]),
  ticksPerSecond: 100,
});

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('TargetMetricsBoard', () => {
  it('computes a sample’s values once, when first read', () => {
    const board = new TargetMetricsBoard({ logger: { warn: () => undefined } });
    const s = sample(T0, { sessions: [session(1)] });
    board.sampled('primary', state(s));
    const first = board.views()[0]?.values;
    expect(first?.connections).toBe(1);
    expect(board.views()[0]?.values).toBe(first);
    board.sampled('primary', state(sample(T0 + 1000, { sessions: [session(1), session(2)] })));
    expect(board.views()[0]?.values?.connections).toBe(2);
  });

  it('shows a configured target as down before its first sample', () => {
    const board = new TargetMetricsBoard({ logger: { warn: () => undefined } });
    board.known('primary');
    expect(board.views()).toEqual([
      { target: 'primary', reachable: false, values: null, deadlocks: 0, host: null },
    ]);
  });

  it('keeps the last good sample while the target is down, with pg_up 0', () => {
    const board = new TargetMetricsBoard({ logger: { warn: () => undefined } });
    const s = sample(T0, { sessions: [session(1)] });
    board.sampled('primary', state(s));
    board.sampled('primary', state(s, false));
    const view = board.views()[0];
    expect(view?.reachable).toBe(false);
    expect(view?.values?.connections).toBe(1);
  });

  it('reads the host once per sample, asks only for non-idle sessions, and drops figures when the host is no longer readable', async () => {
    const asked: number[][] = [];
    const answers: (HostReading | null)[] = [reading(T0, 0), reading(T0 + 1000, 50), null];
    const reader: HostReader = {
      read: (pids) => {
        asked.push([...pids]);
        return Promise.resolve(answers.shift() ?? null);
      },
    };
    const board = new TargetMetricsBoard({ hostReader: () => reader, logger: { warn: () => undefined } });
    const at = (t: number) => sample(t, { sessions: [session(1), session(2, { state: 'idle' })] });
    board.sampled('primary', state(at(T0)));
    await tick();
    expect(board.views()[0]?.host).toBeNull(); // one reading: no interval yet
    board.sampled('primary', state(at(T0 + 1000)));
    await tick();
    expect(board.views()[0]?.host?.backends).toEqual([expect.objectContaining({ pid: 1, cores: 0.5 })]);
    board.sampled('primary', state(at(T0 + 2000)));
    await tick();
    expect(board.views()[0]?.host).toBeNull();
    expect(asked).toEqual([[1], [1], [1]]);
  });

  it('skips a host read while one is still running', async () => {
    let release: (r: HostReading | null) => void = () => undefined;
    let reads = 0;
    const reader: HostReader = {
      read: () => {
        reads += 1;
        return new Promise((resolve) => {
          release = resolve;
        });
      },
    };
    const board = new TargetMetricsBoard({ hostReader: () => reader, logger: { warn: () => undefined } });
    board.sampled('primary', state(sample(T0, { sessions: [session(1)] })));
    board.sampled('primary', state(sample(T0 + 1000, { sessions: [session(1)] })));
    expect(reads).toBe(1);
    release(null);
    await tick();
    board.sampled('primary', state(sample(T0 + 2000, { sessions: [session(1)] })));
    expect(reads).toBe(2);
  });
});
