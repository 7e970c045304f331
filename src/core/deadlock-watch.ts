import type { DetectorContext } from './detector-context.js';
import type { DeadlockFinding } from './finding.js';
import type { DeadlockProcess, DeadlockReport } from './log-event.js';
import type { Sample, SessionSnapshot } from './sample.js';
import type { WaitForGraph } from './wait-for-graph.js';

/**
 * Deadlocks from three sources, each deadlock reported once:
 *  - `live`: a cycle in the wait-for graph, seen before PostgreSQL's `deadlock_timeout` breaks it.
 *    A cycle present in consecutive samples is one deadlock.
 *  - `log`: PostgreSQL's own report (primary). When it follows a live sighting of the same pids
 *    (one set contains the other) within the merge window, it is the same deadlock: the finding is
 *    re-emitted under the live finding's id with the log's richer data (victim, every query), the
 *    way an episode's `closed` report shares its `open` id. A log report that arrives first makes
 *    a later live sighting of those pids a duplicate. Each live sighting merges with one report
 *    at most: pooled connections deadlock again and again between the same backends.
 *  - `counter`: `pg_stat_database.deadlocks` rose and, `counterGraceMs` later, no log or live
 *    deadlock of that database explains the rise (the counter lags the event by up to ~10 s).
 */
export interface DeadlockWatch {
  onSample(sample: Sample, graph: WaitForGraph): DeadlockFinding[];
  onDeadlockReport(report: DeadlockReport): DeadlockFinding[];
  /** The target went away: live cycles can no longer be followed. */
  onUnreachable(): void;
}

interface KnownDeadlock {
  readonly id: string;
  readonly pids: ReadonlySet<number>;
  database: string | null;
  readonly at: number;
  lastSeenAt: number;
  /** Seen live, as a cycle in the wait-for graph. */
  live: boolean;
  /** Set once the log reported it: the report's identity. */
  logKey: string | null;
  claimedByCounter: boolean;
  /** The processes as the live graph showed them, to fill what the log leaves out. */
  liveProcesses: readonly DeadlockProcess[];
}

interface CounterRise {
  readonly database: string;
  readonly delta: number;
  readonly at: number;
}

/**
 * A log line's time may be a whole second off the sample's (`%t` has no milliseconds, and the server's
 * clock is not the agent's); a cycle seen live is never older than the report that broke it by more.
 */
const CLOCK_SLACK_MS = 2_000;

const nests = (a: ReadonlySet<number>, b: ReadonlySet<number>): boolean => {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  return small.size > 0 && [...small].every((pid) => large.has(pid));
};

const logKeyOf = (report: DeadlockReport): string =>
  `${report.at ?? ''}|${report.victimPid ?? ''}|${report.processes
    .map((p) => p.pid)
    .sort((a, b) => a - b)
    .join(',')}`;

/**
 * The log names a relation only for the victim (from its CONTEXT), unqualified, and a lock object
 * by OIDs and xids; the live graph saw every waiter's relation, schema-qualified, the row's ctid
 * and the session's user and application. Prefer what the live graph saw where it is the same
 * relation; the log's own text stays in `waitsForObject`. The log's sqlcommenter tags win; the
 * live ones fill in where the log has none.
 */
const withLiveDetail = (
  logged: readonly DeadlockProcess[],
  live: readonly DeadlockProcess[],
): DeadlockProcess[] =>
  logged.map((p) => {
    const seen = live.find((l) => l.pid === p.pid);
    if (seen === undefined) return p;
    const people = {
      user: p.user ?? seen.user ?? null,
      application: p.application ?? seen.application ?? null,
      // The log's text may be cut before tags written last; the live sample read the same statement.
      ...(p.tags === undefined && seen.tags !== undefined ? { tags: seen.tags } : {}),
    };
    const relation = seen.relation;
    const same =
      relation !== null &&
      (p.relation === null || relation === p.relation || relation.endsWith(`.${p.relation}`));
    if (!same) return { ...p, ...people };
    return {
      ...p,
      ...people,
      relation,
      ...(seen.lockObject === undefined ? {} : { lockObject: seen.lockObject }),
    };
  });

