import { createProcHostReader } from './agent/host/proc-host-reader.js';
import { startMetricsListener } from './api/metrics-listener.js';
import { pgEnvironment, resolveConnInfo } from './config/postgres-conninfo.js';
import type { HostReader } from './core/host-figures.js';
import type { TargetWatchOptions } from './engine/target-watch.js';
import { TargetMetricsBoard } from './engine/target-metrics-board.js';
import type { Logger } from './platform/logger.js';
import { systemClock } from './platform/system-clock.js';

/**
 * Part of the composition root: the board the exporters read (`serve`'s `/metrics`, the
 * `--metrics-port` of `watch` and `agent`), with a /proc host reader for each target whose URL
 * is local — it reads nothing until the target's backends prove to be PostgreSQL processes here.
 */
export function targetMetricsBoard(
  targets: readonly TargetWatchOptions[],
  options: {
    readonly hostMetrics: boolean;
    readonly logger: Pick<Logger, 'warn'>;
    readonly signal?: AbortSignal;
  },
): TargetMetricsBoard {
  const readers = new Map<string, HostReader>();
  if (options.hostMetrics) {
    for (const target of targets) {
      const info = resolveConnInfo(target.url, target.environment ?? pgEnvironment());
      if (!info.ok) continue;
      readers.set(target.name, createProcHostReader({ targetHost: info.info.host, clock: systemClock }));
    }
  }
  const board = new TargetMetricsBoard({
    hostReader: (target) => readers.get(target) ?? null,
    logger: options.logger,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  for (const target of targets) board.known(target.name);
  return board;
}

/** An exporter of `watch`/`agent --metrics-port`: the board behind a listener. */
export interface TargetExporter {
  readonly url: string;
  readonly board: TargetMetricsBoard;
  close(): Promise<void>;
}

export async function startTargetExporter(
  targets: readonly TargetWatchOptions[],
  options: {
    readonly host: string;
    readonly port: number;
    readonly hostMetrics: boolean;
    readonly logger: Pick<Logger, 'warn'>;
  },
): Promise<TargetExporter> {
  const reads = new AbortController();
  const board = targetMetricsBoard(targets, { ...options, signal: reads.signal });
  const listener = await startMetricsListener({ host: options.host, port: options.port, source: board });
  return {
    url: listener.url,
    board,
    close: async () => {
      reads.abort();
      await listener.close();
    },
  };
}
