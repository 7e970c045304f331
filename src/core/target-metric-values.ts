import type { DeadlockFinding } from './finding.js';
import type { DatabaseCounters, Sample, SessionState } from './sample.js';
import { buildWaitForGraph } from './wait-for-graph.js';
import { splitWorkAndWaits, type WorkWaitSplit } from './work-wait-split.js';

/**
 * What one sample says as gauge values, for an exporter: sessions by state, the lock picture
 * (blocked sessions, longest block, root blockers by state, waits by mode), active backends by
 * wait-event type, and the work/wait split. Computed when scraped, from the last sample only.
 */
export interface TargetMetricValues {
  /** Per database × state (every state, zeros included, as postgres_exporter does). */
  readonly sessions: readonly {
    readonly database: string;
    readonly state: SessionState;
    readonly count: number;
    readonly maxTxSeconds: number;
  }[];
  /** Client backends connected, per database. */
  readonly backends: readonly { readonly database: string; readonly count: number }[];
  /** Client backends of every database: what `max_connections` limits. */
  readonly connections: number;
  readonly maxConnections: number | null;
  /** Sessions waiting on a lock someone holds (or is ahead of them for). */
  readonly blockedSessions: number;
  /** The longest current lock wait, in seconds (0 when none). */
  readonly longestBlockSeconds: number;
  /** Root blockers (block others, wait on nobody) by their `pg_stat_activity.state`. */
  readonly rootBlockers: readonly { readonly state: string; readonly count: number }[];
  /** Lock waits by the mode waited for (`ShareLock`, `AccessExclusiveLock`…). */
  readonly lockWaits: readonly { readonly mode: string; readonly count: number }[];
  /** Active client backends by wait-event type; `CPU` for those not waiting. */
  readonly activeByWait: readonly { readonly waitEventType: string; readonly count: number }[];
  readonly split: WorkWaitSplit;
  readonly databases: readonly DatabaseCounters[];
}

export const SESSION_STATES: readonly SessionState[] = [
  'active',
  'idle',
  'idle in transaction',
  'idle in transaction (aborted)',
  'fastpath function call',
  'disabled',
];

/** A root's state when the sample no longer shows it (it left between the two reads). */
const UNKNOWN_STATE = 'unknown';

const bump = <K>(map: Map<K, number>, key: K, by = 1): void => {
  map.set(key, (map.get(key) ?? 0) + by);
};

export const targetMetricValues = (sample: Sample): TargetMetricValues => {
  const now = sample.serverNow ?? sample.takenAt;
  const databases = new Set<string>(sample.counters.map((c) => c.database));
  const count = new Map<string, number>();
  const maxTx = new Map<string, number>();
  const backends = new Map<string, number>();
  const activeByWait = new Map<string, number>();
  let connections = 0;
  const stateOf = new Map<number, string>();
  for (const s of sample.sessions) {
    stateOf.set(s.pid, s.state ?? UNKNOWN_STATE);
    if (s.backendType !== 'client backend') continue;
    connections += 1;
    if (s.state === 'active') bump(activeByWait, s.waitEventType ?? 'CPU');
    if (s.database === null) continue;
    databases.add(s.database);
    bump(backends, s.database);
    if (s.state === null) continue;
    const key = `${s.database}\u0000${s.state}`;
    bump(count, key);
    if (s.xactStart !== null)
      maxTx.set(key, Math.max(maxTx.get(key) ?? 0, Math.max(0, now - s.xactStart) / 1000));
  }

  const sessions = [...databases].sort().flatMap((database) =>
    SESSION_STATES.map((state) => {
      const key = `${database}\u0000${state}`;
      return { database, state, count: count.get(key) ?? 0, maxTxSeconds: maxTx.get(key) ?? 0 };
    }),
  );

  const blocked = new Set<number>();
  let longest = 0;
  const modes = new Map<string, number>();
  for (const w of sample.lockWaits) {
    bump(modes, w.mode);
    if (w.blockedBy.length > 0) blocked.add(w.pid);
    if (w.waitStart !== null) longest = Math.max(longest, (now - w.waitStart) / 1000);
  }
  const rootStates = new Map<string, number>();
  const graph = sample.lockWaits.length > 0 ? buildWaitForGraph(sample.lockWaits) : undefined;
  for (const root of graph?.roots ?? []) bump(rootStates, stateOf.get(root.pid) ?? UNKNOWN_STATE);

  return {
    sessions,
    backends: [...databases].sort().map((database) => ({ database, count: backends.get(database) ?? 0 })),
    connections,
    maxConnections: sample.maxConnections ?? null,
    blockedSessions: blocked.size,
    longestBlockSeconds: longest,
    rootBlockers: [...rootStates].map(([state, n]) => ({ state, count: n })),
    lockWaits: [...modes].map(([mode, n]) => ({ mode, count: n })),
    activeByWait: [...activeByWait].map(([waitEventType, n]) => ({ waitEventType, count: n })),
    split: splitWorkAndWaits(sample, graph),
    databases: sample.counters,
  };
};

/**
 * Deadlocks of one target, counted from its findings: a deadlock seen live and then reported by
 * the server log is one finding id published twice (the log's report re-emitted under the live
 * id), so it counts once; a `counter` finding stands for `count` deadlocks no report explained.
 */
export interface DeadlockTally {
  /** Records a deadlock finding; returns how much the total grew (0 for a finding already counted). */
  record(finding: DeadlockFinding): number;
  readonly total: number;
}

/** Ids remembered to recognise a re-emission; a log report follows its live sighting within seconds. */
const IDS_KEPT = 1_000;

export const createDeadlockTally = (): DeadlockTally => {
  const seen = new Set<string>();
  let total = 0;
  return {
    record(finding) {
      if (seen.has(finding.id)) return 0;
      seen.add(finding.id);
      if (seen.size > IDS_KEPT) {
        const oldest = seen.values().next().value;
        if (oldest !== undefined) seen.delete(oldest);
      }
      const added = Math.max(0, finding.count);
      total += added;
      return added;
    },
    get total() {
      return total;
    },
  };
};
