import type { DeadlockReport } from '../core/log-event.js';
import { detach } from './detached-string.js';
import { createSketch, mergeSketch, type QuantileSketch } from './quantile-sketch.js';

/**
 * Everything the analyzer counts, as plain data (Maps, arrays, numbers) so that a worker thread
 * can post it to the main thread and `mergeState` can add two of them. Memory is bounded: every
 * Map keyed by something from the log is capped (`LIMITS`); what does not fit is counted in an
 * `overflow` bucket and reported, never dropped silently.
 */
export const LIMITS = {
  deadlockSignatures: 500,
  lockTargets: 2_000,
  blockers: 5_000,
  errorGroups: 2_000,
  fingerprints: 5_000,
  minutes: 200_000,
  sessionKeys: 1_000,
  autovacuumRelations: 2_000,
} as const;

export interface MinuteCounts {
  entries: number;
  errors: number;
  deadlocks: number;
  lockWaits: number;
  waitMs: number;
  slow: number;
}

export interface DeadlockGroup {
  readonly signature: readonly string[];
  count: number;
  firstAt: number | null;
  lastAt: number | null;
  readonly modes: Set<string>;
  readonly relations: Set<string>;
  readonly databases: Set<string>;
  readonly example: DeadlockReport;
  /** The example's statements as logged (raw), by pid. */
  readonly exampleStatements: Map<number, string>;
  readonly perMinute: Map<number, number>;
}

export type WaitEnding =
  'acquired' | 'deadlock' | 'lock-timeout' | 'statement-timeout' | 'cancel' | 'error' | 'unknown';

export interface LockTargetGroup {
  /** e.g. `ShareLock on transaction`, `RowExclusiveLock on relation 16385 of database 5`. */
  readonly key: string;
  waits: number;
  waitMs: number;
  maxMs: number;
}

export interface BlockerStats {
  readonly pid: number;
  /** Waits it held up, and their total duration (ms): every holder of a lock gets the full wait. */
  waits: number;
  waitMs: number;
  maxMs: number;
  /** What the holder last ran before the wait, normalized, when the log showed it. */
  lastStatement: string | null;
  application: string | null;
  user: string | null;
  database: string | null;
  firstAt: number | null;
  lastAt: number | null;
}

export interface ErrorGroup {
  readonly sqlstate: string;
  readonly message: string;
  readonly severity: string;
  count: number;
  firstAt: number | null;
  lastAt: number | null;
  example: string | null;
}

export interface SlowQueryGroup {
  readonly fingerprint: string;
  readonly durations: QuantileSketch;
  /** Executions that waited on a lock while they ran, and the ms of those waits within them. */
  victims: number;
  victimMs: number;
  lockWaitMs: number;
  example: string;
  exampleParameters: string | null;
}

export interface AnalysisState {
  entries: number;
  firstAt: number | null;
  lastAt: number | null;
  /** The span of every entry read, in the --since/--until window or not: what the files cover. */
  seenFirstAt: number | null;
  seenLastAt: number | null;
  readonly bySeverity: Map<string, number>;
  readonly perMinute: Map<number, MinuteCounts>;
  readonly deadlocks: Map<string, DeadlockGroup>;
  deadlockCount: number;
  readonly lockWaits: {
    started: number;
    readonly endings: Record<WaitEnding, number>;
    /** Sum of the waits' durations (ms), as far as the log tells them. */
    totalMs: number;
    readonly durations: QuantileSketch;
    readonly byTarget: Map<string, LockTargetGroup>;
    readonly byWaiterStatement: Map<string, { waits: number; waitMs: number }>;
    readonly blockers: Map<number, BlockerStats>;
  };
  readonly errors: Map<string, ErrorGroup>;
  readonly errorsByClass: Map<string, number>;
  readonly slow: Map<string, SlowQueryGroup>;
  readonly slowAll: QuantileSketch;
  slowVictimMs: number;
  slowLockWaitMs: number;
  readonly sessions: {
    connections: number;
    authorized: number;
    disconnections: number;
    readonly lengths: QuantileSketch;
    readonly byDatabase: Map<string, number>;
    readonly byUser: Map<string, number>;
    readonly byApplication: Map<string, number>;
  };
  readonly checkpoints: {
    started: number;
    completed: number;
    readonly durations: QuantileSketch;
    buffers: number;
  };
  readonly tempFiles: {
    count: number;
    bytes: number;
    maxBytes: number;
    readonly byFingerprint: Map<string, { count: number; bytes: number }>;
  };
  readonly autovacuum: {
    vacuums: number;
    analyzes: number;
    readonly byRelation: Map<string, { vacuums: number; analyzes: number; elapsedMs: number }>;
  };
  /** Keys that did not fit under LIMITS, by map; their counts went to an `(other)` entry. */
  readonly overflow: Map<string, number>;
}

export const OTHER_KEY = '(other)';

