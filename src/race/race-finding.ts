import { outcomeOf } from './race-spec.js';
import type { OutcomeKind, RaceSpec } from './race-spec.js';
import type { ScheduleRun } from './schedule-runner.js';
import type { OracleVerdict } from './serial-oracle.js';

/** One edge of PostgreSQL's deadlock report, with pids turned into session names. */
export interface CycleEdge {
  readonly waiter: string;
  /** As PostgreSQL says it, with a relation's OID replaced by its name when known. */
  readonly lock: string;
  readonly holder: string;
  /** The lock mode asked for (AccessExclusiveLock, ShareLock…). */
  readonly mode?: string;
  /** The table (or other relation) the lock is on, when it is a relation lock. */
  readonly relation?: string;
}

/** Names that findingsOf turns PostgreSQL's numbers into. */
export interface FindingNames {
  readonly pids: ReadonlyMap<number, string>;
  /** Relation OIDs (as in `relation 16385 of database 5`) to names. */
  readonly relations?: ReadonlyMap<number, string>;
}

export interface RaceFinding {
  readonly kind: OutcomeKind;
  /** Same kind of problem, for deduplication and for the shrinker to keep. */
  readonly signature: string;
  readonly title: string;
  readonly session?: string;
  readonly step?: string;
  readonly code?: string;
  readonly message?: string;
  readonly cycle?: readonly CycleEdge[];
  /** An anomaly: the final state against what each serial order of the committed sessions gives. */
  readonly state?: FinalState;
  readonly fix: string;
  readonly run: ScheduleRun;
}

export interface FinalState {
  /** Canonical snapshot of the user tables after the schedule (see state-snapshot.ts). */
  readonly actual: string;
  readonly expected: readonly { readonly order: readonly string[]; readonly snapshot: string }[];
}

const DEADLOCK_EDGE = /Process (\d+) waits for (.+?) blocked by process (\d+)\./g;

const RELATION_LOCK = /^(\w+) on relation (\d+) of database \d+$/;

export function parseDeadlockDetail(
  detail: string,
  names: ReadonlyMap<number, string>,
  relations: ReadonlyMap<number, string> = new Map(),
): CycleEdge[] {
  const name = (pid: string): string => names.get(Number(pid)) ?? `pid ${pid}`;
  return [...detail.matchAll(DEADLOCK_EDGE)].map((m) => {
    const lock = (m[2] ?? '').replace(/;$/, '');
    const rel = RELATION_LOCK.exec(lock);
    const relation = rel ? (relations.get(Number(rel[2])) ?? `relation ${rel[2] ?? ''}`) : undefined;
    const mode = /^\w+/.exec(lock)?.[0];
    return {
      waiter: name(m[1] ?? ''),
      lock: rel && relation ? `${rel[1] ?? ''} on ${relation}` : lock,
      holder: name(m[3] ?? ''),
      ...(mode ? { mode } : {}),
      ...(relation ? { relation } : {}),
    };
  });
}

/** Every edge asks for a lock on the same relation: each session already holds a weaker lock
 *  on it and wants a stronger one (a lock upgrade), which no ordering of rows avoids. */
export function isLockUpgrade(cycle: readonly CycleEdge[]): boolean {
  const first = cycle[0]?.relation;
  return cycle.length > 1 && first !== undefined && cycle.every((e) => e.relation === first);
}

/** The findings of one schedule, given the spec's acceptable outcomes. */
export function findingsOf(
  spec: RaceSpec,
  run: ScheduleRun,
  verdict: OracleVerdict | undefined,
  names: FindingNames,
): RaceFinding[] {
  const allowed = new Set<OutcomeKind>(spec.allow);
  const found: RaceFinding[] = [];
  const seen = new Set<string>();
  const add = (f: Omit<RaceFinding, 'run'>): void => {
    if (allowed.has(f.kind) || seen.has(f.signature)) return;
    seen.add(f.signature);
    found.push({ ...f, run });
  };
  for (const e of run.events) {
    // A cancel race sent (its step timeout, or ending a stall) is race's to report, not the spec's.
    if (e.kind !== 'error' || !e.code || e.cancelledByRace) continue;
    const kind = outcomeOf(e.code, e.message);
    // Spec sessions list statements blindly: 25P02 after a failure is a consequence, not a bug.
    if (kind === 'in_failed_transaction' && spec.format !== 'api') continue;
    const cycle =
      kind === 'deadlock' && e.detail
        ? parseDeadlockDetail(e.detail, names.pids, names.relations)
        : undefined;
    add({
      kind,
      // Errors are told apart by where they happen: the same SQLSTATE elsewhere is another bug.
      signature: kind === 'deadlock' ? kind : `${kind}:${e.code}:${e.session}:${e.step}`,
      title: `${TITLES[kind]} (${e.code}) in ${e.session}: ${e.message ?? ''}`,
      session: e.session,
      step: e.step,
      code: e.code,
      ...(e.message ? { message: e.message } : {}),
      ...(cycle ? { cycle } : {}),
      fix:
        e.code === '23503'
          ? FK_VIOLATION_FIX
          : cycle
            ? deadlockFix(cycle, spec, run)
            : fixFor(kind, spec, run),
    });
  }
  for (const stall of run.stalls) {
    add({
      kind: 'stall',
      signature: 'stall',
      title: `${stall.session} waited for ${stall.waitsFor.join(', ')} forever in ${stall.step} (cancelled)`,
      session: stall.session,
      step: stall.step,
      fix: fixFor('stall', spec, run),
    });
  }
  for (const inv of run.invariantFailures) {
    add({
      kind: 'invariant',
      signature: `invariant:${inv.name}`,
      title: `invariant "${inv.name}" does not hold: ${inv.sql} returned ${JSON.stringify(inv.value)}`,
      fix: fixFor('invariant', spec, run),
    });
  }
  if (verdict?.kind === 'anomaly') {
    add({
      kind: 'anomaly',
      signature: 'anomaly',
      title: `the final state equals no serial order of the committed sessions (${run.committed.join(', ')}): a lost update or write skew`,
      state: { actual: run.snapshot, expected: verdict.serialStates },
      fix: fixFor('anomaly', spec, run),
    });
  }
  return found;
}

