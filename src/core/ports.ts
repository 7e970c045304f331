import type { Finding } from './finding.js';
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
  /**
   * Schema-qualified names for relations met in log reports (`relation 16385 of database 5`),
   * keyed `databaseOid/relationOid`. Relations of databases it cannot see are left out.
   */
  relationNames(refs: readonly RelationRef[], signal: AbortSignal): Promise<ReadonlyMap<string, string>>;
  close(): Promise<void>;
}

/** A relation as PostgreSQL's log names it: by OIDs. */
export interface RelationRef {
  readonly databaseOid: number;
  readonly relationOid: number;
}

/** Where findings go: the terminal, a JSON stream, later the incident engine. */
export interface FindingSink {
  publish(finding: Finding): void;
}
