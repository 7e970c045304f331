import { createPostgresServerLog } from './agent/targets/postgres/server-log.js';
import { PostgresTarget } from './agent/targets/postgres/postgres-target.js';
import type { WatchDeps } from './cli/commands/watch-run.js';
import { userError } from './core/errors.js';
import { createFindingDetector } from './core/finding-detector.js';
import type { FindingSink } from './core/ports.js';
import { normalizeQuery } from './core/query-normalizer.js';
import { startTargetWatch, type TargetWatch, type TargetWatchOptions } from './engine/target-watch.js';
import { boundedMemo } from './platform/bounded-memo.js';
import { createLogger, type Logger } from './platform/logger.js';
import { randomIds } from './platform/random-ids.js';
import { systemClock } from './platform/system-clock.js';

/**
 * Part of the composition root (src/main.ts): the adapters a watch of one target runs on. A
 * module of its own so that main.ts loads it — and pg, the log tailer, pino — only when a command
 * that watches runs (`watch`; `serve` and `agent`, one watch per configured target).
 */

let logger: Logger | undefined;

/**
 * Watches one target as `hindsight watch` does — samples, its server log, the finding detector —
 * publishing every finding to `sink` until `signal` aborts. See `TargetWatch` for when `done`
 * rejects. Connects lazily: a bad URL throws here (a user error); a bad password rejects `done`.
 */
export function openTargetWatch(
  options: TargetWatchOptions,
  sink: FindingSink,
  signal: AbortSignal,
): TargetWatch {
  const normalize = options.rawQueries ? (sql: string) => sql : boundedMemo((sql) => normalizeQuery(sql));
  const target = PostgresTarget.create(options.url, {
    name: options.name,
    clock: systemClock,
    ...(options.environment === undefined ? {} : { environment: options.environment }),
    ...(options.rawQueries ? {} : { normalizeQuery: normalize }),
  });
  const serverLog =
    options.log === null
      ? null
      : createPostgresServerLog({
          ...(options.log === '-' ? { path: 'standard input', stream: pipedStdin() } : { path: options.log }),
          format: options.logFormat,
          prefix: options.logPrefix,
          timezone: options.logTimezone ?? null,
          fromStart: options.fromStart,
          ...(options.logPositionFile === undefined ? {} : { positionFile: options.logPositionFile }),
          normalizeQuery: normalize,
          target: {
            database: target.database,
            relationNames: (refs, abort) => target.relationNames(refs, abort),
            ready: () => target.ready(),
          },
        });
  logger ??= createLogger({ level: 'warn' });
  return startTargetWatch(
    { intervalMs: options.intervalMs, signal },
    {
      reader: target,
      detector: createFindingDetector({
        target: options.name,
        clock: systemClock,
        ids: randomIds,
        thresholds: options.thresholds,
      }),
      serverLog,
      sink,
      logger,
    },
  );
}

/** `--log -`: standard input, which must be a pipe (or file), not the terminal the user types in. */
function pipedStdin(): NodeJS.ReadStream {
  if (process.stdin.isTTY) {
    throw userError(
      'LOG_STDIN_TTY',
      '--log - reads the server log from standard input, but that is a terminal: pipe the log in, ' +
        'e.g. kubectl logs -f --tail=0 <pod> | hindsight watch … --log -',
    );
  }
  return process.stdin;
}

export function watchDeps(): WatchDeps {
  return {
    clock: systemClock,
    stdout: process.stdout,
    stderr: process.stderr,
    openTargetWatch,
    startExporter: async (targets, options) => {
      // Loaded only with --metrics-port: prom-client and the /proc reader cost the others nothing.
      const { startTargetExporter } = await import('./metrics-deps.js');
      logger ??= createLogger({ level: 'warn' });
      return startTargetExporter(targets, { ...options, logger });
    },
    metricsBoard: async (targets, options) => {
      const { targetMetricsBoard } = await import('./metrics-deps.js');
      logger ??= createLogger({ level: 'warn' });
      return targetMetricsBoard(targets, { ...options, logger });
    },
  };
}