const FK_VIOLATION_FIX =
  'A concurrent transaction added or removed a referenced row between this transaction reading and writing: lock the parent row first (SELECT … FROM parent WHERE id = $1 FOR UPDATE) in both code paths, or let the database do it (ON DELETE CASCADE).';

const TITLES: Record<OutcomeKind, string> = {
  deadlock: 'deadlock',
  serialization_failure: 'serialization failure',
  lock_timeout: 'lock timeout',
  lock_not_available: 'lock not available (NOWAIT)',
  query_canceled: 'statement cancelled',
  unique_violation: 'unique violation',
  in_failed_transaction: 'code went on after an error in its transaction',
  error: 'error',
  anomaly: 'not serializable',
  invariant: 'invariant broken',
  stall: 'stall',
};

/** The advice that fits the cycle: lock upgrades and table locks are not fixed by row order. */
function deadlockFix(cycle: readonly CycleEdge[], spec: RaceSpec, run: ScheduleRun): string {
  if (isLockUpgrade(cycle)) {
    const table = cycle[0]?.relation ?? 'the table';
    const mode = cycle[0]?.mode ?? 'a stronger lock';
    return `A lock upgrade: every session already held a weaker lock on ${table} and then asked for ${mode}, so each waits for the others to let go; no ordering of rows avoids it. Take the strongest lock the transaction will need first (LOCK TABLE ${table} IN … MODE at its start, a self-conflicting mode such as SHARE ROW EXCLUSIVE if readers must go on), or retry the transaction on 40P01.`;
  }
  if (cycle.length > 0 && cycle.every((e) => e.relation !== undefined)) {
    return 'Table locks taken in different orders: lock the tables in one consistent order in every transaction (e.g. alphabetical, one LOCK TABLE a, b statement at the start), or retry the transaction on 40P01.';
  }
  return fixFor('deadlock', spec, run);
}

function fixFor(kind: OutcomeKind, spec: RaceSpec, run: ScheduleRun): string {
  const sql = run.events.map((e) => e.sql).join('\n');
  switch (kind) {
    case 'deadlock':
      if (
        /\binsert\b/i.test(sql) &&
        /references|foreign key/i.test(spec.setup.join('\n')) &&
        /\b(update|delete)\b/i.test(sql)
      ) {
        return 'A foreign-key check takes FOR KEY SHARE on the parent row. Lock the parent first in every transaction (SELECT … FROM parent WHERE id = $1 FOR UPDATE before touching its children), or update the parent with a non-key UPDATE (FOR NO KEY UPDATE does not conflict with KEY SHARE).';
      }
      if (/on\s+conflict/i.test(sql)) {
        return 'Upserts of several keys in different orders lock them in different orders: sort the rows by key before INSERT … ON CONFLICT (one statement with ORDER BY, or one key per transaction).';
      }
      return 'Take row locks in one consistent order in every transaction: sort the keys (e.g. by id) and lock them up front with SELECT … WHERE id = ANY($1) ORDER BY id FOR UPDATE, or retry the transaction on 40P01.';
    case 'serialization_failure':
      return 'Retry the whole transaction on SQLSTATE 40001 (this is how SERIALIZABLE and REPEATABLE READ report a conflict).';
    case 'lock_timeout':
      return 'A lock was held longer than lock_timeout: shorten the transaction holding it, or retry on 55P03.';
    case 'lock_not_available':
      return 'NOWAIT found the row or table locked and failed at once (55P03; no timeout involved): handle that answer — retry later, or take the next free row with SKIP LOCKED (queue workers) — or drop NOWAIT if waiting is acceptable.';
    case 'query_canceled':
      return 'A statement was cancelled (statement_timeout or cancel): shorten the blocking transaction or raise the timeout.';
    case 'unique_violation':
      return 'Two sessions inserted the same key: use INSERT … ON CONFLICT DO NOTHING / DO UPDATE instead of check-then-insert.';
    case 'in_failed_transaction':
      return 'The code kept using its transaction after an error: ROLLBACK (or ROLLBACK TO SAVEPOINT) before going on, and let the error reach the caller.';
    case 'anomaly':
    case 'invariant':
      if (/not\s+exists/i.test(sql) && /\binsert\b/i.test(sql)) {
        return 'Check-then-insert races even inside one statement: add a UNIQUE constraint and use INSERT … ON CONFLICT DO NOTHING (or take an advisory lock on the key first).';
      }
      if (kind === 'invariant') {
        return 'Find the interleaving in the timeline: lock the rows the invariant depends on (SELECT … FOR UPDATE), or use SERIALIZABLE and retry on 40001.';
      }
      return 'A value read earlier in the transaction was overwritten by another session: lock what you read (SELECT … FOR UPDATE), write atomically (UPDATE … SET n = n - 1 WHERE n > 0), or run the transactions SERIALIZABLE and retry on 40001.';
    case 'stall':
      return 'A session waited on a transaction that never ended: make sure every code path commits or rolls back.';
    case 'error':
      return 'An unexpected error: see the message.';
  }
}
