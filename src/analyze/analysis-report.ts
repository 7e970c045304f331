import type { DeadlockProcess } from '../core/log-event.js';
import { OTHER_KEY, type AnalysisState, type WaitEnding } from './analysis-state.js';
import { buildHeadline } from './headline.js';
import { sketchQuantile, type QuantileSketch } from './quantile-sketch.js';
import { SQLSTATE_CLASSES } from './sqlstate-inference.js';

/** What was read, per input, and what was skipped and why. */
export interface InputSummary {
  readonly name: string;
  readonly format: string;
  readonly bytes: number;
  readonly entries: number;
  readonly skipped: Readonly<Record<string, number>>;
  readonly warnings: readonly string[];
}

interface Distribution {
  readonly count: number;
  readonly totalMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
}

/** The report every output renders: JSON-ready (times are ISO strings), sorted, top lists cut. */
export interface AnalysisReport {
  readonly inputs: readonly InputSummary[];
  /** first/last: of the entries counted; spanFirst/spanLast: of every entry in the files. */
  readonly window: {
    readonly first: string | null;
    readonly last: string | null;
    readonly since: string | null;
    readonly until: string | null;
    readonly spanFirst: string | null;
    readonly spanLast: string | null;
  };
  readonly entries: number;
  readonly bySeverity: Readonly<Record<string, number>>;
  readonly headline: readonly string[];
  readonly deadlocks: {
    readonly total: number;
    readonly groups: readonly {
      readonly signature: readonly string[];
      readonly count: number;
      readonly first: string | null;
      readonly last: string | null;
      readonly modes: readonly string[];
      readonly relations: readonly string[];
      readonly databases: readonly string[];
      readonly example: {
        readonly at: string | null;
        readonly victimPid: number | null;
        readonly processes: readonly DeadlockProcess[];
        readonly statements: Readonly<Record<string, string>>;
      };
      readonly perMinute: readonly (readonly [string, number])[];
    }[];
  };
  readonly blocking: {
    readonly waits: number;
    readonly endings: Readonly<Record<WaitEnding, number>>;
    readonly durations: Distribution;
    readonly blockers: readonly {
      readonly pid: number | null;
      readonly waits: number;
      readonly waitMs: number;
      readonly maxMs: number;
      readonly lastStatement: string | null;
      readonly application: string | null;
      readonly user: string | null;
      readonly database: string | null;
      readonly first: string | null;
      readonly last: string | null;
    }[];
    readonly targets: readonly {
      readonly lock: string;
      readonly waits: number;
      readonly waitMs: number;
      readonly maxMs: number;
    }[];
    readonly waiters: readonly {
      readonly statement: string;
      readonly waits: number;
      readonly waitMs: number;
    }[];
  };
  readonly timeouts: {
    readonly lockTimeouts: number;
    readonly lockNowait: number;
    readonly statementTimeouts: number;
    readonly cancels: number;
    readonly serializationFailures: number;
  };
  readonly errors: {
    readonly total: number;
    readonly byClass: readonly { readonly class: string; readonly name: string; readonly count: number }[];
    readonly groups: readonly {
      readonly sqlstate: string;
      readonly severity: string;
      readonly message: string;
      readonly count: number;
      readonly first: string | null;
      readonly last: string | null;
      readonly example: string | null;
    }[];
  };
  readonly slowQueries: {
    readonly all: Distribution;
    readonly victims: number;
    readonly victimMs: number;
    readonly lockWaitMs: number;
    /** Share (0..1) of all logged statement time that was spent waiting on locks. */
    readonly lockWaitShare: number;
    readonly groups: readonly (Distribution & {
      readonly fingerprint: string;
      readonly victims: number;
      readonly victimMs: number;
      readonly lockWaitMs: number;
      readonly example: string;
      readonly parameters: string | null;
    })[];
  };
  readonly sessions: {
    readonly connections: number;
    readonly authorized: number;
    readonly disconnections: number;
    readonly lengths: Distribution;
    readonly byDatabase: Readonly<Record<string, number>>;
    readonly byUser: Readonly<Record<string, number>>;
    readonly byApplication: Readonly<Record<string, number>>;
  };
  readonly checkpoints: {
    readonly started: number;
    readonly completed: number;
    readonly durations: Distribution;
    readonly buffers: number;
  };
  readonly tempFiles: {
    readonly count: number;
    readonly bytes: number;
    readonly maxBytes: number;
    readonly top: readonly { readonly statement: string; readonly count: number; readonly bytes: number }[];
  };
  readonly autovacuum: {
    readonly vacuums: number;
    readonly analyzes: number;
    readonly top: readonly {
      readonly relation: string;
      readonly vacuums: number;
      readonly analyzes: number;
      readonly elapsedMs: number;
    }[];
  };
  readonly timeline: readonly {
    readonly minute: string;
    readonly entries: number;
    readonly errors: number;
    readonly deadlocks: number;
    readonly lockWaits: number;
    readonly waitMs: number;
    readonly slow: number;
  }[];
  /** Distinct keys that did not fit under the memory caps, by kind (their counts are in `(other)`). */
  readonly overflow: Readonly<Record<string, number>>;
}

