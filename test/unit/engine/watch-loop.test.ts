import { describe, expect, it } from 'vitest';
import type { WatchState } from '../../../src/app/watch-cycle.js';
import { userError } from '../../../src/core/errors.js';
import { runWatchLoop } from '../../../src/engine/watch-loop.js';
import { FakeClock } from '../../support/fake-clock.js';

/** A watch cycle whose target answers according to `script` (true: reachable), one entry per tick. */
function scriptedCycle(script: readonly (boolean | 'user-error' | 'bug')[], clock: FakeClock, tickMs = 0) {
  let i = 0;
  let state: WatchState = {
    target: 't',
    reachable: true,
    problem: null,
    lastSample: null,
    samplesTaken: 0,
    recentFindings: [],
  };
  return {
    ticks: () => i,
    get state() {
      return state;
    },
    tick: (): Promise<void> => {
      const step = script[Math.min(i, script.length - 1)];
      i += 1;
      clock.advance(tickMs);
      if (step === 'user-error') return Promise.reject(userError('TEST_TARGET_AUTH', 'bad password'));
      if (step === 'bug') return Promise.reject(new Error('boom'));
      state = { ...state, reachable: step === true, problem: step === true ? null : 'refused' };
      return Promise.resolve();
    },
  };
}

/** Runs the loop until `ticks` ticks, recording each wait it asked for (no real sleeping). */
async function waitsOf(
  script: readonly (boolean | 'user-error' | 'bug')[],
  ticks: number,
  tickMs = 0,
): Promise<number[]> {
  const clock = new FakeClock();
  const cycle = scriptedCycle(script, clock, tickMs);
  const stop = new AbortController();
  const waits: number[] = [];
  const errors: unknown[] = [];
  await runWatchLoop(cycle, {
    intervalMs: 1000,
    signal: stop.signal,
    logger: { error: (o: unknown) => errors.push(o) },
    clock,
    random: () => 1,
    sleep: (ms) => {
      waits.push(ms);
      if (cycle.ticks() >= ticks) stop.abort();
      return Promise.resolve();
    },
  });
  return waits;
}

describe('the watch loop (the one owner of retry pacing)', () => {
  it('keeps the interval while the target answers, counting the tick’s own time', async () => {
    expect(await waitsOf([true], 3, 200)).toEqual([800, 800, 800]);
  });

  it('backs off while the target is unreachable — 0.5 s doubling to 10 s — and resets once it answers', async () => {
    const waits = await waitsOf([false, false, false, false, false, false, false, true, false], 9);
    expect(waits).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 1000, 500]);
  });

  it('goes on after a failure that is not the user’s, and ends on a user error', async () => {
    expect(await waitsOf(['bug', true], 2)).toHaveLength(2);
    await expect(waitsOf([true, 'user-error'], 5)).rejects.toMatchObject({ code: 'TEST_TARGET_AUTH' });
  });
});
