import type { Command } from 'commander';
import type { HindsightConfig } from '../../config/config-schema.js';
import type { AgentOptions } from '../../config/server-options.js';

export interface RunningAgent {
  /** Rejects with a user error when the server refuses the token; resolves after `stop()`. */
  readonly done: Promise<void>;
  /** Stops the watches, delivers what is buffered (a few seconds at most), and resolves. */
  stop(): Promise<void>;
  /** Where `--metrics-port` serves the targets' metrics. */
  readonly metricsUrl?: string;
}

/** What `agent` needs from the composition root (src/agent-deps.ts). */
export interface AgentDeps {
  /** Async when it listens first (`--metrics-port`): a port in use is an error before anything is watched. */
  startAgent(options: AgentOptions, config: HindsightConfig): RunningAgent | Promise<RunningAgent>;
}

export interface AgentFlags {
  readonly server?: string;
  readonly token?: string;
  readonly name?: string;
  readonly config?: string;
  readonly metricsPort?: string;
  readonly metricsHost?: string;
  readonly hostMetrics?: boolean;
}

export function registerAgentCommand(program: Command, deps: () => Promise<AgentDeps>): void {
  program
    .command('agent')
    .description(
      "Watch the targets in this host's configuration and push findings and target health to a Hindsight server.",
    )
    .option('--server <url>', 'the Hindsight server (default: HINDSIGHT_SERVER, else http://127.0.0.1:8080)')
    .option('--token <token>', 'an API token with role ingest, responder or admin (default: HINDSIGHT_TOKEN)')
    .option(
      '--name <name>',
      'how this agent names itself to the server (default: HINDSIGHT_AGENT_NAME, else the host name)',
    )
    .option(
      '--config <file>',
      'the targets to watch: hindsight.config.yaml or .json (default: HINDSIGHT_CONFIG, else ./hindsight.config.yaml)',
    )
    .option(
      '--metrics-port <port>',
      "also serve the targets' metrics for Prometheus at http://127.0.0.1:PORT/metrics (lock-aware, postgres_exporter names where they exist)",
    )
    .option(
      '--metrics-host <address>',
      'the address --metrics-port listens on (0.0.0.0: every interface)',
      '127.0.0.1',
    )
    .option(
      '--no-host-metrics',
      "never read this host's /proc for CPU, memory, disk and per-backend CPU (read only for targets that run here)",
    )
    .action(async (flags: AgentFlags) => {
      const { runAgent } = await import('./agent-run.js');
      await runAgent(flags, await deps());
    });
}
