import type { DeadlockReport } from '../core/log-event.js';

/**
 * What the analyzer counts, one per interesting log entry. The shared parser reads entries and
 * interprets their messages; `observe()` (observation-mapper.ts) maps its results to this small
 * union so that the aggregates stay independent of the wire format. Times are epoch ms, query
 * text is raw (the aggregates normalize it).
 */
export type LogObservation =
  | LockWaitStarted
  | LockWaitEnded
  | DeadlockObserved
  | ErrorObserved
  | DurationObserved
  | SessionObserved
  | CheckpointObserved
  | TempFileObserved
  | AutovacuumObserved
  | OtherObserved;

interface Base {
  readonly at: number | null;
  readonly pid: number | null;
  readonly severity: string;
  readonly user: string | null;
  readonly database: string | null;
  readonly application: string | null;
}

/** What a lock-wait line and its DETAIL say, whether it starts or ends the wait. */
interface LockWaitFields extends Base {
  readonly mode: string;
  readonly object: string;
  readonly afterMs: number;
  readonly holders: readonly number[];
  readonly queue: readonly number[];
  readonly statement: string | null;
  /** The relation named by the entry's CONTEXT (`while updating tuple (0,1) in relation "t"`). */
  readonly relation: string | null;
}

/** `process 12 still waiting for ShareLock on transaction 7 after 50.1 ms` + its DETAIL. */
export interface LockWaitStarted extends LockWaitFields {
  readonly kind: 'lock-wait-started';
}

/**
 * `acquired … after N ms`, or `detected deadlock while waiting … after N ms` — the latter is often
 * the only line of its wait (the deadlock check found the cycle at once), so it carries what a
 * start carries too.
 */
export interface LockWaitEnded extends LockWaitFields {
  readonly kind: 'lock-wait-ended';
  readonly ending: 'acquired' | 'deadlock';
}

export interface DeadlockObserved extends Base {
  readonly kind: 'deadlock';
  readonly report: DeadlockReport;
  /** The raw statements of the cycle's processes, by pid (DETAIL lines + the victim's STATEMENT). */
  readonly statements: ReadonlyMap<number, string>;
  /** The relation named by the entry's CONTEXT, when there is one. */
  readonly relation: string | null;
}

export interface ErrorObserved extends Base {
  readonly kind: 'error';
  /** From the log when it carries it, else inferred from the message (null when unknown). */
  readonly sqlstate: string | null;
  readonly message: string;
  readonly statement: string | null;
}

/** `duration: 12.3 ms  statement: …` (also `execute <name>:`), with its `DETAIL: parameters`. */
export interface DurationObserved extends Base {
  readonly kind: 'duration';
  readonly durationMs: number;
  readonly statement: string;
  readonly parameters: string | null;
}

export interface SessionObserved extends Base {
  readonly kind: 'session';
  readonly event: 'connection' | 'authorized' | 'disconnection';
  /** For a disconnection: the session's length. */
  readonly sessionMs: number | null;
}

export interface CheckpointObserved extends Base {
  readonly kind: 'checkpoint';
  readonly event: 'starting' | 'complete';
  /** For `complete`: total time (ms) and buffers written. */
  readonly totalMs: number | null;
  readonly buffers: number | null;
}

export interface TempFileObserved extends Base {
  readonly kind: 'temp-file';
  readonly bytes: number;
  readonly statement: string | null;
}

export interface AutovacuumObserved extends Base {
  readonly kind: 'autovacuum';
  readonly operation: 'vacuum' | 'analyze';
  readonly relation: string;
  readonly elapsedMs: number | null;
}

/** Any other entry: counted by severity so nothing is silently dropped. */
export interface OtherObserved extends Base {
  readonly kind: 'other';
}
