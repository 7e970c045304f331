import type { DatabaseCounters, LockWait, SessionSnapshot, SessionState } from '../../../core/sample.js';
import type { SqlFiles } from './sql-files.js';

/**
 * A sample is two statements. Sessions come first as plain rows (sessions.sql): for hundreds of
 * sessions that is less than half the server time of building JSON (measured at 450 sessions). Then lock waits and counters,
 * short lists, as JSON in one row with the server time spent last (the SELECT list is evaluated
 * left to right). Parameters: $1 the OID of the connected database; $2 whether any session waits
 * on a lock: when none does (the usual case), pg_locks is not read at all (a one-time filter).
 */
export function composeLocksStatement(sql: SqlFiles, serverVersionNum: number): string {
  const lockWaits = serverVersionNum >= 140000 ? sql['lock-waits'] : sql['lock-waits-pg13'];
  return [
    'SELECT',
    `  (SELECT coalesce(json_agg(q), '[]') FROM (\n${lockWaits}) AS q WHERE $2::bool) AS lock_waits,`,
    `  (SELECT coalesce(json_agg(q), '[]') FROM (\n${sql['database-counters']}) AS q) AS counters,`,
    "  date_part('epoch', statement_timestamp()) * 1000 AS server_now,",
    "  date_part('epoch', clock_timestamp() - statement_timestamp()) * 1000 AS server_ms",
  ].join('\n');
}

/** The row of the locks statement, as `pg` parses it (json columns arrive parsed). */
export interface LocksRow {
  readonly lock_waits: readonly LockWaitRow[];
  readonly counters: readonly CountersRow[];
  readonly server_now: number;
  readonly server_ms: number;
}

/** A row of sessions.sql. */
export interface SessionRow {
  readonly pid: number;
  readonly state: string | null;
  readonly backend_type: string | null;
  readonly usename: string | null;
  readonly datname: string | null;
  readonly application_name: string | null;
  readonly client: string | null;
  readonly backend_start: number | null;
  readonly xact_start: number | null;
  readonly query_start: number | null;
  readonly state_change: number | null;
  readonly wait_event_type: string | null;
  readonly wait_event: string | null;
  readonly query: string | null;
  /** Server time spent so far; on the first row, the time to build them all (see sessions.sql). */
  readonly server_ms: number;
}

interface LockWaitRow {
  readonly pid: number;
  readonly lock_type: string;
  readonly mode: string;
  readonly relation_oid: number | null;
  readonly relation: string | null;
  readonly wait_start: number | null;
  readonly blocked_by: readonly number[] | null;
}

interface CountersRow {
  readonly database: string;
  readonly commits: number;
  readonly rollbacks: number;
  readonly deadlocks: number;
  readonly conflicts: number;
}

export function toSession(row: SessionRow, normalize: (sql: string) => string): SessionSnapshot {
  return {
    pid: row.pid,
    backendType: row.backend_type ?? 'unknown',
    state: row.state as SessionState | null,
    user: row.usename,
    database: row.datname,
    application: row.application_name === '' ? null : row.application_name,
    client: row.client,
    backendStart: row.backend_start,
    xactStart: row.xact_start,
    queryStart: row.query_start,
    stateChange: row.state_change,
    waitEventType: row.wait_event_type,
    waitEvent: row.wait_event,
    // Background processes report '' as their query.
    query: row.query === null || row.query === '' ? null : normalize(row.query),
  };
}

export function toLockWait(row: LockWaitRow): LockWait {
  return {
    pid: row.pid,
    lockType: row.lock_type,
    mode: row.mode,
    relation: row.relation,
    ...(row.relation_oid === null ? {} : { relationOid: row.relation_oid }),
    waitStart: row.wait_start,
    blockedBy: row.blocked_by ?? [],
  };
}

export function toCounters(row: CountersRow): DatabaseCounters {
  return {
    database: row.database,
    commits: row.commits,
    rollbacks: row.rollbacks,
    deadlocks: row.deadlocks,
    conflicts: row.conflicts,
  };
}
