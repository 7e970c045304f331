import { afterEach, describe, expect, it } from 'vitest';
import type { RuleCycleReport } from '../../../src/app/rule-cycle.js';
import { transientError } from '../../../src/core/errors.js';
import { RuleLoop } from '../../../src/engine/rule-loop.js';
import type { RuleCycleRunner } from '../../../src/engine/rule-loop.js';
import { FakeClock } from '../../support/fake-clock.js';

const report = (at: number): RuleCycleReport => ({
  at,
  evaluated: 0,
  pending: 0,
  firing: 0,
  fired: 0,
  refreshed: 0,
  resolved: 0,
  incidentsOpened: 0,
  incidentsJoined: 0,
  incidentsReopened: 0,
  incidentsResolved: 0,
  findings: 0,
});

/** Waits the loop asks for, released by the test: time moves only when a wait ends. */
class ManualSleeper {
  readonly waits: { ms: number; end: () => void; ended: boolean }[] = [];
  readonly clock: FakeClock;
  constructor(clock: FakeClock) {
    this.clock = clock;
  }
  readonly sleep = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      const wait = {
        ms,
        ended: false,
        end: () => {
          if (wait.ended) return;
          wait.ended = true;
          resolve();
        },
      };
      this.waits.push(wait);
      if (signal.aborted) wait.end();
      signal.addEventListener(
        'abort',
        () => {
          wait.end();
        },
        { once: true },
      );
    });
  /** Ends the pending wait, moving the clock by its length. */
  elapse(): void {
    const wait = this.pending();
    this.clock.advance(wait.ms);
    wait.end();
  }
  pending(): { ms: number; end: () => void } {
    const wait = this.waits.find((w) => !w.ended);
    if (wait === undefined) throw new Error('the loop is not waiting');
    return wait;
  }
}

/** A cycle the test can hold open, counting how many run at once. */
class ScriptedCycle implements RuleCycleRunner {
  runs: number[] = [];
  active = 0;
  maxActive = 0;
  failNext = 0;
  hold: Promise<void> | null = null;
  readonly clock: FakeClock;
  readonly costMs: number;
  constructor(clock: FakeClock, costMs = 0) {
    this.clock = clock;
    this.costMs = costMs;
  }
  async run(now: number): Promise<RuleCycleReport> {
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      this.runs.push(now);
      if (this.hold !== null) await this.hold;
      this.clock.advance(this.costMs);
      if (this.failNext > 0) {
        this.failNext -= 1;
        throw transientError('STORE_DOWN', 'the store is down');
      }
      return report(now);
    } finally {
      this.active -= 1;
    }
  }
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

const controllers: AbortController[] = [];
afterEach(() => {
  for (const c of controllers.splice(0)) c.abort();
});

const setup = (costMs = 0) => {
  const clock = new FakeClock(0);
  const sleeper = new ManualSleeper(clock);
  const cycle = new ScriptedCycle(clock, costMs);
  const controller = new AbortController();
  controllers.push(controller);
  const errors: unknown[] = [];
  const durations: number[] = [];
  const loop = new RuleLoop(cycle, {
    signal: controller.signal,
    logger: { error: (obj: unknown) => errors.push(obj) },
    clock,
    elapsed: () => clock.now(),
    sleep: sleeper.sleep,
    backoff: { initialMs: 500, maxMs: 4_000 },
    onCycle: (_report, ms) => durations.push(ms),
  });
  return { clock, sleeper, cycle, controller, loop, errors, durations };
};

describe('RuleLoop', () => {
  it('runs a cycle every interval, waiting what the cycle did not use, and reports durations', async () => {
    const { sleeper, cycle, loop, durations } = setup(300);
    const done = loop.run();
    await settle();
    expect(cycle.runs).toEqual([0]);
    expect(sleeper.pending().ms).toBe(700);
    sleeper.elapse();
    await settle();
    expect(cycle.runs).toEqual([0, 1_000]);
    expect(durations).toEqual([300, 300]);
    controllers[0]!.abort();
    await done;
  });

  it('a nudge while waiting runs the next cycle at once', async () => {
    const { sleeper, cycle, clock, loop } = setup(0);
    void loop.run();
    await settle();
    clock.advance(150);
    loop.nudge();
    await settle();
    expect(cycle.runs).toEqual([0, 150]);
    expect(sleeper.waits[0]!.ms).toBe(1_000);
  });

  it('a nudge during a cycle runs one more right after it, never two at once, no sooner than the minimum gap', async () => {
    const { sleeper, cycle, loop } = setup(20);
    let release = (): void => undefined;
    cycle.hold = new Promise((resolve) => {
      release = resolve;
    });
    void loop.run();
    await settle();
    loop.nudge();
    loop.nudge();
    cycle.hold = null;
    release();
    await settle();
    // The cycle took 20 ms; the next waits out the rest of the 100 ms gap, then runs.
    expect(sleeper.pending().ms).toBe(80);
    sleeper.elapse();
    await settle();
    expect(cycle.runs).toEqual([0, 100]);
    expect(cycle.maxActive).toBe(1);
  });

  it('survives failing cycles: logs, backs off (nudges do not cut it short), and recovers', async () => {
    const { sleeper, cycle, loop, errors } = setup(0);
    cycle.failNext = 2;
    void loop.run();
    await settle();
    expect(errors).toHaveLength(1);
    const first = sleeper.pending().ms;
    expect(first).toBeGreaterThanOrEqual(250);
    expect(first).toBeLessThanOrEqual(500);
    loop.nudge();
    await settle();
    expect(cycle.runs).toHaveLength(1);
    sleeper.elapse();
    await settle();
    expect(errors).toHaveLength(2);
    expect(sleeper.pending().ms).toBeGreaterThanOrEqual(500);
    sleeper.elapse();
    await settle();
    expect(cycle.runs).toHaveLength(3);
    // Back to the interval after a success.
    expect(sleeper.pending().ms).toBe(1_000);
  });

  it('stops when the signal aborts, after the cycle in progress', async () => {
    const { cycle, controller, loop } = setup(0);
    let release = (): void => undefined;
    cycle.hold = new Promise((resolve) => {
      release = resolve;
    });
    const done = loop.run();
    await settle();
    controller.abort();
    let finished = false;
    void done.then(() => {
      finished = true;
    });
    await settle();
    expect(finished).toBe(false);
    release();
    await done;
    expect(cycle.runs).toHaveLength(1);
  });
});