export interface ReportOptions {
  readonly inputs: readonly InputSummary[];
  readonly since: number | null;
  readonly until: number | null;
  /** How many rows each top list keeps. */
  readonly top?: number;
}

export const iso = (at: number | null): string | null => (at === null ? null : new Date(at).toISOString());

const distribution = (sketch: QuantileSketch): Distribution => ({
  count: sketch.count,
  totalMs: round(sketch.sum),
  p50Ms: round(sketchQuantile(sketch, 0.5)),
  p95Ms: round(sketchQuantile(sketch, 0.95)),
  maxMs: round(sketch.max),
});

const round = (ms: number): number => Math.round(ms * 1000) / 1000;
/** Sorts compare rounded sums and break ties by text, so that worker threads (which add in another order) and one thread give the same report. */
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const record = (map: Map<string, number>): Record<string, number> =>
  Object.fromEntries([...map].sort((a, b) => b[1] - a[1] || byText(a[0], b[0])));
const errorCount = (state: AnalysisState, test: (sqlstate: string, message: string) => boolean): number => {
  let n = 0;
  for (const group of state.errors.values()) if (test(group.sqlstate, group.message)) n += group.count;
  return n;
};

export function buildReport(state: AnalysisState, options: ReportOptions): AnalysisReport {
  const top = options.top ?? 25;
  const lw = state.lockWaits;
  const deadlockGroups = [...state.deadlocks.values()]
    .sort((a, b) => b.count - a.count || byText(a.signature.join(), b.signature.join()))
    .slice(0, top);
  let errorsTotal = 0;
  for (const n of state.errorsByClass.values()) errorsTotal += n;
  const slowGroups = [...state.slow.values()]
    .sort((a, b) => round(b.durations.sum) - round(a.durations.sum) || byText(a.fingerprint, b.fingerprint))
    .slice(0, top);
  const report: Omit<AnalysisReport, 'headline'> = {
    inputs: options.inputs,
    window: {
      first: iso(state.firstAt),
      last: iso(state.lastAt),
      since: iso(options.since),
      until: iso(options.until),
      spanFirst: iso(state.seenFirstAt),
      spanLast: iso(state.seenLastAt),
    },
    entries: state.entries,
    bySeverity: record(state.bySeverity),
    deadlocks: {
      total: state.deadlockCount,
      groups: deadlockGroups.map((g) => ({
        signature: g.signature,
        count: g.count,
        first: iso(g.firstAt),
        last: iso(g.lastAt),
        modes: [...g.modes].sort(),
        relations: [...g.relations].sort(),
        databases: [...g.databases].sort(),
        example: {
          at: iso(g.example.at),
          victimPid: g.example.victimPid,
          processes: g.example.processes,
          statements: Object.fromEntries([...g.exampleStatements].map(([pid, sql]) => [String(pid), sql])),
        },
        perMinute: [...g.perMinute]
          .sort((a, b) => a[0] - b[0])
          .map(([minute, n]) => [iso(minute) ?? '', n] as const),
      })),
    },
    blocking: {
      waits: lw.started,
      endings: { ...lw.endings },
      durations: { ...distribution(lw.durations), totalMs: round(lw.totalMs) },
      blockers: [...lw.blockers.values()]
        .sort((a, b) => round(b.waitMs) - round(a.waitMs) || b.waits - a.waits || a.pid - b.pid)
        .slice(0, top)
        .map((b) => ({
          pid: b.pid < 0 ? null : b.pid,
          waits: b.waits,
          waitMs: round(b.waitMs),
          maxMs: round(b.maxMs),
          lastStatement: b.lastStatement,
          application: b.application,
          user: b.user,
          database: b.database,
          first: iso(b.firstAt),
          last: iso(b.lastAt),
        })),
      targets: [...lw.byTarget.values()]
        .sort((a, b) => round(b.waitMs) - round(a.waitMs) || byText(a.key, b.key))
        .slice(0, top)
        .map((t) => ({ lock: t.key, waits: t.waits, waitMs: round(t.waitMs), maxMs: round(t.maxMs) })),
      waiters: [...lw.byWaiterStatement]
        .sort((a, b) => round(b[1].waitMs) - round(a[1].waitMs) || byText(a[0], b[0]))
        .slice(0, top)
        .map(([statement, w]) => ({ statement, waits: w.waits, waitMs: round(w.waitMs) })),
    },
    timeouts: {
      lockTimeouts: errorCount(
        state,
        (code, message) => code === '55P03' && message.includes('lock timeout'),
      ),
      lockNowait: errorCount(state, (code, message) => code === '55P03' && !message.includes('lock timeout')),
      statementTimeouts: errorCount(
        state,
        (code, message) => code === '57014' && message.includes('statement timeout'),
      ),
      cancels: errorCount(state, (code, message) => code === '57014' && message.includes('user request')),
      serializationFailures: errorCount(state, (code) => code === '40001'),
    },
    errors: {
      total: errorsTotal,
      byClass: [...state.errorsByClass]
        .sort((a, b) => b[1] - a[1] || byText(a[0], b[0]))
        .map(([cls, count]) => ({
          class: cls,
          name: SQLSTATE_CLASSES[cls] ?? (cls === 'unknown' ? 'SQLSTATE not in the log' : 'other'),
          count,
        })),
      groups: [...state.errors.values()]
        .sort((a, b) => b.count - a.count || byText(a.sqlstate + a.message, b.sqlstate + b.message))
        .slice(0, top * 2)
        .map((e) => ({
          sqlstate: e.sqlstate,
          severity: e.severity,
          message: e.message,
          count: e.count,
          first: iso(e.firstAt),
          last: iso(e.lastAt),
          example: e.example,
        })),
    },
    slowQueries: {
      all: distribution(state.slowAll),
      victims: [...state.slow.values()].reduce((n, g) => n + g.victims, 0),
      victimMs: round(state.slowVictimMs),
      lockWaitMs: round(state.slowLockWaitMs),
      lockWaitShare:
        state.slowAll.sum > 0 ? Math.round((state.slowLockWaitMs / state.slowAll.sum) * 10_000) / 10_000 : 0,
      groups: slowGroups.map((g) => ({
        fingerprint: g.fingerprint,
        ...distribution(g.durations),
        victims: g.victims,
        victimMs: round(g.victimMs),
        lockWaitMs: round(g.lockWaitMs),
        example: g.fingerprint === OTHER_KEY ? '' : g.example,
        parameters: g.exampleParameters,
      })),
    },
    sessions: {
      connections: state.sessions.connections,
      authorized: state.sessions.authorized,
      disconnections: state.sessions.disconnections,
      lengths: distribution(state.sessions.lengths),
      byDatabase: record(state.sessions.byDatabase),
      byUser: record(state.sessions.byUser),
      byApplication: record(state.sessions.byApplication),
    },
    checkpoints: {
      started: state.checkpoints.started,
      completed: state.checkpoints.completed,
      durations: distribution(state.checkpoints.durations),
      buffers: state.checkpoints.buffers,
    },
    tempFiles: {
      count: state.tempFiles.count,
      bytes: state.tempFiles.bytes,
      maxBytes: state.tempFiles.maxBytes,
      top: [...state.tempFiles.byFingerprint]
        .sort((a, b) => b[1].bytes - a[1].bytes || byText(a[0], b[0]))
        .slice(0, 10)
        .map(([statement, t]) => ({ statement, ...t })),
    },
    autovacuum: {
      vacuums: state.autovacuum.vacuums,
      analyzes: state.autovacuum.analyzes,
      top: [...state.autovacuum.byRelation]
        .sort(
          (a, b) =>
            round(b[1].elapsedMs) - round(a[1].elapsedMs) ||
            b[1].vacuums - a[1].vacuums ||
            byText(a[0], b[0]),
        )
        .slice(0, 10)
        .map(([relation, a]) => ({ relation, ...a, elapsedMs: round(a.elapsedMs) })),
    },
    timeline: [...state.perMinute]
      .sort((a, b) => a[0] - b[0])
      .map(([minute, c]) => ({ minute: iso(minute) ?? '', ...c, waitMs: round(c.waitMs) })),
    overflow: record(state.overflow),
  };
  return { ...report, headline: buildHeadline(report) };
}
