import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { pgpassPassword } from '../../../config/postgres-conninfo.js';
import { classifyError, missingPrivilege, type ErrorContext } from './connection-errors.js';
import { composeSampleQueries, type SampleQueries } from './sample-statement.js';
import { readServerSettings, type ServerSettings } from './server-settings.js';
import type { SqlFiles } from './sql-files.js';
import { probeStatements, type StatementsAvailability } from './statement-deltas.js';
import type { TargetUrl } from './target-url.js';

export const APPLICATION_NAME = 'hindsight-agent';

export interface MonitorSettings {
  readonly statementTimeoutMs: number;
  readonly lockTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

/** One open monitor connection and what was learned when it opened. */
export interface MonitorConnection {
  readonly client: pg.Client;
  readonly settings: ServerSettings;
  readonly queries: SampleQueries;
  statements: StatementsAvailability;
  statementsCheckedAt: number;
  /** Set by the 'error'/'end' events: the socket is gone, open a new connection. */
  broken: boolean;
}

/** The password for this connection from the password file (~/.pgpass), read anew on each connect. */
async function passwordFile(url: TargetUrl): Promise<string | null> {
  if (url.passfile === null) return null;
  const text = await readFile(url.passfile, 'utf8').catch(() => null);
  return text === null ? null : pgpassPassword(text, url);
}

/**
 * Opens the one connection the agent keeps per target. The session settings travel in the
 * startup packet, so they hold before the first query: a short statement_timeout and
 * lock_timeout (a monitoring query never waits behind the incident it watches), no JIT, and
 * an application_name by which the agent can be recognised and excluded.
 */
export async function openMonitorConnection(init: {
  url: TargetUrl;
  sql: SqlFiles;
  limits: MonitorSettings;
  context: ErrorContext;
  now: number;
}): Promise<MonitorConnection> {
  const { url, sql, limits, context } = init;
  const client = new pg.Client({
    connectionString: url.connectionString(url.password ?? (await passwordFile(url))),
    application_name: APPLICATION_NAME,
    statement_timeout: limits.statementTimeoutMs,
    lock_timeout: limits.lockTimeoutMs,
    // A safety net above statement_timeout for a server that stops answering altogether.
    query_timeout: limits.statementTimeoutMs + 3_000,
    connectionTimeoutMillis: limits.connectTimeoutMs,
    options: [url.options, '-c jit=off'].filter((o) => o !== null).join(' '),
  });
  let connection: MonitorConnection | undefined;
  // Without a listener, a connection lost while idle would crash the process.
  client.on('error', () => {
    if (connection) connection.broken = true;
  });
  client.on('end', () => {
    if (connection) connection.broken = true;
  });
  try {
    await client.connect();
    const settings = await readServerSettings(client, sql);
    if (!settings.canReadAllStats || !settings.canReadAllSettings) {
      const missing = [
        settings.canReadAllStats ? null : 'pg_read_all_stats: query text and state of other roles’ sessions',
        settings.canReadAllSettings ? null : 'pg_read_all_settings: log_directory and data_directory',
      ].filter((m) => m !== null);
      throw missingPrivilege({ ...context, user: settings.role }, missing.join('; '));
    }
    const statements = await probeStatements(client, sql);
    connection = {
      client,
      settings,
      queries: composeSampleQueries(sql, settings.serverVersionNum),
      statements,
      statementsCheckedAt: init.now,
      broken: false,
    };
    return connection;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw classifyError(error, context);
  }
}