/** The sessions' user and application for the processes of a log report (the log names neither). */
const withSessions = (
  processes: readonly DeadlockProcess[],
  sessions: ReadonlyMap<number, SessionSnapshot>,
): DeadlockProcess[] =>
  processes.map((p) => {
    const session = sessions.get(p.pid);
    if (session === undefined) return p;
    return { ...p, user: p.user ?? session.user, application: p.application ?? session.application };
  });

/** The cycle's processes as the live graph shows them. */
const liveProcesses = (sample: Sample, cycle: readonly number[]): DeadlockProcess[] => {
  const members = new Set(cycle);
  return cycle.map((pid) => {
    const wait = sample.lockWaits.find((w) => w.pid === pid);
    const session = sample.sessions.find((s) => s.pid === pid);
    const relation = wait?.relation ?? null;
    return {
      pid,
      waitsForMode: wait?.mode ?? 'unknown',
      waitsForObject: `${wait?.lockType ?? 'lock'}${relation === null ? '' : ` on ${relation}`}`,
      relation,
      blockedBy: wait?.blockedBy.find((b) => members.has(b)) ?? 0,
      query: session?.query ?? null,
      ...(wait?.object === undefined ? {} : { lockObject: wait.object }),
      user: session?.user ?? null,
      application: session?.application ?? null,
      ...(session?.tags === undefined ? {} : { tags: session.tags }),
    };
  });
};

