import { z } from 'zod';
import { LOG_FORMATS, type LogFormatChoice } from '../core/log-event.js';
import type { LogTimezone } from '../postgres-log/log-timezone.js';
import { logTimezoneOption } from './analyze-options.js';
import { optionsError } from './option-problems.js';
import { connInfoLabel, pgEnvironment, resolveConnInfo, type PgEnvironment } from './postgres-conninfo.js';

/** `hindsight watch` options after validation: flags first, then environment, then defaults. */
export interface WatchOptions {
  /** As given (`postgres://` when none was: the `PG*` variables say it all, as for psql). */
  readonly url: string;
  /** The `PG*` variables and password file: what the URL leaves out, libpq-style. */
  readonly environment: PgEnvironment;
  /** Display name of the target; host/database by default (never the password). */
  readonly name: string;
  /** A log file, its log_directory, or `-`: standard input (a piped `kubectl logs -f`, `journalctl -f -o json`). */
  readonly logPath: string | null;
  readonly logPrefix: string | null;
  readonly logFormat: LogFormatChoice;
  /** `--log-timezone`; absent: the server's own log_timezone, read when it connects. */
  readonly logTimezone: LogTimezone | null;
  readonly fromStart: boolean;
  readonly json: boolean;
  readonly intervalMs: number;
  readonly rawQueries: boolean;
  readonly blockingThresholdMs: number;
  readonly idleInTransactionMs: number;
  readonly longTransactionMs: number;
  /** Serve the target's metrics for Prometheus on this port (`--metrics-port`); null: no exporter. */
  readonly metricsPort: number | null;
  readonly metricsHost: string;
  /** Read the host's CPU, memory, disk and per-backend CPU when the target runs here (`--no-host-metrics`: never). */
  readonly hostMetrics: boolean;
}

/** `--metrics-port`/`--metrics-host` of `watch` and `agent`: loopback unless told otherwise, as exporters do. */
export const metricsFlags = {
  metricsPort: z.coerce
    .number({ error: '--metrics-port must be a port number' })
    .int('--metrics-port must be a whole port number')
    .min(0, '--metrics-port must be between 0 and 65535')
    .max(65_535, '--metrics-port must be between 0 and 65535')
    .optional(),
  metricsHost: z.string().min(1, '--metrics-host must name an address, e.g. 0.0.0.0').default('127.0.0.1'),
  hostMetrics: z.boolean().default(true),
};

const postgresUrl = z.string().optional();
const seconds = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a number of seconds` })
    .positive(`${name} must be more than 0 seconds`);

const schema = z.object({
  url: postgresUrl,
  name: z.string().min(1).optional(),
  log: z.string().min(1).optional(),
  logPrefix: z.string().optional(),
  logTimezone: logTimezoneOption.optional(),
  logFormat: z
    .enum(['auto', ...LOG_FORMATS], { error: `--log-format must be one of auto, ${LOG_FORMATS.join(', ')}` })
    .default('auto'),
  fromStart: z.boolean().default(false),
  json: z.boolean().default(false),
  interval: seconds('--interval').max(60, '--interval must be at most 60 seconds').default(1),
  rawQueries: z.boolean().default(false),
  blockingThreshold: seconds('--blocking-threshold').default(1),
  idleInTransaction: seconds('--idle-in-transaction').default(30),
  longTransaction: seconds('--long-transaction').default(300),
  ...metricsFlags,
});

export type WatchFlags = z.input<typeof schema>;

/**
 * Validates `watch` flags, reporting every problem at once. `env` is consulted for opt-ins that
 * teams set once (HINDSIGHT_RAW_QUERIES=1); this module is the only reader of process.env for it.
 */
export function parseWatchOptions(flags: WatchFlags, env: NodeJS.ProcessEnv = process.env): WatchOptions {
  const environment = pgEnvironment(env);
  const url = flags.url ?? 'postgres://';
  const connection = resolveConnInfo(url, environment);
  const parsed = schema.safeParse(flags);
  if (!parsed.success || !connection.ok) {
    const problems = [
      ...(connection.ok ? [] : [connection.problem]),
      ...(parsed.success ? [] : parsed.error.issues.map((i) => i.message)),
    ];
    throw optionsError('WATCH_BAD_OPTIONS', problems);
  }
  const f = parsed.data;
  return {
    url,
    environment,
    name: f.name ?? connInfoLabel(connection.info),
    logPath: f.log ?? null,
    logPrefix: f.logPrefix ?? null,
    logFormat: f.logFormat,
    logTimezone: f.logTimezone ?? null,
    fromStart: f.fromStart,
    json: f.json,
    intervalMs: Math.round(f.interval * 1000),
    rawQueries: f.rawQueries || env.HINDSIGHT_RAW_QUERIES === '1',
    blockingThresholdMs: Math.round(f.blockingThreshold * 1000),
    idleInTransactionMs: Math.round(f.idleInTransaction * 1000),
    longTransactionMs: Math.round(f.longTransaction * 1000),
    metricsPort: f.metricsPort ?? null,
    metricsHost: f.metricsHost,
    hostMetrics: f.hostMetrics,
  };
}
