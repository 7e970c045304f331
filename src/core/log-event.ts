import type { SqlTags } from './app-signal.js';
import type { LockObject } from './sample.js';

/**
 * The formats a server log comes in: the server's own (`log_destination` = stderr, csvlog, jsonlog)
 * and the envelopes other programs put around its stderr text — syslog (rsyslog, syslog-ng files)
 * and journald (`journalctl -o json`, `-o short-iso`) — and the platforms' layouts: CloudNativePG
 * (one JSON object per line, csvlog's columns under `record`), Google Cloud SQL (Cloud Logging
 * entries, the stderr text in `textPayload`), Heroku (logplex lines around syslog output), Azure
 * Database for PostgreSQL (diagnostic-settings records of PostgreSQLLogs, JSON), AWS RDS / Aurora
 * (the JSON of `aws rds download-db-log-file-portion`, the stderr text in `LogFileData`). The one list every
 * reader and option uses.
 */
export type LogFormat =
  | 'stderr'
  | 'csvlog'
  | 'jsonlog'
  | 'syslog'
  | 'journald'
  | 'cloudnative-pg'
  | 'cloudsql'
  | 'heroku'
  | 'azure'
  | 'rds';
export const LOG_FORMATS: readonly LogFormat[] = [
  'stderr',
  'csvlog',
  'jsonlog',
  'syslog',
  'journald',
  'cloudnative-pg',
  'cloudsql',
  'heroku',
  'azure',
  'rds',
];
/** What `--log-format` accepts: a format, or `auto` (told from the first lines). */
export type LogFormatChoice = LogFormat | 'auto';

/**
 * One PostgreSQL server log entry, whatever the file format (stderr with any `log_line_prefix`,
 * csvlog, jsonlog): continuation lines (DETAIL, HINT, CONTEXT, STATEMENT, tab-continued query text)
 * are already folded into the entry they belong to. Times are epoch milliseconds.
 */
export interface LogEvent {
  readonly at: number | null;
  readonly pid: number | null;
  /** LOG, ERROR, FATAL, PANIC, WARNING, NOTICE, INFO, DEBUG1…5. */
  readonly severity: string;
  /** SQLSTATE when the format carries it (csvlog, jsonlog, `%e` in the prefix). */
  readonly sqlstate: string | null;
  readonly message: string;
  readonly detail: string | null;
  readonly hint: string | null;
  readonly context: string | null;
  readonly statement: string | null;
  readonly user: string | null;
  readonly database: string | null;
  readonly application: string | null;
  readonly client: string | null;
  readonly sessionId: string | null;
}

/** One process of a deadlock cycle, as PostgreSQL's DETAIL reports it (`Process 12 waits for …`). */
export interface DeadlockProcess {
  readonly pid: number;
  /** e.g. `ShareLock`. */
  readonly waitsForMode: string;
  /** e.g. `transaction 746`, `tuple (0,1) of relation 16385 of database 5`. */
  readonly waitsForObject: string;
  /** Relation name when known (resolved from the OID through the catalog, or named in the log). */
  readonly relation: string | null;
  readonly blockedBy: number;
  /** The process's statement (from the DETAIL, or STATEMENT for the victim), normalized. */
  readonly query: string | null;
  /** What it waited for, told as what it is (the row and its ctid, the transaction of a pid…). */
  readonly lockObject?: LockObject;
  /** Its session's role and application_name, when a sample saw the pid (the log names neither). */
  readonly user?: string | null;
  readonly application?: string | null;
  /** sqlcommenter tags on its statement (route, call site, release of the app that ran it). */
  readonly tags?: SqlTags;
}

/** A deadlock report read from the server log. */
export interface DeadlockReport {
  readonly at: number | null;
  /** The process that was cancelled to break the cycle (the one that logged the ERROR). */
  readonly victimPid: number | null;
  readonly processes: readonly DeadlockProcess[];
  readonly database: string | null;
}
