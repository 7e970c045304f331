import { optionsError } from './option-problems.js';
import { NAME_PATTERN } from '../core/catalog.js';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { userError } from '../core/errors.js';
import { DEFAULT_CONFIG_FILES } from './config-file.js';
import type { HindsightConfig } from './config-schema.js';
import { formatPath } from './interpolate.js';
import { redactUrl } from '../core/url-redaction.js';
import { metricsFlags } from './watch-options.js';

/**
 * Options of `serve`, `agent` and the commands that talk to a server: flags first, then
 * `HINDSIGHT_*` variables, then the configuration file's `server:` section, then defaults.
 */

type Env = Readonly<Record<string, string | undefined>>;

/** `--config`, else HINDSIGHT_CONFIG, else hindsight.config.{yaml,yml,json} in `cwd` if present. */
export function resolveConfigPath(
  flag: string | undefined,
  env: Env = process.env,
  cwd: string = process.cwd(),
): string | null {
  const named = flag ?? env.HINDSIGHT_CONFIG;
  if (named !== undefined && named !== '') return named;
  for (const file of DEFAULT_CONFIG_FILES) {
    if (existsSync(resolve(cwd, file))) return file;
  }
  return null;
}

const port = z.coerce
  .number({ error: 'must be a port number' })
  .int('must be a whole number')
  .min(0, 'must be between 0 and 65535')
  .max(65_535, 'must be between 0 and 65535');

const storeUrl = z.string().refine((v) => /^postgres(ql)?:\/\/./.test(v), {
  message: 'must be a postgres://user:password@host:5432/database URL (leave it out for the embedded store)',
});

export type StoreChoice =
  | { readonly kind: 'embedded'; readonly dataDir: string }
  | { readonly kind: 'postgres'; readonly url: string };

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  readonly store: StoreChoice;
  /** HINDSIGHT_ADMIN_TOKEN: the bootstrap admin token's secret; null: generate one on first start. */
  readonly adminToken: string | null;
  readonly logLevel: string;
  /** Read this host's /proc for targets that run here (`--no-host-metrics`, HINDSIGHT_HOST_METRICS=0: never). Default true. */
  readonly hostMetrics?: boolean;
  /** The address people reach the server at (behind a proxy), for the links pages carry; absent: the listening URL. */
  readonly publicUrl?: string;
}

export interface ServeFlags {
  readonly host?: string | undefined;
  readonly publicUrl?: string | undefined;
  readonly port?: string | undefined;
  readonly store?: string | undefined;
  readonly dataDir?: string | undefined;
  /** commander's `--no-host-metrics`: false when given. */
  readonly hostMetrics?: boolean | undefined;
}

export function parseServeOptions(
  flags: ServeFlags,
  config: HindsightConfig | null,
  env: Env = process.env,
): ServeOptions {
  const file = config?.server ?? {};
  const schema = z.object({
    host: z.string().min(1, 'must not be empty'),
    port,
    store: storeUrl.optional(),
    dataDir: z.string().min(1, 'must not be empty'),
    adminToken: z
      .string()
      .refine((v) => v.trim() !== '', 'must not be blank (generate one: openssl rand -base64 32)')
      .optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be fatal, error, warn, info, debug, trace or silent',
    }),
    publicUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s):// URL, e.g. https://hindsight.example.com' })
      .optional(),
  });
  const parsed = schema.safeParse({
    host: flags.host ?? env.HINDSIGHT_HOST ?? file.host ?? '127.0.0.1',
    port: flags.port ?? env.HINDSIGHT_PORT ?? file.port ?? 8080,
    store: flags.store ?? nonEmpty(env.HINDSIGHT_STORE) ?? file.store,
    dataDir: flags.dataDir ?? env.HINDSIGHT_DATA_DIR ?? file.dataDir ?? '.hindsight',
    adminToken: nonEmpty(env.HINDSIGHT_ADMIN_TOKEN),
    logLevel: env.HINDSIGHT_LOG_LEVEL ?? 'info',
    publicUrl: flags.publicUrl ?? nonEmpty(env.HINDSIGHT_PUBLIC_URL) ?? file.publicUrl,
  });
  if (!parsed.success) {
    const names: Readonly<Record<string, string>> = {
      host: '--host / HINDSIGHT_HOST',
      port: '--port / HINDSIGHT_PORT',
      store: '--store / HINDSIGHT_STORE',
      dataDir: '--data-dir / HINDSIGHT_DATA_DIR',
      adminToken: 'HINDSIGHT_ADMIN_TOKEN',
      logLevel: 'HINDSIGHT_LOG_LEVEL',
      publicUrl: '--public-url / HINDSIGHT_PUBLIC_URL',
    };
    const lines = parsed.error.issues.map(
      (i) => `${names[formatPath(i.path)] ?? formatPath(i.path)}: ${i.message}`,
    );
    throw userError(
      'SERVE_BAD_OPTIONS',
      lines.length === 1 ? (lines[0] ?? '') : `invalid options:\n  - ${lines.join('\n  - ')}`,
    );
  }
  const o = parsed.data;
  return {
    host: o.host,
    port: o.port,
    store:
      o.store === undefined
        ? { kind: 'embedded', dataDir: resolve(o.dataDir) }
        : { kind: 'postgres', url: o.store },
    adminToken: o.adminToken ?? null,
    logLevel: o.logLevel,
    hostMetrics: flags.hostMetrics !== false && env.HINDSIGHT_HOST_METRICS !== '0',
    ...(o.publicUrl === undefined ? {} : { publicUrl: o.publicUrl.replace(/\/+$/, '') }),
  };
}

