import type { SqlTags } from './app-signal.js';
import type { DeadlockProcess } from './log-event.js';
import type { LockObject, SessionState } from './sample.js';

/**
 * Findings: what the agent concludes from samples and log events. Each has a `kind` tag, the
 * target it is about, and the evidence it was drawn from. Times are epoch milliseconds; query
 * text is normalized.
 */
export type Finding =
  | DeadlockFinding
  | BlockingEpisodeFinding
  | LockWaitStormFinding
  | LongTransactionFinding
  | IdleInTransactionFinding
  | TargetUnreachableFinding
  | TargetRecoveredFinding;

export type FindingKind = Finding['kind'];

/** Every kind, for options and queries that name kinds (`--kind`, `?kind=`). A record, so that a
 *  kind added to the union and not here fails to compile. */
const KIND_SET: Readonly<Record<FindingKind, true>> = {
  deadlock: true,
  blocking_episode: true,
  lock_wait_storm: true,
  long_transaction: true,
  idle_in_transaction: true,
  target_unreachable: true,
  target_recovered: true,
};
export const FINDING_KINDS = Object.keys(KIND_SET) as readonly FindingKind[];

/** Where a finding's evidence came from. */
export type EvidenceSource = 'log' | 'live' | 'counter';

export interface DeadlockFinding {
  readonly kind: 'deadlock';
  readonly id: string;
  readonly target: string;
  readonly at: number;
  /** `log`: PostgreSQL's own report (primary); `live`: a cycle seen in the wait-for graph;
   *  `counter`: only `pg_stat_database.deadlocks` moved (fallback, lags up to ~10 s). */
  readonly source: EvidenceSource;
  readonly victimPid: number | null;
  /** Every process in the cycle with the lock it waited for and its query. Empty for `counter`. */
  readonly processes: readonly DeadlockProcess[];
  /** How many deadlocks this finding stands for (>1 only for `counter`). */
  readonly count: number;
  readonly database: string | null;
}

/** A session at the head of a blocking chain: it blocks others and waits on nobody. */
export interface RootBlocker {
  readonly pid: number;
  readonly state: SessionState | null;
  readonly query: string | null;
  readonly user: string | null;
  readonly application: string | null;
  readonly client: string | null;
  /** Age of its transaction at the last sample (ms), null outside a transaction. */
  readonly xactAgeMs: number | null;
  /** How long it has been in its current state (ms), e.g. idle in transaction for 40 s. */
  readonly stateAgeMs: number | null;
  /** Sessions waiting behind it, directly or through others. A root waits on nobody, so it is never
   *  merely ahead in a queue: queue-only blocking (an `ALTER TABLE` queued behind a long `SELECT`
   *  makes later `SELECT`s wait) marks the intermediate waiter — see `Victim.queueOnly`. */
  readonly blockedCount: number;
  /** sqlcommenter tags on its query (the app's route and call site), when the app wrote them. */
  readonly tags?: SqlTags;
}

/** A statement that is slow only because it waited on a lock: a victim of its root blocker. */
export interface Victim {
  readonly pid: number;
  readonly query: string | null;
  readonly waitedMs: number;
  readonly lockMode: string;
  readonly relation: string | null;
  /** What it waited for, told as what it is (a row and its ctid, a transaction of a pid…). */
  readonly lockObject?: LockObject;
  /** The pids it waited on directly. */
  readonly blockedBy: readonly number[];
  /** The root blocker(s) of its chain. */
  readonly rootPids: readonly number[];
  /** Its longest path to a root, in edges (1 = blocked directly by a root). */
  readonly depth?: number;
  /** It blocks others only by its place in a lock queue, holding nothing they want (the
   *  `ALTER TABLE` waiting behind a long `SELECT`, with later `SELECT`s queued behind it). */
  readonly queueOnly?: boolean;
  /** sqlcommenter tags on its query (the app's route and call site), when the app wrote them. */
  readonly tags?: SqlTags;
}

/** One edge of the wait-for graph: `waiter` waits on `blocker`. */
export interface WaitEdge {
  readonly waiter: number;
  readonly blocker: number;
  /** The blocker waits for the same relation lock: it is ahead in the queue, holding nothing. */
  readonly queued?: boolean;
}

export interface BlockingEpisodeFinding {
  readonly kind: 'blocking_episode';
  /** Stable across the episode's `open` and `closed` reports. */
  readonly id: string;
  readonly target: string;
  /** `open` when a lock wait first passes the threshold; `closed` once no waiter remains. */
  readonly phase: 'open' | 'closed';
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly roots: readonly RootBlocker[];
  readonly victims: readonly Victim[];
  /** Longest waiter → root path seen, in edges (1 = waiters blocked directly by the root). */
  readonly maxDepth: number;
  readonly maxWaiters: number;
  readonly longestWaitMs: number;
  /** The wait-for graph as last seen (when `closed`, the largest one seen). */
  readonly edges: readonly WaitEdge[];
}

/** Many sessions waiting on locks of one relation at once. */
export interface LockWaitStormFinding {
  readonly kind: 'lock_wait_storm';
  readonly id: string;
  readonly target: string;
  readonly at: number;
  readonly relation: string;
  readonly waiters: number;
}

export interface LongTransactionFinding {
  readonly kind: 'long_transaction';
  readonly id: string;
  readonly target: string;
  readonly at: number;
  readonly pid: number;
  readonly ageMs: number;
  readonly state: SessionState | null;
  readonly query: string | null;
  readonly application: string | null;
  /** sqlcommenter tags on its query (the app's route and call site), when the app wrote them. */
  readonly tags?: SqlTags;
}

export interface IdleInTransactionFinding {
  readonly kind: 'idle_in_transaction';
  readonly id: string;
  readonly target: string;
  readonly at: number;
  readonly pid: number;
  readonly idleMs: number;
  readonly query: string | null;
  readonly application: string | null;
  /** sqlcommenter tags on its query (the app's route and call site), when the app wrote them. */
  readonly tags?: SqlTags;
}

export interface TargetUnreachableFinding {
  readonly kind: 'target_unreachable';
  readonly id: string;
  readonly target: string;
  readonly at: number;
  /** One line: why the last attempt failed. */
  readonly reason: string;
}

export interface TargetRecoveredFinding {
  readonly kind: 'target_recovered';
  readonly id: string;
  readonly target: string;
  readonly at: number;
  readonly downMs: number;
}
