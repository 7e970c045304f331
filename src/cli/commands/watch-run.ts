import type { Finding } from '../../core/finding.js';
import type { Clock, FindingSink } from '../../core/ports.js';
import type { WatchOptions } from '../../config/watch-options.js';
import type { TargetMetricsBoard } from '../../engine/target-metrics-board.js';
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
  /** `--metrics-port`: the targets' metrics served for Prometheus (src/metrics-deps.ts). */
  readonly startExporter?: StartExporter;
  /** The board alone, for the live view's host line when no exporter runs. */
  readonly metricsBoard?: (
    targets: readonly TargetWatchOptions[],
    options: { readonly hostMetrics: boolean },
  ) => Promise<TargetMetricsBoard>;
}

/** Starts an exporter of `targets` on host:port; the watch feeds its board. */
export type StartExporter = (
  targets: readonly TargetWatchOptions[],
  options: { readonly host: string; readonly port: number; readonly hostMetrics: boolean },
) => Promise<{ readonly url: string; readonly board: TargetMetricsBoard; close(): Promise<void> }>;

/**
 * `hindsight watch`: a view over the engine's watch of one target — the live view on a terminal,
 * one line per finding otherwise, JSON lines with `--json`. Runs until SIGINT/SIGTERM; rejects
 * with a user error when it cannot go on (bad password, unreadable log).
 */
export async function runWatch(
  options: WatchOptions,
  deps: WatchDeps,
  external?: AbortSignal,
): Promise<void> {
  const controller = new AbortController();
  const stop = (): void => {
    controller.abort();
  };

  const live = !options.json && deps.stdout.isTTY === true;
  const lines =
    options.json || live
      ? null
      : deadlockLines((line) => deps.stdout.write(`${line}\n`), options.logPath !== null);
  const printed: FindingSink = {
    publish(finding: Finding) {
      if (options.json) deps.stdout.write(`${JSON.stringify(finding)}\n`);
      else lines?.publish(finding);
    },
  };
  const target = targetWatchOptions(options);
  // Listening first: a port in use is one line before anything is watched.
  const exporter =
    options.metricsPort === null || deps.startExporter === undefined
      ? null
      : await deps.startExporter([target], {
          host: options.metricsHost,
          port: options.metricsPort,
          hostMetrics: options.hostMetrics,
        });
  // The live view shows the host (CPU per backend) when the target runs here, exporter or not.
  const board =
    exporter?.board ??
    (live && options.hostMetrics && deps.metricsBoard !== undefined
      ? await deps.metricsBoard([target], { hostMetrics: true })
      : null);
  const sink = board?.tee(printed) ?? printed;
  /** Status lines (log rotated, not English…): on stderr, or in the live view's notes. */
  const notes: string[] = [];
  const status = (line: string): void => {
    if (live) notes.splice(0, notes.length, ...[...notes, line].slice(-3));
    else deps.stderr.write(`hindsight: ${line}\n`);
  };
  // Throws at once on a malformed URL, before anything is printed or started.
  let watch;
  try {
    watch = deps.openTargetWatch(target, sink, controller.signal);
  } catch (error) {
    await exporter?.close();
    throw error;
  }
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  external?.addEventListener('abort', stop, { once: true });
  const log =
    options.logPath === null
      ? ''
      : `, log ${options.logPath === '-' ? 'from standard input' : options.logPath}`;
  status(
    `watching ${options.name} every ${options.intervalMs / 1000} s${log}${exporter === null ? '' : `; metrics at ${exporter.url}`}`,
  );
  // Before the view's listener: the view draws what the board knows by then.
  if (board !== null)
    watch.listen({
      sampled: () => {
        board.sampled(options.name, watch.state);
      },
    });
  watch.listen({
    note: status,
    ...(live
      ? {
          sampled: () => {
            const state = watch.state;
            const view = renderWatchView(state, deps.clock.now(), deps.stdout.columns ?? 100, {
              notes,
              logCounts: state.logCounts,
              host: board?.views()[0]?.host ?? null,
            });
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
    await exporter?.close();
    lines?.flush();
  }
}

/** How long a deadlock seen live waits for the server log's report before it is printed alone. */
const LOG_REPORT_WAIT_MS = 3_000;

/**
 * One line per finding, a deadlock once: a deadlock seen live is republished under the same id
 * when the server's log report arrives (victim, every query), so while a log is tailed its line
 * waits up to a few seconds for that report and is printed once, enriched. A report later than
 * that prints as an update of the line already written.
 */
export function deadlockLines(
  write: (line: string) => void,
  logTailed: boolean,
  waitMs = LOG_REPORT_WAIT_MS,
): { publish(finding: Finding): void; flush(): void } {
  const held = new Map<string, { finding: Finding; timer: ReturnType<typeof setTimeout> }>();
  const printed = new Set<string>();
  const print = (finding: Finding): void => {
    const line = describeFinding(finding);
    const again = finding.kind === 'deadlock' && printed.has(finding.id);
    write(again ? line.replace(' DEADLOCK', ' DEADLOCK (update: the server log’s report)') : line);
    if (finding.kind !== 'deadlock') return;
    printed.add(finding.id);
    if (printed.size > 1_000) printed.delete(printed.values().next().value ?? '');
  };
  const release = (id: string): void => {
    const entry = held.get(id);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    held.delete(id);
    print(entry.finding);
  };
  return {
    publish(finding) {
      if (finding.kind === 'deadlock' && finding.source === 'live' && logTailed) {
        const timer = setTimeout(() => {
          release(finding.id);
        }, waitMs);
        timer.unref();
        held.set(finding.id, { finding, timer });
        return;
      }
      const waiting = held.get(finding.id);
      if (waiting !== undefined) {
        clearTimeout(waiting.timer);
        held.delete(finding.id);
      }
      print(finding);
    },
    flush() {
      for (const id of [...held.keys()]) release(id);
    },
  };
}

/** The `watch` flags as the engine's options for one target. */
export function targetWatchOptions(options: WatchOptions): TargetWatchOptions {
  return {
    name: options.name,
    url: options.url,
    environment: options.environment,
    log: options.logPath,
    logFormat: options.logFormat,
    logPrefix: options.logPrefix,
    logTimezone: options.logTimezone,
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
