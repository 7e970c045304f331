/**
 * The one model both spec formats (YAML and PostgreSQL isolation tester `.spec`) and the
 * TypeScript API are turned into. A session is a connection running its steps in order; a step
 * is one scheduling point (one SQL submission).
 */
export interface RaceSpec {
  readonly name: string;
  readonly format: 'yaml' | 'isolation' | 'api';
  /** Run before every schedule, each as one submission on the control connection. */
  readonly setup: readonly string[];
  /** Run after every schedule (the schema is reset anyway). */
  readonly teardown: readonly string[];
  readonly sessions: readonly SessionSpec[];
  /** Fixed step orders to run instead of exploring (isolation tester `permutation` lines). */
  readonly permutations: readonly Permutation[];
  readonly invariants: readonly Invariant[];
  /** Outcomes that are acceptable (not findings). */
  readonly allow: readonly OutcomeKind[];
  /** Also try releasing two sessions' next statements at the same instant. */
  readonly overlap: boolean;
}

export interface SessionSpec {
  readonly name: string;
  readonly setup: readonly string[];
  readonly teardown: readonly string[];
  readonly steps: readonly StepSpec[];
}

export interface StepSpec {
  readonly name: string;
  readonly sql: string;
  /** The SQL as the isolation tester prints it (its block with only spaces and tabs trimmed at
   *  the braces), when that differs from `sql`. */
  readonly shown?: string;
  /** Released as soon as the session reaches it, without a scheduling decision (an implicit BEGIN). */
  readonly free?: boolean;
}

/** The isolation tester's step annotations. `s2a(s1b)`: once done, s2a is not complete while s1b
 *  is running in its session; `(*)`: the permutation goes on without waiting for the step, which
 *  completes later; `s2a(s1b notices 2)`: once done, s2a is not complete until the session of s1b
 *  has received 2 notices more than when s2a started (`(notices 2)`: the step's own session). */
export type Blocker =
  | { readonly kind: 'step'; readonly step: string }
  | { readonly kind: 'any' }
  | { readonly kind: 'notices'; readonly step: string; readonly count: number };

export interface PermutationEntry {
  readonly step: string;
  readonly blockers: readonly Blocker[];
}

export type Permutation = readonly PermutationEntry[];

export interface Invariant {
  readonly name: string;
  /** A query whose first column of its first row must be true at the end of every schedule. */
  readonly sql: string;
}

/** What can go wrong in a schedule; every kind but `serialization_failure` is a finding by default. */
export type OutcomeKind =
  | 'deadlock'
  | 'serialization_failure'
  | 'lock_timeout'
  | 'lock_not_available'
  | 'query_canceled'
  | 'unique_violation'
  | 'in_failed_transaction'
  | 'error'
  | 'anomaly'
  | 'invariant'
  | 'stall';

export const OUTCOME_KINDS: readonly OutcomeKind[] = [
  'deadlock',
  'serialization_failure',
  'lock_timeout',
  'lock_not_available',
  'query_canceled',
  'unique_violation',
  'in_failed_transaction',
  'error',
  'anomaly',
  'invariant',
  'stall',
];

export const DEFAULT_ALLOW: readonly OutcomeKind[] = ['serialization_failure'];

/** SQLSTATE (and, for 55P03, the message) to outcome kind: 55P03 is a lock timeout only when
 *  lock_timeout fired; NOWAIT's "could not obtain lock" is the lock not being available. */
export function outcomeOf(sqlstate: string, message?: string): OutcomeKind {
  if (sqlstate === '55P03' && message !== undefined && /could not obtain lock/i.test(message))
    return 'lock_not_available';
  switch (sqlstate) {
    case '40P01':
      return 'deadlock';
    case '40001':
      return 'serialization_failure';
    case '55P03':
      return 'lock_timeout';
    case '57014':
      return 'query_canceled';
    case '23505':
      return 'unique_violation';
    case '25P02':
      return 'in_failed_transaction';
    default:
      return 'error';
  }
}

/** Finds a step by name across sessions. */
export function findStep(spec: RaceSpec, name: string): { session: SessionSpec; step: StepSpec } | undefined {
  for (const session of spec.sessions) {
    const step = session.steps.find((s) => s.name === name);
    if (step) return { session, step };
  }
  return undefined;
}
