import type {
  DatabaseCounters,
  LockObject,
  LockWait,
  SessionSnapshot,
  SessionState,
} from '../../../core/sample.js';
import { parseSqlTags } from '../../../core/sql-comment-tags.js';
import { jsonStatement, type JsonStatementRow } from './json-statement.js';
import type { SqlFiles } from './sql-files.js';

/** The statements of one sample, composed once per connection (they depend on the version). */
export interface SampleQueries {
  /** Plain rows: for hundreds of sessions, less than half the server time of building JSON. */
  readonly sessions: string;
  /** JSON in one row; run only when a session waits on a lock (wait_event_type 'Lock'). $1: database OID. */
  readonly lockWaits: string;
  /** JSON in one row, with the server's clock. */
  readonly counters: string;
}

/**
 * Separate statements, not one: measured at 400 lock holders, reading pg_locks and
 * pg_stat_database in the same statement made the next pg_stat_activity read on that backend
 * several times slower (cause not pinned down), while separate statements cost one local round
 * trip more.
 */
export function composeSampleQueries(sql: SqlFiles, serverVersionNum: number): SampleQueries {
  return {
    sessions: sql.sessions,
    lockWaits: jsonStatement(serverVersionNum >= 140000 ? sql['lock-waits'] : sql['lock-waits-pg13']),
    counters: jsonStatement(sql['database-counters'], [
      "date_part('epoch', statement_timestamp()) * 1000 AS server_now",
      // A setting read from memory (no catalog access); it changes only with a restart.
      "current_setting('max_connections')::int4 AS max_connections",
    ]),
  };
}

export interface CountersStatementRow extends JsonStatementRow<CountersRow> {
  readonly server_now: number;
  readonly max_connections: number;
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

export interface LockWaitRow {
  readonly pid: number;
  readonly lock_type: string;
  readonly mode: string;
  readonly relation_oid: number | null;
  readonly relation: string | null;
  readonly wait_start: number | null;
  readonly blocked_by: readonly number[] | null;
  /** `(page,tuple)` of the row: the tuple lock waited for, or held while waiting for a transaction. */
  readonly ctid?: string | null;
  readonly transaction_id?: string | null;
  readonly virtual_xid?: string | null;
  /** The pid holding the transactionid/virtualxid lock waited for. */
  readonly holder_pid?: number | null;
  readonly advisory_key?: string | null;
}

interface CountersRow {
  readonly database: string;
  readonly commits: number;
  readonly rollbacks: number;
  readonly deadlocks: number;
  readonly conflicts: number;
  readonly temp_bytes: number;
  readonly blocks_hit: number;
  readonly blocks_read: number;
}

/**
 * A session as the agent reports it. The app's sqlcommenter tags (route, call site) are read off
 * the query before normalizing, which would drop the comment; the query is shown without it.
 */
export function toSession(row: SessionRow, normalize: (sql: string) => string): SessionSnapshot {
  // Background processes report '' as their query; a query cut inside its tags may leave nothing.
  const tagged = row.query === null || row.query === '' ? null : parseSqlTags(row.query);
  const hasTags = tagged !== null && Object.keys(tagged.tags).length > 0;
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
    query: tagged === null || tagged.sql === '' ? null : normalize(tagged.sql),
    ...(hasTags ? { tags: tagged.tags } : {}),
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
    object: lockObject(row),
  };
}

/** The row's lock as what it is: a row, a transaction of a pid, a relation, an advisory key. */
export function lockObject(row: LockWaitRow): LockObject {
  const relation = row.relation;
  const relationOid = row.relation_oid;
  const ctid = row.ctid ?? null;
  switch (row.lock_type) {
    case 'relation':
      return { kind: 'relation', relation, relationOid };
    case 'tuple':
      return { kind: 'row', relation, relationOid, ctid };
    case 'transactionid':
      return {
        kind: 'transaction',
        transactionId: row.transaction_id ?? null,
        holderPid: row.holder_pid ?? null,
        row: relation === null && relationOid === null ? null : { kind: 'row', relation, relationOid, ctid },
      };
    case 'virtualxid':
      return {
        kind: 'virtual_transaction',
        virtualXid: row.virtual_xid ?? null,
        holderPid: row.holder_pid ?? null,
      };
    case 'advisory':
      return { kind: 'advisory', key: row.advisory_key ?? '?' };
    default:
      return { kind: 'other', lockType: row.lock_type, relation };
  }
}

export function toCounters(row: CountersRow): DatabaseCounters {
  return {
    database: row.database,
    commits: row.commits,
    rollbacks: row.rollbacks,
    deadlocks: row.deadlocks,
    conflicts: row.conflicts,
    tempBytes: row.temp_bytes,
    blocksHit: row.blocks_hit,
    blocksRead: row.blocks_read,
  };
}
