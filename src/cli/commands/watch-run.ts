import type { Finding } from '../../core/finding.js';
import type { Clock, FindingSink } from '../../core/ports.js';
import type { WatchOptions } from '../../config/watch-options.js';
import type { OpenTargetWatch, TargetWatchOptions } from '../../engine/target-watch.js';
import { describeFinding } from '../finding-line.js';
import { renderWatchView } from '../live-view.js';

/** What `watch` needs from the composition root (src/watch-deps.ts). */
export interface WatchDeps {
  readonly clock: Clock;
  /** The engine's watch of one target, on the real adapters. */
  readonly openTargetWatch: OpenTargetWatch;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream;
}

/**
 * `hindsight watch`: a view over the engine's watch of one target — the live view on a terminal,
 * one line per finding otherwise, JSON lines with `--json`. Runs until SIGINT/SIGTERM; rejects
 * with a user error when it cannot go on (bad password, unreadable log).
 */
export async function runWatch(options: WatchOptions, deps: WatchDeps, external?: AbortSignal): Promise<void> {
  const controller = new AbortController();
  const stop = (): void => {
    controller.abort();
  };

  const live = !options.json && deps.stdout.isTTY === true;
  const sink: FindingSink = {
    publish(finding: Finding) {
      if (options.json) deps.stdout.write(`${JSON.stringify(finding)}\n`);
      else if (!live) deps.stdout.write(`${describeFinding(finding)}\n`);
    },
  };
  /** Status lines (log rotated, not English…): on stderr, or in the live view's notes. */
  const notes: string[] = [];
  const status = (line: string): void => {
    if (live) notes.splice(0, notes.length, ...[...notes, line].slice(-3));
    else deps.stderr.write(`hindsight: ${line}\n`);
  };
  // Throws at once on a malformed URL, before anything is printed or started.
  const watch = deps.openTargetWatch(targetWatchOptions(options), sink, controller.signal);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  external?.addEventListener('abort', stop, { once: true });
  status(`watching ${options.name} every ${options.intervalMs / 1000} s${options.logPath ? `, log ${options.logPath}` : ''}`);
  watch.listen({
    note: status,
    ...(live
      ? {
          sampled: () => {
            const state = watch.state;
            const view = renderWatchView(state, deps.clock.now(), deps.stdout.columns ?? 100, { notes, logCounts: state.logCounts });
            deps.stdout.write(`\x1b[H\x1b[2J${view}`);
          },
        }
      : {}),
  });
  try {
    await watch.done;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await watch.stop();
  }
}

/** The `watch` flags as the engine's options for one target. */
export function targetWatchOptions(options: WatchOptions): TargetWatchOptions {
  return {
    name: options.name,
    url: options.url,
    log: options.logPath,
    logFormat: options.logFormat,
    logPrefix: options.logPrefix,
    fromStart: options.fromStart,
    intervalMs: options.intervalMs,
    rawQueries: options.rawQueries,
    thresholds: {
      blockingMs: options.blockingThresholdMs,
      idleInTransactionMs: options.idleInTransactionMs,
      longTransactionMs: options.longTransactionMs,
    },
  };
}