export function createState(): AnalysisState {
  return {
    entries: 0,
    firstAt: null,
    lastAt: null,
    seenFirstAt: null,
    seenLastAt: null,
    bySeverity: new Map(),
    perMinute: new Map(),
    deadlocks: new Map(),
    deadlockCount: 0,
    lockWaits: {
      started: 0,
      endings: {
        acquired: 0,
        deadlock: 0,
        'lock-timeout': 0,
        'statement-timeout': 0,
        cancel: 0,
        error: 0,
        unknown: 0,
      },
      totalMs: 0,
      durations: createSketch(),
      byTarget: new Map(),
      byWaiterStatement: new Map(),
      blockers: new Map(),
    },
    errors: new Map(),
    errorsByClass: new Map(),
    slow: new Map(),
    slowAll: createSketch(),
    slowVictimMs: 0,
    slowLockWaitMs: 0,
    sessions: {
      connections: 0,
      authorized: 0,
      disconnections: 0,
      lengths: createSketch(),
      byDatabase: new Map(),
      byUser: new Map(),
      byApplication: new Map(),
    },
    checkpoints: { started: 0, completed: 0, durations: createSketch(), buffers: 0 },
    tempFiles: { count: 0, bytes: 0, maxBytes: 0, byFingerprint: new Map() },
    autovacuum: { vacuums: 0, analyzes: 0, byRelation: new Map() },
    overflow: new Map(),
  };
}

/**
 * The entry for `key` in a capped map: created with `create()` while there is room, else the
 * map's `(other)` entry (created the same way) and the overflow counted under `name`.
 */
export function cappedEntry<K, V>(
  state: AnalysisState,
  spec: { readonly name: string; readonly map: Map<K, V>; readonly limit: number; readonly other: K },
  key: K,
  create: (key: K) => V,
): V {
  const found = spec.map.get(key);
  if (found !== undefined) return found;
  if (spec.map.size < spec.limit || key === spec.other) {
    // Keys are kept for the whole run: copy them out of the reader's chunk (see detach()).
    const kept = (typeof key === 'string' ? detach(key) : key) as K;
    const created = create(kept);
    spec.map.set(kept, created);
    return created;
  }
  state.overflow.set(spec.name, (state.overflow.get(spec.name) ?? 0) + 1);
  const other = spec.map.get(spec.other);
  if (other !== undefined) return other;
  const created = create(spec.other);
  spec.map.set(spec.other, created);
  return created;
}

export const minAt = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.min(a, b);
export const maxAt = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.max(a, b);

const addCount = <K>(into: Map<K, number>, from: Map<K, number>): void => {
  for (const [key, n] of from) into.set(key, (into.get(key) ?? 0) + n);
};

/**
 * Adds `from` into `into` (worker results, files). Caps still hold: a key that does not fit goes
 * to `(other)` as it would have when counting.
 */
