import { describe, expect, it } from 'vitest';
import type { TargetHealth } from '../../../src/core/catalog.js';
import { userError } from '../../../src/core/errors.js';
import type {
  TargetWatch,
  TargetWatchListener,
  TargetWatchOptions,
  TargetWatchState,
} from '../../../src/engine/target-watch.js';
import { superviseTargets } from '../../../src/engine/target-supervisor.js';

const options = (name: string): TargetWatchOptions => ({
  name,
  url: `postgres://m@h/${name}`,
  log: null,
  logFormat: 'auto',
  logPrefix: null,
  fromStart: false,
  intervalMs: 1000,
  rawQueries: false,
  thresholds: { blockingMs: 1000, idleInTransactionMs: 30_000, longTransactionMs: 300_000 },
});

/** A watch the test drives: it samples when told, and ends as told. */
function scriptedWatch(name: string, signal: AbortSignal, end: 'fail' | 'run') {
  const listeners: TargetWatchListener[] = [];
  let state: TargetWatchState = {
    target: name,
    reachable: true,
    problem: null,
    lastSample: null,
    samplesTaken: 0,
    recentFindings: [],
    logCounts: new Map(),
    notes: [],
  };
  let reject: (error: unknown) => void = () => undefined;
  const done = new Promise<void>((resolve, rej) => {
    reject = rej;
    signal.addEventListener(
      'abort',
      () => {
        resolve();
      },
      { once: true },
    );
  });
  const watch: TargetWatch = {
    get state() {
      return state;
    },
    done,
    stop: () => Promise.resolve(),
    listen: (l) => listeners.push(l),
  };
  return {
    watch,
    end,
    sample(reachable: boolean, problem: string | null) {
      state = { ...state, reachable, problem };
      for (const l of listeners) l.sampled?.();
    },
    fail: (error: unknown) => {
      reject(error);
    },
  };
}

describe('superviseTargets', () => {
  it('restarts a watch that failed, reports its health, and leaves the other targets running', async () => {
    const controller = new AbortController();
    const opened: ReturnType<typeof scriptedWatch>[] = [];
    const health: TargetHealth[] = [];
    const logs: string[] = [];
    let now = 0;
    const log = (level: string) => (_o: unknown, msg: string) => logs.push(`${level} ${msg}`);
    const running = superviseTargets(
      [options('a'), options('b')],
      {
        openTargetWatch: (o, _sink, signal) => {
          const w = scriptedWatch(o.name, signal, 'run');
          opened.push(w);
          return w.watch;
        },
        sink: { publish: () => undefined },
        onHealth: (h) => health.push(h),
        agent: 'serve',
        clock: { now: () => now },
        logger: { info: log('info'), warn: log('warn'), error: log('error') } as never,
        restartBackoff: { initialMs: 5, maxMs: 5 },
        healthIntervalMs: 10_000,
      },
      controller.signal,
    );
    expect(opened.map((w) => w.watch.state.target)).toEqual(['a', 'b']);
    opened[0]!.sample(true, null);
    opened[0]!.sample(true, null); // unchanged and recent: not reported again
    now = 20_000;
    opened[0]!.sample(true, null); // unchanged but due
    opened[0]!.sample(false, 'connection refused'); // changed: reported at once
    opened[0]!.fail(userError('TEST_TARGET_AUTH', 'password authentication failed for user "m"'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(opened.map((w) => w.watch.state.target)).toEqual(['a', 'b', 'a']);
    expect(health.map((h) => [h.target, h.reachable, h.problem, h.agent])).toEqual([
      ['a', true, null, 'serve'],
      ['a', true, null, 'serve'],
      ['a', false, 'connection refused', 'serve'],
      ['a', false, 'password authentication failed for user "m"', 'serve'],
    ]);
    expect(
      logs.some(
        (l) =>
          l.startsWith('error the watch of a stopped: password authentication failed') &&
          l.includes('fix the target'),
      ),
    ).toBe(true);
    controller.abort();
    await running;
    expect(opened).toHaveLength(3);
  });

  it('keeps going when opening a watch throws, and stops promptly on abort', async () => {
    const controller = new AbortController();
    let attempts = 0;
    const running = superviseTargets(
      [options('bad')],
      {
        openTargetWatch: () => {
          attempts += 1;
          throw userError('TEST_BAD_URL', 'not a URL');
        },
        sink: { publish: () => undefined },
        onHealth: () => undefined,
        agent: 'serve',
        clock: { now: () => 0 },
        logger: { info: () => undefined, warn: () => undefined, error: () => undefined } as never,
        restartBackoff: { initialMs: 5, maxMs: 5 },
      },
      controller.signal,
    );
    await new Promise((resolve) => setTimeout(resolve, 40));
    controller.abort();
    await running;
    expect(attempts).toBeGreaterThan(1);
  });
});