/** Where the store lives, for a log line: never a password. */
export const describeStore = (store: StoreChoice): string =>
  store.kind === 'embedded' ? `embedded PostgreSQL in ${store.dataDir}` : redactUrl(store.url);

export interface ServerClientOptions {
  /** The server's base URL without a trailing slash. */
  readonly server: string;
  readonly token: string;
}

/** `--server` (else HINDSIGHT_SERVER, else http://127.0.0.1:8080) and `--token` (else HINDSIGHT_TOKEN). */
export function parseServerClientOptions(
  flags: { readonly server?: string | undefined; readonly token?: string | undefined },
  env: Env = process.env,
): ServerClientOptions {
  const server = flags.server ?? nonEmpty(env.HINDSIGHT_SERVER) ?? 'http://127.0.0.1:8080';
  const token = flags.token ?? nonEmpty(env.HINDSIGHT_TOKEN);
  const problems: string[] = [];
  if (!/^https?:\/\/[^/]/.test(server))
    problems.push(`--server / HINDSIGHT_SERVER must be an http:// or https:// URL (got "${server}")`);
  if (token === undefined || token === '') {
    problems.push(
      'no API token: pass --token or set HINDSIGHT_TOKEN (the admin token serve printed on its first start, or one from POST /api/v1/tokens)',
    );
  }
  if (problems.length > 0 || token === undefined) throw optionsError('CLIENT_BAD_OPTIONS', problems);
  return { server: server.replace(/\/+$/, ''), token };
}

/**
 * `parseServerClientOptions` for a command that reports all its problems at once: the problem is
 * added to `problems` and null returned, instead of a throw that would hide the others.
 */
export function collectServerClientOptions(
  flags: { readonly server?: string | undefined; readonly token?: string | undefined },
  env: Env,
  problems: string[],
): ServerClientOptions | null {
  try {
    return parseServerClientOptions(flags, env);
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
    return null;
  }
}

export interface AgentOptions extends ServerClientOptions {
  /** How this agent names itself to the server: --name, else HINDSIGHT_AGENT_NAME, else the host name. */
  readonly name: string;
  /** Serve the targets' metrics for Prometheus on this port (`--metrics-port`); null: no exporter. */
  readonly metricsPort: number | null;
  readonly metricsHost: string;
  /** Read the host's /proc for targets that run here (`--no-host-metrics`: never). */
  readonly hostMetrics: boolean;
}

const agentMetricsSchema = z.object(metricsFlags);

export function parseAgentOptions(
  flags: {
    readonly server?: string | undefined;
    readonly token?: string | undefined;
    readonly name?: string | undefined;
    readonly metricsPort?: string | number | undefined;
    readonly metricsHost?: string | undefined;
    readonly hostMetrics?: boolean | undefined;
  },
  env: Env = process.env,
): AgentOptions {
  const client = parseServerClientOptions(flags, env);
  const name = flags.name ?? nonEmpty(env.HINDSIGHT_AGENT_NAME) ?? hostname();
  if (!NAME_PATTERN.test(name)) {
    throw userError(
      'AGENT_BAD_OPTIONS',
      `--name must be 1–63 letters, digits, ".", "_" or "-" (got "${name}")`,
    );
  }
  const metrics = agentMetricsSchema.safeParse({
    metricsPort: flags.metricsPort,
    metricsHost: flags.metricsHost,
    hostMetrics: flags.hostMetrics,
  });
  if (!metrics.success)
    throw optionsError(
      'AGENT_BAD_OPTIONS',
      metrics.error.issues.map((i) => i.message),
    );
  return {
    ...client,
    name,
    metricsPort: metrics.data.metricsPort ?? null,
    metricsHost: metrics.data.metricsHost,
    hostMetrics: metrics.data.hostMetrics,
  };
}

const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value === '' ? undefined : value;