export function mergeState(into: AnalysisState, from: AnalysisState): void {
  into.entries += from.entries;
  into.firstAt = minAt(into.firstAt, from.firstAt);
  into.lastAt = maxAt(into.lastAt, from.lastAt);
  into.seenFirstAt = minAt(into.seenFirstAt, from.seenFirstAt);
  into.seenLastAt = maxAt(into.seenLastAt, from.seenLastAt);
  addCount(into.bySeverity, from.bySeverity);
  for (const [minute, counts] of from.perMinute) {
    const target = into.perMinute.get(minute);
    if (target === undefined) {
      if (into.perMinute.size < LIMITS.minutes) into.perMinute.set(minute, { ...counts });
      else into.overflow.set('minutes', (into.overflow.get('minutes') ?? 0) + 1);
      continue;
    }
    target.entries += counts.entries;
    target.errors += counts.errors;
    target.deadlocks += counts.deadlocks;
    target.lockWaits += counts.lockWaits;
    target.waitMs += counts.waitMs;
    target.slow += counts.slow;
  }
  into.deadlockCount += from.deadlockCount;
  for (const [key, group] of from.deadlocks) {
    const target = cappedEntry(
      into,
      { name: 'deadlockSignatures', map: into.deadlocks, limit: LIMITS.deadlockSignatures, other: OTHER_KEY },
      key,
      () => ({
        ...group,
        count: 0,
        firstAt: null,
        lastAt: null,
        modes: new Set<string>(),
        relations: new Set<string>(),
        databases: new Set<string>(),
        perMinute: new Map<number, number>(),
      }),
    );
    target.count += group.count;
    target.firstAt = minAt(target.firstAt, group.firstAt);
    target.lastAt = maxAt(target.lastAt, group.lastAt);
    for (const mode of group.modes) target.modes.add(mode);
    for (const relation of group.relations) target.relations.add(relation);
    for (const database of group.databases) target.databases.add(database);
    addCount(target.perMinute, group.perMinute);
  }
  const lw = into.lockWaits;
  lw.started += from.lockWaits.started;
  for (const ending of Object.keys(lw.endings) as WaitEnding[])
    lw.endings[ending] += from.lockWaits.endings[ending];
  lw.totalMs += from.lockWaits.totalMs;
  mergeSketch(lw.durations, from.lockWaits.durations);
  for (const [key, group] of from.lockWaits.byTarget) {
    const target = cappedEntry(
      into,
      { name: 'lockTargets', map: lw.byTarget, limit: LIMITS.lockTargets, other: OTHER_KEY },
      key,
      (k) => ({ key: k, waits: 0, waitMs: 0, maxMs: 0 }),
    );
    target.waits += group.waits;
    target.waitMs += group.waitMs;
    target.maxMs = Math.max(target.maxMs, group.maxMs);
  }
  for (const [key, group] of from.lockWaits.byWaiterStatement) {
    const target = cappedEntry(
      into,
      { name: 'fingerprints', map: lw.byWaiterStatement, limit: LIMITS.fingerprints, other: OTHER_KEY },
      key,
      () => ({ waits: 0, waitMs: 0 }),
    );
    target.waits += group.waits;
    target.waitMs += group.waitMs;
  }
  for (const [pid, blocker] of from.lockWaits.blockers) {
    const target = cappedEntry(
      into,
      { name: 'blockers', map: lw.blockers, limit: LIMITS.blockers, other: -1 },
      pid,
      () => ({
        ...blocker,
        waits: 0,
        waitMs: 0,
        maxMs: 0,
        firstAt: null,
        lastAt: null,
      }),
    );
    target.waits += blocker.waits;
    target.waitMs += blocker.waitMs;
    target.maxMs = Math.max(target.maxMs, blocker.maxMs);
    target.firstAt = minAt(target.firstAt, blocker.firstAt);
    target.lastAt = maxAt(target.lastAt, blocker.lastAt);
    target.lastStatement ??= blocker.lastStatement;
    target.application ??= blocker.application;
    target.user ??= blocker.user;
    target.database ??= blocker.database;
  }
  for (const [key, group] of from.errors) {
    const target = cappedEntry(
      into,
      { name: 'errorGroups', map: into.errors, limit: LIMITS.errorGroups, other: OTHER_KEY },
      key,
      () => ({ ...group, count: 0, firstAt: null, lastAt: null }),
    );
    target.count += group.count;
    target.firstAt = minAt(target.firstAt, group.firstAt);
    target.lastAt = maxAt(target.lastAt, group.lastAt);
    target.example ??= group.example;
  }
  addCount(into.errorsByClass, from.errorsByClass);
  for (const [key, group] of from.slow) {
    const target = cappedEntry(
      into,
      { name: 'fingerprints', map: into.slow, limit: LIMITS.fingerprints, other: OTHER_KEY },
      key,
      (k) => ({
        fingerprint: k,
        durations: createSketch(),
        victims: 0,
        victimMs: 0,
        lockWaitMs: 0,
        example: group.example,
        exampleParameters: group.exampleParameters,
      }),
    );
    mergeSketch(target.durations, group.durations);
    target.victims += group.victims;
    target.victimMs += group.victimMs;
    target.lockWaitMs += group.lockWaitMs;
  }
  mergeSketch(into.slowAll, from.slowAll);
  into.slowVictimMs += from.slowVictimMs;
  into.slowLockWaitMs += from.slowLockWaitMs;
  const s = into.sessions;
  s.connections += from.sessions.connections;
  s.authorized += from.sessions.authorized;
  s.disconnections += from.sessions.disconnections;
  mergeSketch(s.lengths, from.sessions.lengths);
  addCount(s.byDatabase, from.sessions.byDatabase);
  addCount(s.byUser, from.sessions.byUser);
  addCount(s.byApplication, from.sessions.byApplication);
  into.checkpoints.started += from.checkpoints.started;
  into.checkpoints.completed += from.checkpoints.completed;
  into.checkpoints.buffers += from.checkpoints.buffers;
  mergeSketch(into.checkpoints.durations, from.checkpoints.durations);
  into.tempFiles.count += from.tempFiles.count;
  into.tempFiles.bytes += from.tempFiles.bytes;
  into.tempFiles.maxBytes = Math.max(into.tempFiles.maxBytes, from.tempFiles.maxBytes);
  for (const [key, group] of from.tempFiles.byFingerprint) {
    const target = cappedEntry(
      into,
      {
        name: 'fingerprints',
        map: into.tempFiles.byFingerprint,
        limit: LIMITS.fingerprints,
        other: OTHER_KEY,
      },
      key,
      () => ({ count: 0, bytes: 0 }),
    );
    target.count += group.count;
    target.bytes += group.bytes;
  }
  into.autovacuum.vacuums += from.autovacuum.vacuums;
  into.autovacuum.analyzes += from.autovacuum.analyzes;
  for (const [key, group] of from.autovacuum.byRelation) {
    const target = cappedEntry(
      into,
      {
        name: 'autovacuumRelations',
        map: into.autovacuum.byRelation,
        limit: LIMITS.autovacuumRelations,
        other: OTHER_KEY,
      },
      key,
      () => ({ vacuums: 0, analyzes: 0, elapsedMs: 0 }),
    );
    target.vacuums += group.vacuums;
    target.analyzes += group.analyzes;
    target.elapsedMs += group.elapsedMs;
  }
  addCount(into.overflow, from.overflow);
}
