import type { Command } from 'commander';
import type { HindsightConfig } from '../../config/config-schema.js';
import type { ServeOptions } from '../../config/server-options.js';

export interface RunningServer {
  /** `http://HOST:PORT` as bound (the port the OS chose when 0 was asked for). */
  readonly url: string;
  /** The generated bootstrap admin token's secret, on the first start without HINDSIGHT_ADMIN_TOKEN; print it once. */
  readonly adminSecret: string | null;
  /** Stops accepting, finishes requests in flight, stops the loops and watches, flushes the intake, closes the store. */
  stop(): Promise<void>;
}

/** What `serve` needs from the composition root (src/serve-deps.ts). */
export interface ServeDeps {
  /** Rejects with a user error for what the user can fix (port in use, the store is a monitored database). */
  startServer(options: ServeOptions, config: HindsightConfig): Promise<RunningServer>;
}

export interface ServeFlagsIn {
  readonly config?: string;
  readonly host?: string;
  readonly port?: string;
  readonly publicUrl?: string;
  readonly store?: string;
  readonly dataDir?: string;
  readonly hostMetrics?: boolean;
}

/** `deps` is loaded only when `serve` runs: the store, the API and the engine are not needed by other commands. */
export function registerServeCommand(program: Command, deps: () => Promise<ServeDeps>): void {
  program
    .command('serve')
    .description(
      'Run the Hindsight server: the HTTP API, the rule engine, and a watch of every target in the configuration.',
    )
    .option(
      '--config <file>',
      'hindsight.config.yaml or .json (default: HINDSIGHT_CONFIG, else ./hindsight.config.yaml if present)',
    )
    .option('--host <host>', 'address to listen on (default: HINDSIGHT_HOST, else 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default: HINDSIGHT_PORT, else 8080)')
    .option(
      '--public-url <url>',
      'the address people reach this server at, for the links in pages (default: HINDSIGHT_PUBLIC_URL, else the listening address)',
    )
    .option(
      '--store <url>',
      "a team's PostgreSQL for Hindsight's record, postgres://… (default: HINDSIGHT_STORE, else the embedded one)",
    )
    .option(
      '--data-dir <dir>',
      'where the embedded store keeps its data (default: HINDSIGHT_DATA_DIR, else ./.hindsight)',
    )
    .option(
      '--no-host-metrics',
      "never read this host's /proc for CPU, memory, disk and per-backend CPU of targets that run here (HINDSIGHT_HOST_METRICS=0)",
    )
    .action(async (flags: ServeFlagsIn) => {
      const { runServe } = await import('./serve-run.js');
      await runServe(flags, await deps());
    });
}
