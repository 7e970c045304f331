import type { TargetHealth } from '../core/catalog.js';
import { isHindsightError } from '../core/errors.js';
import type { Clock, FindingSink } from '../core/ports.js';
import { sleep } from '../platform/abortable-sleep.js';
import { Backoff, type BackoffOptions } from '../platform/backoff.js';
import type { Logger } from '../platform/logger.js';
import type { OpenTargetWatch, TargetWatch, TargetWatchOptions, TargetWatchState } from './target-watch.js';

export interface TargetSupervisorDeps {
  readonly openTargetWatch: OpenTargetWatch;
  /** Where every watch publishes its findings (serve: the finding intake; agent: the push client). */
  readonly sink: FindingSink;
  /** Each target's health: when it changes, at least every `healthIntervalMs`, and when its watch fails. */
  readonly onHealth: (health: TargetHealth) => void;
  /** After every sample attempt, with the watch's state (serve: the sample-latency metric). */
  readonly onSampled?: (target: string, state: TargetWatchState) => void;
  /** Who reports the health: `serve`, or the agent's name. */
  readonly agent: string;
  readonly clock: Clock;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Delay before restarting a failed watch: 1 s doubling to 60 s, reset after a watch ran 5 min. */
  readonly restartBackoff?: BackoffOptions;
  readonly healthIntervalMs?: number;
}

const HEALTHY_RUN_MS = 5 * 60_000;

/**
 * Runs one watch per target until `signal` aborts, then stops them all and resolves. A watch that
 * ends with an error (a refused password, an unreadable log, a bug) is logged, its target reported
 * unhealthy, and restarted after a backoff: one misconfigured target never stops the others or the
 * server. Target outages are not failures: the watch reports them as findings and keeps going.
 */
export async function superviseTargets(
  targets: readonly TargetWatchOptions[],
  deps: TargetSupervisorDeps,
  signal: AbortSignal,
): Promise<void> {
  await Promise.all(targets.map((target) => superviseOne(target, deps, signal)));
}

async function superviseOne(
  options: TargetWatchOptions,
  deps: TargetSupervisorDeps,
  signal: AbortSignal,
): Promise<void> {
  const backoff = new Backoff({ initialMs: 1000, maxMs: 60_000, ...deps.restartBackoff });
  const healthEvery = deps.healthIntervalMs ?? 10_000;
  let last: { reachable: boolean; problem: string | null; at: number } | null = null;
  const report = (
    reachable: boolean,
    problem: string | null,
    lastSampleAt: number | null,
    force = false,
  ): void => {
    const now = deps.clock.now();
    if (
      !force &&
      last !== null &&
      last.reachable === reachable &&
      last.problem === problem &&
      now - last.at < healthEvery
    )
      return;
    last = { reachable, problem, at: now };
    deps.onHealth({
      target: options.name,
      reachable,
      problem,
      lastSampleAt,
      agent: deps.agent,
      reportedAt: now,
    });
  };
  const stopped = (): boolean => signal.aborted;

  while (!stopped()) {
    const started = deps.clock.now();
    let watch: TargetWatch;
    try {
      watch = deps.openTargetWatch(options, deps.sink, signal);
    } catch (error) {
      // A target the configuration describes wrongly (a malformed URL): retrying does not fix it, but
      // the others keep running and the log says why this one does not.
      failed(options.name, error, deps);
      report(false, message(error), null, true);
      await sleep(backoff.next(), signal);
      continue;
    }
    watch.listen({
      sampled: () => {
        const state = watch.state;
        report(state.reachable, state.problem, state.lastSample?.takenAt ?? null);
        deps.onSampled?.(options.name, state);
      },
      note: (text) => {
        deps.logger.warn({ target: options.name }, `${options.name}: ${text}`);
      },
    });
    try {
      await watch.done;
    } catch (error) {
      if (stopped()) break;
      failed(options.name, error, deps);
      report(false, message(error), watch.state.lastSample?.takenAt ?? null, true);
    }
    if (stopped()) break;
    if (deps.clock.now() - started >= HEALTHY_RUN_MS) backoff.reset();
    const delay = backoff.next();
    deps.logger.info(
      { target: options.name, delayMs: delay },
      `restarting the watch of ${options.name} in ${Math.round(delay / 1000)} s`,
    );
    await sleep(delay, signal);
  }
}

function failed(target: string, error: unknown, deps: Pick<TargetSupervisorDeps, 'logger'>): void {
  const known = isHindsightError(error);
  deps.logger.error(
    { target, ...(known ? { code: error.code } : { err: error }) },
    `the watch of ${target} stopped: ${message(error)}${known && error.kind === 'user' ? ' — fix the target in the configuration; retrying meanwhile' : ''}`,
  );
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));
