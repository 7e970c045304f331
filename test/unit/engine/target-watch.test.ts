import { describe, expect, it } from 'vitest';
import { transientError, userError } from '../../../src/core/errors.js';
import type { Finding } from '../../../src/core/finding.js';
import { createFindingDetector } from '../../../src/core/finding-detector.js';
import type { DeadlockReport } from '../../../src/core/log-event.js';
import type { ServerLogHandlers, ServerLogSource, TargetReader } from '../../../src/core/ports.js';
import type { Sample } from '../../../src/core/sample.js';
import { startTargetWatch } from '../../../src/engine/target-watch.js';
import { FakeClock } from '../../support/fake-clock.js';

const sample = (at: number): Sample => ({
  target: 't',
  takenAt: at,
  serverMs: 0.3,
  sessions: [],
  lockWaits: [],
  counters: [],
  statements: null,
});

/** A reader that plays a script (a Sample or an error per call, the last one repeated); counts closes. */
class ScriptedReader implements TargetReader {
  readonly name = 't';
  closed = 0;
  calls = 0;
  readonly #script: (Sample | Error)[];
  constructor(script: (Sample | Error)[]) {
    this.#script = script;
  }
  sample(): Promise<Sample> {
    this.calls++;
    const next = this.#script.length > 1 ? this.#script.shift() : this.#script[0];
    if (next === undefined) return Promise.reject(new Error('empty script'));
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  }
  relationNames(): Promise<ReadonlyMap<string, string>> {
    return Promise.reject(new Error('the watch must not name relations: the log source does'));
  }
  close(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }
}

/** A log source the test drives: `handlers` once following, `fail` to reject at the start. */
class DrivenLog implements ServerLogSource {
  handlers: ServerLogHandlers | null = null;
  aborted = false;
  readonly #fail: Error | null;
  constructor(fail: Error | null = null) {
    this.#fail = fail;
  }
  async follow(handlers: ServerLogHandlers, signal: AbortSignal): Promise<void> {
    if (this.#fail) throw this.#fail;
    this.handlers = handlers;
    await new Promise<void>((resolve) => {
      signal.addEventListener('abort', () => {
        resolve();
      });
    });
    this.aborted = true;
  }
}

const deadlock: DeadlockReport = {
  at: 1_000,
  victimPid: 2,
  database: 'shop',
  processes: [
    {
      pid: 1,
      waitsForMode: 'ShareLock',
      waitsForObject: 'transaction 9',
      relation: 'public.products',
      blockedBy: 2,
      query: 'UPDATE products SET price = $1',
    },
    {
      pid: 2,
      waitsForMode: 'ShareLock',
      waitsForObject: 'transaction 8',
      relation: 'public.inventory',
      blockedBy: 1,
      query: 'UPDATE inventory SET qty = $1',
    },
  ],
};

const until = async (what: string, ok: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
};

const start = (reader: ScriptedReader, serverLog: ServerLogSource | null, signal?: AbortSignal) => {
  const published: Finding[] = [];
  const errors: unknown[] = [];
  const clock = new FakeClock();
  let n = 0;
  const watch = startTargetWatch(
    { intervalMs: 10, ...(signal ? { signal } : {}) },
    {
      reader,
      detector: createFindingDetector({ target: 't', clock, ids: { next: (prefix) => `${prefix}-${++n}` } }),
      serverLog,
      sink: { publish: (finding) => published.push(finding) },
      logger: { error: (...args: unknown[]) => errors.push(args) },
    },
  );
  return { watch, published, errors };
};

describe('startTargetWatch', () => {
  it('samples, takes deadlock reports and log counts from the log source, and publishes findings to the sink', async () => {
    const reader = new ScriptedReader([sample(1)]);
    const log = new DrivenLog();
    const { watch, published } = start(reader, log);
    const notes: string[] = [];
    let sampled = 0;
    watch.listen({ note: (text) => notes.push(text), sampled: () => sampled++ });
    await until('two samples', () => watch.state.samplesTaken >= 2 && log.handlers !== null);
    log.handlers?.onSignal('lock_timeout');
    log.handlers?.onSignal('lock_timeout');
    log.handlers?.onProblem('log file rotated; now reading b.log from the start');
    log.handlers?.onDeadlock(deadlock);

    expect(published.map((f) => f.kind)).toEqual(['deadlock']);
    expect(watch.state.recentFindings.map((f) => f.kind)).toEqual(['deadlock']);
    expect(watch.state.logCounts.get('lock_timeout')).toBe(2);
    expect(watch.state.notes).toEqual(['log file rotated; now reading b.log from the start']);
    expect(notes).toEqual(watch.state.notes);
    expect(sampled).toBeGreaterThanOrEqual(2);

    await watch.stop();
    await expect(watch.done).resolves.toBeUndefined();
    expect(log.aborted).toBe(true);
    expect(reader.closed).toBe(1);
  });

  it('survives an outage: target_unreachable, then target_recovered, and goes on', async () => {
    const down = transientError('TARGET_UNREACHABLE', 'connection refused');
    const reader = new ScriptedReader([sample(1), down, down, sample(4)]);
    const { watch, published } = start(reader, null);
    await until('recovery', () => published.some((f) => f.kind === 'target_recovered'));
    expect(published.map((f) => f.kind)).toEqual(['target_unreachable', 'target_recovered']);
    expect(watch.state.reachable).toBe(true);
    await watch.stop();
    expect(reader.closed).toBe(1);
  });

  it('rejects done with the user error when the target refuses before its first sample, and stops following the log', async () => {
    const reader = new ScriptedReader([
      userError('TARGET_AUTH_FAILED', 'password authentication failed for user "x"'),
    ]);
    const log = new DrivenLog();
    const { watch } = start(reader, log);
    await expect(watch.done).rejects.toThrow(/password authentication failed/);
    expect(log.aborted).toBe(true);
    expect(reader.closed).toBe(1);
    await expect(watch.stop()).resolves.toBeUndefined();
  });

  it('rejects done when the log cannot be read at the start, and stops sampling', async () => {
    const reader = new ScriptedReader([sample(1)]);
    const { watch } = start(
      reader,
      new DrivenLog(userError('LOG_UNREADABLE', 'cannot read log file x: permission denied')),
    );
    await expect(watch.done).rejects.toThrow(/permission denied/);
    const calls = reader.calls;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reader.calls).toBe(calls);
    expect(reader.closed).toBe(1);
  });

  it('stops when its signal aborts', async () => {
    const reader = new ScriptedReader([sample(1)]);
    const controller = new AbortController();
    const { watch } = start(reader, null, controller.signal);
    await until('a sample', () => watch.state.samplesTaken >= 1);
    controller.abort();
    await expect(watch.done).resolves.toBeUndefined();
    expect(reader.closed).toBe(1);
  });
});
