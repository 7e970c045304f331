import { interpretLogEvent } from './postgres-log/log-signal.js';
import { tailLog } from './agent/targets/postgres/log-tailer.js';
import { PostgresTarget } from './agent/targets/postgres/postgres-target.js';
import type { WatchDeps } from './cli/commands/watch-command.js';
import { createFindingDetector } from './core/finding-detector.js';
import { normalizeQuery } from './core/query-normalizer.js';
import { boundedMemo } from './platform/bounded-memo.js';
import { createLogger } from './platform/logger.js';
import { randomIds } from './platform/random-ids.js';
import { systemClock } from './platform/system-clock.js';

/**
 * Part of the composition root (src/main.ts): the adapters `watch` runs on. A module of its own so
 * that main.ts loads it — and pg, the log tailer, pino — only when `watch` runs.
 */

/** How long `watch --log` waits for the server's `log_line_prefix` before detecting it from the lines. */
const PREFIX_WAIT_MS = 3000;

export function watchDeps(): WatchDeps {
  let target: PostgresTarget | null = null;
  /** The server's own log_line_prefix, when it can be read soon enough; otherwise detection. */
  const serverPrefix = async (): Promise<string | undefined> => {
    if (!target) return undefined;
    const timeout = new Promise<undefined>((resolve) => {
      setTimeout(() => {
        resolve(undefined);
      }, PREFIX_WAIT_MS).unref();
    });
    const settings = await Promise.race([target.ready().catch(() => undefined), timeout]);
    return settings?.logLinePrefix;
  };
  return {
    clock: systemClock,
    logger: createLogger({ level: 'warn' }),
    stdout: process.stdout,
    stderr: process.stderr,
    openTarget: (options) => {
      target = PostgresTarget.create(options.url, {
        name: options.name,
        clock: systemClock,
        ...(options.rawQueries ? {} : { normalizeQuery: boundedMemo((sql) => normalizeQuery(sql)) }),
      });
      return target;
    },
    createDetector: (options, clock) =>
      createFindingDetector({
        target: options.name,
        clock,
        ids: randomIds,
        thresholds: {
          blockingMs: options.blockingThresholdMs,
          idleInTransactionMs: options.idleInTransactionMs,
          longTransactionMs: options.longTransactionMs,
        },
      }),
    followLog: async (options, handlers, signal) => {
      const stderrPossible = options.logFormat === 'auto' || options.logFormat === 'stderr';
      const prefix = options.logPrefix ?? (stderrPossible ? await serverPrefix() : undefined);
      const normalize = options.rawQueries ? (sql: string) => sql : boundedMemo((sql) => normalizeQuery(sql));
      await tailLog(options.logPath, {
        format: options.logFormat,
        ...(prefix === undefined ? {} : { prefix }),
        fromStart: options.fromStart,
        signal,
        onEvents: (events) => {
          for (const event of events) {
            const signalled = interpretLogEvent(event);
            if (signalled === null) continue;
            if (signalled.kind !== 'deadlock') {
              handlers.onSignal(signalled.kind);
              continue;
            }
            const { report } = signalled;
            handlers.onDeadlock({
              ...report,
              processes: report.processes.map((p) => ({ ...p, query: p.query === null ? null : normalize(p.query) })),
            });
          }
        },
        onProblem: (problem) => {
          handlers.onProblem(problem.message);
        },
      });
    },
  };
}

