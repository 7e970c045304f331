import { loadConfigOrThrow } from '../../config/config-file.js';
import type { HindsightConfig } from '../../config/config-schema.js';
import { EMPTY_PAGING } from '../../config/paging-schema.js';
import { describeStore, parseServeOptions, resolveConfigPath } from '../../config/server-options.js';
import type { ServeDeps, ServeFlagsIn } from './serve-command.js';
import { stopSignal } from '../stop-signal.js';

const EMPTY: HindsightConfig = {
  server: {},
  targets: [],
  services: [],
  rules: {},
  tokens: [],
  notYetApplied: [],
  paging: EMPTY_PAGING,
};

export interface ServeIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM). */
  readonly stopRequested?: Promise<string>;
}

/** Starts the server, prints where it listens, and runs until SIGINT/SIGTERM, then drains and stops. */
export async function runServe(
  flags: ServeFlagsIn,
  deps: ServeDeps,
  io: ServeIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<void> {
  const stopRequested = io.stopRequested ?? stopSignal();
  const configPath = resolveConfigPath(flags.config);
  const config = configPath === null ? EMPTY : await loadConfigOrThrow(configPath);
  const options = parseServeOptions(flags, configPath === null ? null : config);
  if (config.notYetApplied.length > 0) {
    io.stderr.write(
      `hindsight: ${configPath ?? ''}: ${config.notYetApplied.join(', ')} accepted but not applied by this version (paging)\n`,
    );
  }
  io.stderr.write(
    `hindsight: starting — store: ${describeStore(options.store)}; config: ${configPath ?? 'none'} (${count(config.targets.length, 'target')}, ${count(config.services.length, 'service')})\n`,
  );
  const server = await deps.startServer(options, config);
  if (server.adminSecret !== null) {
    io.stderr.write(
      `hindsight: first start: created the admin token below. It is shown only this once; keep it (e.g. export HINDSIGHT_TOKEN=…)\n\n    ${server.adminSecret}\n\n`,
    );
  }
  io.stdout.write(`listening on ${server.url}\n`);
  const signal = await stopRequested;
  io.stderr.write(`hindsight: ${signal}: draining and stopping\n`);
  await server.stop();
  io.stderr.write('hindsight: stopped\n');
}

/** `1 target`, `2 targets`. */
const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
