import { WatchCycle } from '../../app/watch-cycle.js';
import type { Finding } from '../../core/finding.js';
import type { FindingSink } from '../../core/ports.js';
import type { WatchOptions } from '../../config/watch-options.js';
import { runWatchLoop } from '../../engine/watch-loop.js';
import { describeFinding } from '../finding-line.js';
import { renderWatchView } from '../live-view.js';
import type { WatchDeps } from './watch-command.js';

/** Runs until SIGINT/SIGTERM; rejects with a user error when it cannot go on. */
export async function runWatch(options: WatchOptions, deps: WatchDeps, external?: AbortSignal): Promise<void> {
  const controller = new AbortController();
  const stop = (): void => {
    controller.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  external?.addEventListener('abort', stop, { once: true });

  const live = !options.json && deps.stdout.isTTY === true;
  const sink: FindingSink = {
    publish(finding: Finding) {
      if (options.json) deps.stdout.write(`${JSON.stringify(finding)}\n`);
      else if (!live) deps.stdout.write(`${describeFinding(finding)}\n`);
    },
  };
  const reader = deps.openTarget(options);
  const cycle = new WatchCycle({
    reader,
    detector: deps.createDetector(options, deps.clock),
    sink,
    clock: deps.clock,
  });
  /** Status lines (log rotated, not English…): on stderr, or in the live view's notes. */
  const notes: string[] = [];
  /** What the server log said since watch started, by kind, for the live view. */
  const logCounts = new Map<string, number>();
  const status = (line: string): void => {
    if (live) notes.splice(0, notes.length, ...[...notes, line].slice(-3));
    else deps.stderr.write(`hindsight: ${line}\n`);
  };
  status(`watching ${options.name} every ${options.intervalMs / 1000} s${options.logPath ? `, log ${options.logPath}` : ''}`);

  const tasks: Promise<void>[] = [];
  if (options.logPath !== null) {
    tasks.push(
      deps.followLog(
        { ...options, logPath: options.logPath },
        {
          onDeadlock: (report) => {
            cycle.onDeadlockReport(report, controller.signal).catch((error: unknown) => {
              deps.logger.error({ err: error }, 'could not record a deadlock report');
            });
          },
          onSignal: (kind) => {
            logCounts.set(kind, (logCounts.get(kind) ?? 0) + 1);
          },
          onProblem: (message) => {
            status(message);
          },
        },
        controller.signal,
      ),
    );
  }
  const redraw = live
    ? () => {
        deps.stdout.write(`\x1b[H\x1b[2J${renderWatchView(cycle.state, deps.clock.now(), deps.stdout.columns ?? 100, { notes, logCounts })}`);
      }
    : undefined;
  tasks.push(
    runWatchLoop(cycle, {
      intervalMs: options.intervalMs,
      signal: controller.signal,
      logger: deps.logger,
      ...(redraw ? { afterTick: redraw } : {}),
    }),
  );
  try {
    // The first task to fail (a bad password, an unreadable log) stops the others.
    await Promise.all(
      tasks.map(async (task) => {
        try {
          await task;
        } catch (error) {
          controller.abort();
          throw error;
        }
      }),
    );
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    controller.abort();
    await Promise.allSettled(tasks);
    await reader.close();
  }
}
