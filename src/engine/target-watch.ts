import type { LogTimezone } from '../postgres-log/log-timezone.js';
import { WatchCycle, type WatchState } from '../app/watch-cycle.js';
import type { FindingDetector } from '../core/finding-detector.js';
import type { LogFormatChoice } from '../core/log-event.js';
import type { FindingSink, ServerLogSource, TargetReader } from '../core/ports.js';
import type { PgEnvironment } from '../config/postgres-conninfo.js';
import type { Logger } from '../platform/logger.js';
import { runWatchLoop } from './watch-loop.js';

/**
 * What a configured target has, for a watch of it (`hindsight watch` flags, a target of
 * `hindsight serve`'s configuration). The composition root turns it into adapters.
 */
export interface TargetWatchOptions {
  /** Display name; findings carry it. Never the URL (it may hold a password). */
  readonly name: string;
  readonly url: string;
  /** The `PG*` variables and password file that fill what `url` leaves out (`hindsight watch`, as psql). */
  readonly environment?: PgEnvironment;
  /** The server's log file or `log_directory`; null to watch by samples alone. */
  readonly log: string | null;
  readonly logFormat: LogFormatChoice;
  /** The server's `log_line_prefix`; null to read it from the server or detect it from the lines. */
  readonly logPrefix: string | null;
  /** The server's log_timezone (`--log-timezone`); absent or null: read from the server when it connects. */
  readonly logTimezone?: LogTimezone | null;
  /** Read the log from its beginning instead of its end. */
  readonly fromStart: boolean;
  /** Where the log position is kept across restarts (serve's data directory); absent: start at the end. */
  readonly logPositionFile?: string;
  readonly intervalMs: number;
  /** Keep query literals (normalized to $1, $2 otherwise). */
  readonly rawQueries: boolean;
  readonly thresholds: {
    readonly blockingMs: number;
    readonly idleInTransactionMs: number;
    readonly longTransactionMs: number;
  };
}

/** What a view shows of a running watch: the cycle's state and what the server log said. */
export interface TargetWatchState extends WatchState {
  /** Log entries since the watch started, by kind (lock_timeout, statement…); deadlocks are findings. */
  readonly logCounts: ReadonlyMap<string, number>;
  /** The latest lines about the log (rotated, vanished, not in English…), newest last. */
  readonly notes: readonly string[];
}

export interface TargetWatchListener {
  /** After every sample attempt, good or not (the live view redraws). */
  readonly sampled?: () => void;
  /** A line for the operator about the log, as it happens. */
  readonly note?: (text: string) => void;
}

/** One target watched: sampled every interval, its log followed, findings published to a sink. */
export interface TargetWatch {
  readonly state: TargetWatchState;
  /**
   * Resolves once the watch has stopped (its signal aborted, or `stop()`), the target's connection
   * closed. Rejects only with a user error that waiting cannot fix — the target refused us before
   * its first good sample (bad password, missing grant), or the log cannot be read at the start —
   * after stopping everything. Target outages are findings (`target_unreachable`, then
   * `target_recovered`), never a rejection.
   */
  readonly done: Promise<void>;
  /** Stops the watch and waits for it; never rejects (read `done` for why a watch ended). */
  stop(): Promise<void>;
  listen(listener: TargetWatchListener): void;
}

/** How the composition root opens a watch of one target; `signal` stops it like `stop()`. */
export type OpenTargetWatch = (
  options: TargetWatchOptions,
  sink: FindingSink,
  signal: AbortSignal,
) => TargetWatch;

export interface TargetWatchDeps {
  /** Owned by the watch from now on: it is closed when the watch ends. */
  readonly reader: TargetReader;
  readonly detector: FindingDetector;
  /** null: samples only. */
  readonly serverLog: ServerLogSource | null;
  readonly sink: FindingSink;
  readonly logger: Pick<Logger, 'error'>;
}

const NOTES_KEPT = 10;

/**
 * Starts watching one target: a sampling loop (ticks never overlap; backs off while the target is
 * down) and, when it has one, its server log followed, both publishing to `deps.sink`. The first
 * to fail with a user error stops the other.
 */
export function startTargetWatch(
  options: { readonly intervalMs: number; readonly signal?: AbortSignal },
  deps: TargetWatchDeps,
): TargetWatch {
  const controller = new AbortController();
  const abort = (): void => {
    controller.abort();
  };
  if (options.signal?.aborted === true) abort();
  options.signal?.addEventListener('abort', abort, { once: true });

  const cycle = new WatchCycle({ reader: deps.reader, detector: deps.detector, sink: deps.sink });
  const listeners: TargetWatchListener[] = [];
  const logCounts = new Map<string, number>();
  let notes: readonly string[] = [];
  const note = (text: string): void => {
    notes = [...notes, text].slice(-NOTES_KEPT);
    for (const listener of listeners) listener.note?.(text);
  };

  const tasks: Promise<void>[] = [];
  if (deps.serverLog !== null) {
    tasks.push(
      deps.serverLog.follow(
        {
          onDeadlock: (report) => {
            try {
              cycle.onDeadlockReport(report);
            } catch (error) {
              deps.logger.error({ err: error }, 'could not record a deadlock report');
            }
          },
          onSignal: (kind) => {
            logCounts.set(kind, (logCounts.get(kind) ?? 0) + 1);
          },
          onProblem: note,
        },
        controller.signal,
      ),
    );
  }
  tasks.push(
    runWatchLoop(cycle, {
      intervalMs: options.intervalMs,
      signal: controller.signal,
      logger: deps.logger,
      afterTick: () => {
        for (const listener of listeners) listener.sampled?.();
      },
    }),
  );

  const done = (async () => {
    try {
      await Promise.all(
        tasks.map(async (task) => {
          try {
            await task;
          } catch (error) {
            abort();
            throw error;
          }
        }),
      );
    } finally {
      options.signal?.removeEventListener('abort', abort);
      abort();
      await Promise.allSettled(tasks);
      await deps.reader.close();
    }
  })();
  // Whoever started the watch reads `done`; a watch stopped with `stop()` alone must not crash the process.
  void done.catch(() => undefined);

  return {
    get state(): TargetWatchState {
      return { ...cycle.state, logCounts, notes };
    },
    done,
    async stop() {
      abort();
      await done.catch(() => undefined);
    },
    listen(listener) {
      listeners.push(listener);
    },
  };
}
