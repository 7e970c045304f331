import type { WatchCycle } from '../app/watch-cycle.js';
import { isHindsightError } from '../core/errors.js';
import { sleep } from '../platform/abortable-sleep.js';
import { Backoff } from '../platform/backoff.js';
import type { Logger } from '../platform/logger.js';
import { systemClock } from '../platform/system-clock.js';
import type { Clock } from '../core/ports.js';

export interface WatchLoopOptions {
  readonly intervalMs: number;
  readonly signal: AbortSignal;
  readonly logger: Pick<Logger, 'error'>;
  /** Called after every tick (the live view redraws). */
  readonly afterTick?: () => void;
  /** Measures how long a tick took, to keep the interval (default the system clock). */
  readonly clock?: Clock;
  /** Waits between ticks (default: a real, abortable sleep); tests pass a recording one. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The backoff's jitter (default Math.random). */
  readonly random?: () => number;
}

/**
 * Ticks a watch cycle every `intervalMs` until `signal` aborts. Ticks never overlap: a slow
 * sample delays the next one instead of queueing more. While the target is unreachable, retries
 * back off (0.5 s → 10 s). Only a user error (fix-it-yourself, e.g. a bad password) ends the
 * loop; anything else is logged and the loop goes on.
 */
export async function runWatchLoop(
  cycle: Pick<WatchCycle, 'tick' | 'state'>,
  options: WatchLoopOptions,
): Promise<void> {
  const clock = options.clock ?? systemClock;
  const wait = options.sleep ?? sleep;
  // The one owner of retry pacing: the target adapter reconnects on any call and never delays.
  const backoff = new Backoff({
    initialMs: Math.min(options.intervalMs, 500),
    maxMs: 10_000,
    ...(options.random ? { random: options.random } : {}),
  });
  while (!options.signal.aborted) {
    const started = clock.now();
    try {
      await cycle.tick(options.signal);
    } catch (error) {
      if (isHindsightError(error) && error.kind === 'user') throw error;
      options.logger.error({ err: error }, 'watch tick failed; continuing');
    }
    options.afterTick?.();
    const delay = cycle.state.reachable
      ? (backoff.reset(), Math.max(0, options.intervalMs - (clock.now() - started)))
      : backoff.next();
    await wait(delay, options.signal);
  }
}
