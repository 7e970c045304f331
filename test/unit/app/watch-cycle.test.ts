import { describe, expect, it } from 'vitest';
import { WatchCycle } from '../../../src/app/watch-cycle.js';
import type { FindingDetector } from '../../../src/core/finding-detector.js';
import { transientError, userError } from '../../../src/core/errors.js';
import type { Finding } from '../../../src/core/finding.js';
import type { DeadlockReport } from '../../../src/core/log-event.js';
import type { RelationRef, TargetReader } from '../../../src/core/ports.js';
import type { Sample } from '../../../src/core/sample.js';

const emptySample = (at: number): Sample => ({
  target: 't',
  takenAt: at,
  serverMs: 0.3,
  sessions: [],
  lockWaits: [],
  counters: [],
  statements: null,
});

/** A reader that plays a script: a Sample, or an error to throw. */
class ScriptedReader implements TargetReader {
  readonly name = 't';
  readonly asked: RelationRef[][] = [];
  readonly #script: (Sample | Error)[];
  constructor(script: (Sample | Error)[]) {
    this.#script = script;
  }
  sample(): Promise<Sample> {
    const next = this.#script.shift();
    if (next === undefined) throw new Error('script exhausted');
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  }
  relationNames(refs: readonly RelationRef[]): Promise<ReadonlyMap<string, string>> {
    this.asked.push([...refs]);
    return Promise.resolve(new Map([['5/16385', 'public.inventory']]));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A detector that records what it was told and reports one finding per call. */
class RecordingDetector implements FindingDetector {
  readonly calls: string[] = [];
  readonly reports: DeadlockReport[] = [];
  onSample(): Finding[] {
    this.calls.push('sample');
    return [];
  }
  /** What `onDeadlockReport` answers. */
  onDeadlock: Finding[] = [];
  onDeadlockReport(report: DeadlockReport): Finding[] {
    this.reports.push(report);
    return this.onDeadlock;
  }
  onUnreachable(reason: string): Finding[] {
    this.calls.push(`unreachable: ${reason}`);
    return [{ kind: 'target_unreachable', id: 'u1', target: 't', at: 0, reason }];
  }
  onReachable(): Finding[] {
    this.calls.push('reachable');
    return [{ kind: 'target_recovered', id: 'r1', target: 't', at: 0, downMs: 1 }];
  }
}

const setup = (script: (Sample | Error)[]) => {
  const reader = new ScriptedReader(script);
  const detector = new RecordingDetector();
  const published: Finding[] = [];
  const cycle = new WatchCycle({ reader, detector, sink: { publish: (f) => published.push(f) } });
  return { cycle, reader, detector, published, signal: new AbortController().signal };
};

describe('WatchCycle', () => {
  it('feeds samples to the detector and keeps the last one for the view', async () => {
    const { cycle, detector, signal } = setup([emptySample(1), emptySample(2)]);
    await cycle.tick(signal);
    await cycle.tick(signal);
    expect(detector.calls).toEqual(['sample', 'sample']);
    expect(cycle.state.lastSample?.takenAt).toBe(2);
    expect(cycle.state.samplesTaken).toBe(2);
  });

  it('turns an outage into findings and goes on: unreachable, then recovered', async () => {
    const down = transientError('TEST_TARGET_UNREACHABLE', 'connection refused');
    const { cycle, detector, published, signal } = setup([emptySample(1), down, down, emptySample(4)]);
    for (let i = 0; i < 4; i++) await cycle.tick(signal);
    expect(detector.calls).toEqual([
      'sample',
      'unreachable: connection refused',
      'unreachable: connection refused',
      'reachable',
      'sample',
    ]);
    expect(published.map((f) => f.kind)).toEqual([
      'target_unreachable',
      'target_unreachable',
      'target_recovered',
    ]);
    expect(cycle.state.reachable).toBe(true);
  });

  it('stops on a user error before the first good sample (a bad password will not fix itself)', async () => {
    const { cycle, signal } = setup([
      userError('TEST_TARGET_AUTH_FAILED', 'password authentication failed for user "x"'),
    ]);
    await expect(cycle.tick(signal)).rejects.toThrow(/password authentication failed/);
  });

  it('does not stop on a user error once the target has answered (a grant revoked mid-incident is reported, not fatal)', async () => {
    const { cycle, detector, signal } = setup([
      emptySample(1),
      userError('TEST_TARGET_PRIVILEGE', 'permission denied'),
    ]);
    await cycle.tick(signal);
    await cycle.tick(signal);
    expect(detector.calls.at(-1)).toBe('unreachable: permission denied');
  });

  it('hands a log deadlock report to the detector as it came (the adapter has named its relations) and publishes what it finds', () => {
    const { cycle, reader, detector, published } = setup([]);
    const report: DeadlockReport = {
      at: 0,
      victimPid: 2,
      database: 'shop',
      processes: [
        {
          pid: 1,
          waitsForMode: 'ShareLock',
          waitsForObject: 'transaction 9',
          relation: null,
          blockedBy: 2,
          query: 'UPDATE a',
        },
        {
          pid: 2,
          waitsForMode: 'ExclusiveLock',
          waitsForObject: 'tuple (0,1) of relation 16385 of database 5',
          relation: 'public.inventory',
          blockedBy: 1,
          query: 'UPDATE b',
        },
      ],
    };
    detector.onDeadlock = [{ kind: 'target_recovered', id: 'd1', target: 't', at: 0, downMs: 0 }];
    cycle.onDeadlockReport(report);
    expect(detector.reports).toEqual([report]);
    expect(reader.asked).toEqual([]);
    expect(published.map((f) => f.id)).toEqual(['d1']);
    expect(cycle.state.recentFindings.map((f) => f.id)).toEqual(['d1']);
  });
});
