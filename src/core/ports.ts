import type { Finding } from './finding.js';
import type { DeadlockReport } from './log-event.js';
import type { Sample } from './sample.js';

/** The ports core/ and app/ need from the outside world, named by role. Adapters implement them. */

/** Wall-clock time; tests fast-forward a fake one instead of sleeping. */
export interface Clock {
  now(): number;
}

/** Unique ids for findings, incidents and the like. */
export interface IdSource {
  next(prefix: string): string;
}

/** Reads one monitored database. Implemented by agent/targets/postgres. */
export interface TargetReader {
  /** The target's display name (never its URL: that may hold a password). */
  readonly name: string;
  /**
   * One sample. Rejects with a transient HindsightError when the target cannot be reached, and
   * with a user HindsightError when it never will be as configured (bad password, missing grant).
   */
  sample(signal: AbortSignal): Promise<Sample>;
  close(): Promise<void>;
}

/** A relation as PostgreSQL's log names it: by OIDs (the PostgreSQL adapter names them for its server log). */
export interface RelationRef {
  readonly databaseOid: number;
  readonly relationOid: number;
}

/** Where findings go: the terminal, a JSON stream, the incident record (`serve`), a push to a server (`agent`). */
export interface FindingSink {
  publish(finding: Finding): void;
}

/**
 * One target's server log, followed for a watch. Implemented by agent/targets/postgres: it reads
 * and interprets the log text and names relations by OID, so a use case gets reports, not text.
 */
export interface ServerLogSource {
  /**
   * Follows the log until `signal` aborts, then resolves. Rejects at once with a user
   * HindsightError when the log cannot be read at the start; later trouble (rotation, a vanished
   * file, a log not in English) goes to `onProblem` and following goes on.
   */
  follow(handlers: ServerLogHandlers, signal: AbortSignal): Promise<void>;
}

export interface ServerLogHandlers {
  /**
   * A deadlock report, in log order: relations named where the target could name them, queries
   * normalized unless raw text was asked for.
   */
  onDeadlock(report: DeadlockReport): void;
  /** The kind of every other recognised entry: `lock_timeout`, `serialization_failure`, `statement`… */
  onSignal(kind: string): void;
  /** A line for the operator: what went wrong with the log and what to do. */
  onProblem(message: string): void;
}
