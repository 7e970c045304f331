import { MetricsRecorder } from './app/metrics-recorder.js';
import { FindingPushClient } from './agent/push/finding-push-client.js';
import type { AgentDeps, RunningAgent } from './cli/commands/agent-command.js';
import type { HindsightConfig } from './config/config-schema.js';
import type { AgentOptions } from './config/server-options.js';
import { targetWatchOptions } from './configured-target.js';
import { superviseTargets } from './engine/target-supervisor.js';
import type { TargetWatchState } from './engine/target-watch.js';
import { startTargetExporter, targetMetricsBoard } from './metrics-deps.js';
import { createLogger } from './platform/logger.js';
import { systemClock } from './platform/system-clock.js';
import { openTargetWatch } from './watch-deps.js';

/**
 * Part of the composition root (src/main.ts): `hindsight agent` — the watches of `serve`, with the
 * push client as their sink instead of the finding intake. Loaded only when `agent` runs.
 */
export function agentDeps(): AgentDeps {
  return { startAgent };
}

async function startAgent(options: AgentOptions, config: HindsightConfig): Promise<RunningAgent> {
  const logger = createLogger({ name: 'hindsight-agent' });
  const targets = config.targets.map(targetWatchOptions);
  // Listening first: a port in use is one line before anything is watched or pushed.
  const exporter =
    options.metricsPort === null
      ? null
      : await startTargetExporter(targets, {
          host: options.metricsHost,
          port: options.metricsPort,
          hostMetrics: options.hostMetrics,
          logger,
        });
  // Without an exporter the board still reads the host, for the host figures of the pushed series.
  const board = exporter?.board ?? targetMetricsBoard(targets, { hostMetrics: options.hostMetrics, logger });
  const client = new FindingPushClient({
    server: options.server,
    token: options.token,
    agent: options.name,
    logger,
  });
  const series = new MetricsRecorder({
    save: (points, statements) => {
      client.publishSeries(points, statements);
      return Promise.resolve();
    },
    onError: () => undefined,
  });
  const watches = new AbortController();
  const pushing = new AbortController();
  const push = client.run(pushing.signal);
  const supervised = superviseTargets(
    targets,
    {
      openTargetWatch,
      sink: exporter?.board.tee(client) ?? client,
      onHealth: (health) => {
        client.reportHealth(health);
      },
      onSampled: (target: string, state: TargetWatchState) => {
        board.sampled(target, state);
        // Database metrics: 10 s points pushed with the findings, as serve records its own.
        if (state.lastSample !== null) series.record(state.lastSample, board.host(target));
        series.closeIdle(systemClock.now());
      },
      agent: options.name,
      clock: systemClock,
      logger,
    },
    watches.signal,
  );
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      watches.abort();
      await supervised;
      series.closeIdle(Number.POSITIVE_INFINITY);
      await series.flushed();
      pushing.abort();
      await push.catch(() => undefined);
      await exporter?.close();
    })());
  // A refused token ends the agent: nothing it watches could be delivered.
  const done = push.catch(async (error: unknown) => {
    watches.abort();
    await supervised;
    throw error;
  });
  return {
    done: done.then(() => stop()),
    stop,
    ...(exporter === null ? {} : { metricsUrl: exporter.url }),
  };
}
