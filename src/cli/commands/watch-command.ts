import type { Command } from 'commander';
import { WatchCycle } from '../../app/watch-cycle.js';
import type { FindingDetector } from '../../core/finding-detector.js';
import type { Finding } from '../../core/finding.js';
import type { DeadlockReport } from '../../core/log-event.js';
import type { Clock, FindingSink, TargetReader } from '../../core/ports.js';
import { parseWatchOptions, type WatchFlags, type WatchOptions } from '../../config/watch-options.js';
import { runWatchLoop } from '../../engine/watch-loop.js';
import type { Logger } from '../../platform/logger.js';
import { describeFinding } from '../finding-line.js';
import { renderWatchView } from '../live-view.js';

/** What `watch` needs from the adapters; src/main.ts provides it. */
export interface WatchDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Connects lazily: the reader's first `sample()` reports connection problems. */
  openTarget(options: WatchOptions): TargetReader;
  createDetector(options: WatchOptions, clock: Clock): FindingDetector;
  /**
   * Follows the server log, calling `onDeadlock` for each deadlock report and `onSignal` with the
   * kind of every other recognised entry (lock_timeout, serialization_failure…). Rejects at once with a
   * user error when the file cannot be read; otherwise runs until `signal` aborts.
   */
  followLog(
    options: WatchOptions & { readonly logPath: string },
    handlers: {
      onDeadlock(report: DeadlockReport): void;
      onSignal(kind: string): void;
      onProblem(message: string): void;
    },
    signal: AbortSignal,
  ): Promise<void>;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream;
}

export function registerWatchCommand(program: Command, deps: () => WatchDeps): void {
  program
    .command('watch')
    .description('Watch a PostgreSQL database live: blocking trees with their root blocker, deadlocks with their queries.')
    .argument('<postgres-url>', 'e.g. postgres://monitor:secret@db.internal:5432/shop (needs the pg_monitor role)')
    .option('--log <file-or-dir>', "the server's log file (or its log_directory) to tail for deadlock reports")
    .option('--log-prefix <prefix>', "the server's log_line_prefix, if it cannot be read from the server")
    .option('--log-format <format>', 'auto, stderr, csvlog or jsonlog', 'auto')
    .option('--from-start', 'read the log from its beginning instead of its end', false)
    .option('--json', 'stream findings as JSON lines instead of the live view', false)
    .option('--interval <seconds>', 'seconds between samples', '1')
    .option('--name <name>', 'display name for this database')
    .option('--raw-queries', 'show query text with its literals (normalized to $1, $2 by default)', false)
    .option('--blocking-threshold <seconds>', 'a lock wait longer than this opens a blocking episode', '1')
    .option('--idle-in-transaction <seconds>', 'report sessions idle in a transaction for longer than this', '30')
    .option('--long-transaction <seconds>', 'report transactions open for longer than this', '300')
    .action(async (url: string, flags: Omit<WatchFlags, 'url'>) => {
      await runWatch(parseWatchOptions({ ...flags, url }), deps());
    });
}

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
