import type pg from 'pg';
import type { SqlFiles } from './sql-files.js';

/** Server settings read once per monitor connection (server-settings.sql). */
export interface ServerSettings {
  readonly serverVersionNum: number;
  readonly serverVersion: string;
  /** The role the agent is connected as. */
  readonly role: string;
  readonly database: string;
  readonly databaseOid: number;
  /** The monitor connection's own backend, left out of every sample. */
  readonly backendPid: number;
  readonly logLinePrefix: string;
  /** The zone the server writes log times in (`Europe/Berlin`): its abbreviations are read in it. */
  readonly logTimezone: string;
  readonly logDestination: string;
  readonly loggingCollector: boolean;
  /** null without pg_read_all_settings. */
  readonly logDirectory: string | null;
  /** null without pg_read_all_settings. */
  readonly dataDirectory: string | null;
  readonly lcMessages: string;
  readonly deadlockTimeoutMs: number;
  readonly logLockWaits: boolean;
  /** As the monitor session sees them, e.g. `2s` and `500ms`. */
  readonly statementTimeout: string;
  readonly lockTimeout: string;
  /** pg_monitor's parts: settings (pg_read_all_settings) and other roles' activity (pg_read_all_stats). */
  readonly canReadAllSettings: boolean;
  readonly canReadAllStats: boolean;
}

interface SettingsRow {
  server_version_num: number;
  server_version: string;
  role: string;
  database: string;
  database_oid: string | number;
  backend_pid: number;
  has_read_all_settings: boolean;
  has_read_all_stats: boolean;
  log_line_prefix: string;
  log_timezone: string;
  log_destination: string;
  logging_collector: boolean;
  lc_messages: string;
  deadlock_timeout_ms: number;
  log_lock_waits: boolean;
  statement_timeout: string;
  lock_timeout: string;
  log_directory: string | null;
  data_directory: string | null;
}

export async function readServerSettings(client: pg.Client, sql: SqlFiles): Promise<ServerSettings> {
  const { rows } = await client.query<SettingsRow>(sql['server-settings']);
  const row = rows[0];
  if (!row) throw new Error('server-settings.sql returned no row');
  return {
    serverVersionNum: row.server_version_num,
    serverVersion: row.server_version,
    role: row.role,
    database: row.database,
    databaseOid: Number(row.database_oid),
    backendPid: row.backend_pid,
    logLinePrefix: row.log_line_prefix,
    logTimezone: row.log_timezone,
    logDestination: row.log_destination,
    loggingCollector: row.logging_collector,
    logDirectory: row.log_directory,
    dataDirectory: row.data_directory,
    lcMessages: row.lc_messages,
    deadlockTimeoutMs: row.deadlock_timeout_ms,
    logLockWaits: row.log_lock_waits,
    statementTimeout: row.statement_timeout,
    lockTimeout: row.lock_timeout,
    canReadAllSettings: row.has_read_all_settings,
    canReadAllStats: row.has_read_all_stats,
  };
}