export const createDeadlockWatch = (ctx: DetectorContext): DeadlockWatch => {
  const { deadlockMergeWindowMs: mergeWindow, counterGraceMs: grace } = ctx.thresholds;
  let known: KnownDeadlock[] = [];
  /** Cycles of the previous sample, by sorted pid list, with the deadlock they belong to. */
  let liveCycles = new Map<string, KnownDeadlock>();
  const baseline = new Map<string, number>();
  let rises: CounterRise[] = [];
  /** The last sample's sessions: a log report's pids usually outlive the deadlock by seconds. */
  let sessions = new Map<number, SessionSnapshot>();

  const finding = (
    deadlock: KnownDeadlock,
    rest: Pick<DeadlockFinding, 'source' | 'victimPid' | 'processes' | 'at'>,
  ): DeadlockFinding => ({
    kind: 'deadlock',
    id: deadlock.id,
    target: ctx.target,
    count: 1,
    database: deadlock.database,
    ...rest,
  });

  const sightCycles = (sample: Sample, graph: WaitForGraph): DeadlockFinding[] => {
    const findings: DeadlockFinding[] = [];
    const next = new Map<string, KnownDeadlock>();
    for (const cycle of graph.cycles) {
      const key = cycle.join(',');
      const pids = new Set(cycle);
      const continuing = liveCycles.get(key);
      if (continuing !== undefined) {
        continuing.lastSeenAt = sample.takenAt;
        next.set(key, continuing);
        continue;
      }
      // The log may have reported this very deadlock already (its report can beat the sample that
      // saw the cycle): then the report broke it at or after this sample was taken.
      const logged = known.find(
        (k) =>
          k.logKey !== null &&
          !k.live &&
          nests(k.pids, pids) &&
          k.at >= sample.takenAt - CLOCK_SLACK_MS &&
          k.at - sample.takenAt <= mergeWindow,
      );
      if (logged !== undefined) {
        logged.live = true;
        next.set(key, logged);
        continue;
      }
      const database = sample.sessions.find((s) => pids.has(s.pid) && s.database !== null)?.database ?? null;
      const deadlock: KnownDeadlock = {
        id: ctx.ids.next('deadlock'),
        pids,
        database,
        at: sample.takenAt,
        lastSeenAt: sample.takenAt,
        live: true,
        logKey: null,
        claimedByCounter: false,
        liveProcesses: liveProcesses(sample, cycle),
      };
      known.push(deadlock);
      next.set(key, deadlock);
      findings.push(
        finding(deadlock, {
          source: 'live',
          victimPid: null,
          processes: deadlock.liveProcesses,
          at: sample.takenAt,
        }),
      );
    }
    liveCycles = next;
    return findings;
  };

  const readCounters = (sample: Sample): void => {
    for (const counter of sample.counters) {
      const before = baseline.get(counter.database);
      baseline.set(counter.database, counter.deadlocks);
      // The first reading is history; a drop is a stats reset. Neither is a new deadlock.
      if (before === undefined || counter.deadlocks <= before) continue;
      rises.push({ database: counter.database, delta: counter.deadlocks - before, at: sample.takenAt });
    }
  };

  /** Rises whose grace has passed: claim the deadlocks that explain them, report the rest. */
  const settleRises = (now: number): DeadlockFinding[] => {
    const findings: DeadlockFinding[] = [];
    const pending: CounterRise[] = [];
    for (const rise of rises) {
      if (now - rise.at < grace) {
        pending.push(rise);
        continue;
      }
      let unexplained = rise.delta;
      for (const deadlock of known) {
        if (unexplained === 0) break;
        const sameDatabase = deadlock.database === null || deadlock.database === rise.database;
        const inWindow = deadlock.at >= rise.at - 2 * grace && deadlock.at <= rise.at + grace;
        if (deadlock.claimedByCounter || !sameDatabase || !inWindow) continue;
        deadlock.claimedByCounter = true;
        unexplained -= 1;
      }
      if (unexplained === 0) continue;
      findings.push({
        kind: 'deadlock',
        id: ctx.ids.next('deadlock'),
        target: ctx.target,
        at: rise.at,
        source: 'counter',
        victimPid: null,
        processes: [],
        count: unexplained,
        database: rise.database,
      });
    }
    rises = pending;
    return findings;
  };

  const forgetOld = (now: number): void => {
    const keep = Math.max(mergeWindow, 3 * grace) * 2;
    known = known.filter((k) => now - k.lastSeenAt <= keep || [...liveCycles.values()].includes(k));
  };

  return {
    onSample(sample, graph) {
      sessions = new Map(sample.sessions.map((session) => [session.pid, session]));
      const findings = sightCycles(sample, graph);
      readCounters(sample);
      findings.push(...settleRises(sample.takenAt));
      forgetOld(sample.takenAt);
      return findings;
    },
    onDeadlockReport(report) {
      const at = report.at ?? ctx.clock.now();
      const key = logKeyOf(report);
      if (known.some((k) => k.logKey === key)) return [];
      const pids = new Set(report.processes.map((p) => p.pid));
      const rest = {
        source: 'log' as const,
        victimPid: report.victimPid,
        processes: withSessions(report.processes, sessions),
        at,
      };
      const sighted = known.find(
        (k) =>
          k.live &&
          k.logKey === null &&
          nests(k.pids, pids) &&
          at >= k.at - CLOCK_SLACK_MS &&
          at - k.lastSeenAt <= mergeWindow,
      );
      if (sighted !== undefined) {
        sighted.logKey = key;
        sighted.database = report.database ?? sighted.database;
        return [
          finding(sighted, { ...rest, processes: withLiveDetail(rest.processes, sighted.liveProcesses) }),
        ];
      }
      const deadlock: KnownDeadlock = {
        id: ctx.ids.next('deadlock'),
        pids,
        database: report.database,
        at,
        lastSeenAt: at,
        live: false,
        logKey: key,
        claimedByCounter: false,
        liveProcesses: [],
      };
      known.push(deadlock);
      return [finding(deadlock, rest)];
    },
    onUnreachable() {
      liveCycles = new Map();
      sessions = new Map();
    },
  };
};
