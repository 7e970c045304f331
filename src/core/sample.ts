import type { SqlTags } from './app-signal.js';

/**
 * What the agent reads from one PostgreSQL at one instant. All times are epoch milliseconds.
 * Query text here is already normalized (literals → $n) unless raw text was opted in.
 */

/** `pg_stat_activity.state`; null for background processes. */
export type SessionState =
  | 'active'
  | 'idle'
  | 'idle in transaction'
  | 'idle in transaction (aborted)'
  | 'fastpath function call'
  | 'disabled';

/** One backend from `pg_stat_activity`. */
export interface SessionSnapshot {
  readonly pid: number;
  readonly backendType: string;
  readonly state: SessionState | null;
  readonly user: string | null;
  readonly database: string | null;
  readonly application: string | null;
  readonly client: string | null;
  readonly backendStart: number | null;
  readonly xactStart: number | null;
  readonly queryStart: number | null;
  readonly stateChange: number | null;
  readonly waitEventType: string | null;
  readonly waitEvent: string | null;
  /** The current query, or for an idle session the last one it ran. */
  readonly query: string | null;
  /** sqlcommenter tags the app put on that query (route, call site, release), read before normalizing. */
  readonly tags?: SqlTags;
}

/** A backend waiting on a heavyweight lock (`pg_locks` where not granted). */
export interface LockWait {
  readonly pid: number;
  /** `pg_locks.locktype`: relation, tuple, transactionid, advisory, … */
  readonly lockType: string;
  /** The mode it waits for, e.g. `ShareLock`, `AccessExclusiveLock`. */
  readonly mode: string;
  /** Schema-qualified relation name when the lock is on (a tuple of) a relation. */
  readonly relation: string | null;
  readonly waitStart: number | null;
  /** `pg_blocking_pids(pid)`: holders of conflicting locks and conflicting waiters ahead in the queue. */
  readonly blockedBy: readonly number[];
  /**
   * OID of that relation, also when its name cannot be resolved (it lives in another database).
   * For a `transactionid` wait on a row it is the row's relation (from the tuple lock the waiter holds).
   */
  readonly relationOid?: number;
  /** What it waits for, told as what it is (a row, a transaction of a pid…); absent from older agents. */
  readonly object?: LockObject;
}

/**
 * The thing a lock is on, as a DBA would name it. `pg_locks.locktype` says little by itself: a
 * `tuple` lock is a row, a `transactionid` wait is waiting for another session's transaction to
 * end (usually to get at a row it changed), and only `relation` is a lock on a whole table.
 */
export type LockObject =
  | { readonly kind: 'relation'; readonly relation: string | null; readonly relationOid: number | null }
  | RowLockObject
  | {
      readonly kind: 'transaction';
      /** The xid as text (xids pass 2^31), or null when only the holder is known (a log report). */
      readonly transactionId: string | null;
      /** The session whose transaction it waits for to end. */
      readonly holderPid: number | null;
      /** The row it wants, when known: the tuple lock the waiter holds while it waits. */
      readonly row: RowLockObject | null;
    }
  | {
      readonly kind: 'virtual_transaction';
      readonly virtualXid: string | null;
      readonly holderPid: number | null;
    }
  /** `pg_advisory_lock(42)` → `42`; the two-key form → `1,2`. */
  | { readonly kind: 'advisory'; readonly key: string }
  /** extend, page, object, … : `pg_locks.locktype` and the relation when it has one. */
  | { readonly kind: 'other'; readonly lockType: string; readonly relation: string | null };

export interface RowLockObject {
  readonly kind: 'row';
  readonly relation: string | null;
  readonly relationOid: number | null;
  /** `(page,tuple)`, e.g. `(0,1)`: what tells two rows of one table apart. Null when unknown. */
  readonly ctid: string | null;
}

/** Cumulative counters of one database from `pg_stat_database`. */
export interface DatabaseCounters {
  readonly database: string;
  readonly commits: number;
  readonly rollbacks: number;
  readonly deadlocks: number;
  readonly conflicts: number;
  /** Bytes written to temporary files by queries (sorts, hashes spilling past work_mem); absent from older agents. */
  readonly tempBytes?: number;
  /** Buffer reads found in shared buffers, and those that went to the OS: the cache hit ratio. */
  readonly blocksHit?: number;
  readonly blocksRead?: number;
}

/** `pg_stat_statements` figures for one normalized statement: what changed since the previous sample. */
export interface StatementStats {
  readonly queryId: string;
  readonly query: string;
  readonly calls: number;
  readonly totalExecMs: number;
  readonly rows: number;
}

export interface Sample {
  /** The target's name as configured (e.g. `primary`), not its URL. */
  readonly target: string;
  readonly takenAt: number;
  /** Server time spent answering this sample's queries (ms). */
  readonly serverMs: number;
  /** The server's clock when the sample was taken (epoch ms): ages without agent/server clock skew. */
  readonly serverNow?: number;
  /** The server's `max_connections` (connections in use are the client backends of `sessions`). */
  readonly maxConnections?: number;
  readonly sessions: readonly SessionSnapshot[];
  readonly lockWaits: readonly LockWait[];
  readonly counters: readonly DatabaseCounters[];
  /**
   * Statements that ran since the previous read of `pg_stat_statements` ([] on the first sample
   * of a connection, and on the samples between reads: the agent reads it every 10 s by default);
   * null when `pg_stat_statements` is not installed or not readable.
   */
  readonly statements: readonly StatementStats[] | null;
}
