import type { HostFigures } from './host-figures.js';
import type { DatabaseCounters, Sample, SessionSnapshot } from './sample.js';

/**
 * What is kept of a target's samples: one series point per target per interval (10 s by default)
 * and the interval's top statements. Pure: the watch hands samples in, points come out when their
 * interval closes; the store keeps them and downsampling (metrics-downsampling.ts) merges them.
 */

/** How a metric's values of several samples (or points) become one. */
export type SeriesAggregate = 'mean' | 'max' | 'sum';

/**
 * Every stored metric and how it merges. Gauges are the mean over the samples of the interval
 * (peaks and ages the max); counters are what was added during the interval, summed over all
 * databases of the server. Names follow Prometheus style (unit suffixes), without a prefix.
 */
export const SERIES_METRICS = {
  /** Client backends by `pg_stat_activity.state`. */
  sessions_active: 'mean',
  sessions_idle: 'mean',
  sessions_idle_in_transaction: 'mean',
  sessions_idle_in_transaction_aborted: 'mean',
  sessions_other: 'mean',
  /** Active backends by wait-event type: CPU is "no wait event", i.e. working. */
  active_cpu: 'mean',
  active_lock: 'mean',
  active_lwlock: 'mean',
  active_io: 'mean',
  active_ipc: 'mean',
  active_client: 'mean',
  active_other: 'mean',
  /** Backends waiting on a heavyweight lock (`pg_locks`). */
  lock_waits: 'mean',
  lock_waits_peak: 'max',
  /** Client connections, the sampler's own included, against `max_connections`. */
  connections: 'mean',
  connections_peak: 'max',
  max_connections: 'max',
  longest_transaction_ms: 'max',
  oldest_idle_in_transaction_ms: 'max',
  commits: 'sum',
  rollbacks: 'sum',
  deadlocks: 'sum',
  temp_bytes: 'sum',
  blocks_hit: 'sum',
  blocks_read: 'sum',
  /**
   * The host, when the agent runs on the database's host (host-figures.ts): the busy share of all
   * CPUs (0…1), the 1-minute load, memory and the data directory's disk, the cores the backends use.
   */
  host_cpu_busy: 'mean',
  host_load1: 'mean',
  host_memory_used_bytes: 'mean',
  host_memory_total_bytes: 'max',
  host_disk_used_bytes: 'mean',
  host_disk_total_bytes: 'max',
  host_backend_cores: 'mean',
} as const satisfies Record<string, SeriesAggregate>;
// The PostgreSQL store keeps a point's values as an array in this order (migration 0005): add new
// metrics at the end only, never reorder or remove one.

export type StoredMetric = keyof typeof SERIES_METRICS;

/** Metrics computed from stored ones when read (ratios of sums merge wrongly if stored). */
export const DERIVED_METRICS = ['cache_hit_ratio', 'rollback_ratio', 'connections_used_ratio'] as const;
export type DerivedMetric = (typeof DERIVED_METRICS)[number];
export type SeriesMetric = StoredMetric | DerivedMetric;

export const STORED_METRICS = Object.keys(SERIES_METRICS) as StoredMetric[];
export const ALL_METRICS: readonly SeriesMetric[] = [...STORED_METRICS, ...DERIVED_METRICS];

export const isSeriesMetric = (name: string): name is SeriesMetric =>
  (ALL_METRICS as readonly string[]).includes(name);

export type SeriesValues = Readonly<Partial<Record<StoredMetric, number>>>;

/** One target over one interval [at, at + resolutionMs). */
export interface SeriesPoint {
  readonly target: string;
  /** Start of the interval, epoch ms, a multiple of `resolutionMs`. */
  readonly at: number;
  readonly resolutionMs: number;
  /** Samples merged into it (the weight of its means when downsampled). */
  readonly samples: number;
  /** A metric is absent when no sample had it (an older agent, no counter read yet). */
  readonly values: SeriesValues;
}

/** A normalized statement's `pg_stat_statements` deltas over one interval. */
export interface StatementPoint {
  readonly target: string;
  readonly at: number;
  readonly resolutionMs: number;
  readonly queryId: string;
  readonly query: string;
  readonly calls: number;
  readonly totalExecMs: number;
  readonly rows: number;
}

export const meanExecMs = (s: Pick<StatementPoint, 'calls' | 'totalExecMs'>): number =>
  s.calls > 0 ? s.totalExecMs / s.calls : 0;

/** The stored metrics a metric is read from (itself, or a derived one's parts). */
export function metricInputs(metric: SeriesMetric): StoredMetric[] {
  switch (metric) {
    case 'cache_hit_ratio':
      return ['blocks_hit', 'blocks_read'];
    case 'rollback_ratio':
      return ['rollbacks', 'commits'];
    case 'connections_used_ratio':
      return ['connections_peak', 'max_connections'];
    default:
      return [metric];
  }
}

/** A metric of a point, derived ones included; null when the point cannot tell. */
export function seriesValue(point: SeriesPoint, metric: SeriesMetric): number | null {
  const v = point.values;
  switch (metric) {
    case 'cache_hit_ratio':
      return ratio(v.blocks_hit, (v.blocks_hit ?? 0) + (v.blocks_read ?? 0));
    case 'rollback_ratio':
      return ratio(v.rollbacks, (v.commits ?? 0) + (v.rollbacks ?? 0));
    case 'connections_used_ratio':
      return ratio(v.connections_peak, v.max_connections ?? 0);
    default:
      return v[metric] ?? null;
  }
}

const ratio = (part: number | undefined, whole: number): number | null =>
  part === undefined || whole <= 0 ? null : part / whole;

export const DEFAULT_SERIES_RESOLUTION_MS = 10_000;
/**
 * Statements are kept per minute, not per 10 s: reading pg_stat_statements at all costs the
 * monitored server ~4 ms at 5,000 entries (bench:metrics), so it is read once a minute, and a
 * minute's top statements are a fifth of the store a 10 s list was.
 */
export const DEFAULT_STATEMENTS_RESOLUTION_MS = 60_000;
export const DEFAULT_TOP_STATEMENTS = 20;

/**
 * A closed interval: its point, and the top statements of the statements intervals (a minute by
 * default) that closed with it — [] for most points.
 */
export interface SeriesInterval {
  readonly point: SeriesPoint;
  readonly statements: readonly StatementPoint[];
}

export interface SeriesAccumulator {
  /**
   * Adds a sample (and the host's figures over the interval before it, when the host is read);
   * returns the interval it closed, if it starts a later one.
   */
  add(sample: Sample, host?: HostFigures | null): SeriesInterval | null;
  /** The open interval if it ended at or before `now` (samples stopped: the target is down). */
  close(now: number): SeriesInterval | null;
}

interface OpenInterval {
  readonly at: number;
  samples: number;
  readonly sums: Map<StoredMetric, number>;
  /** Samples that had each metric: a mean is over those (host figures start a sample late). */
  readonly counts: Map<StoredMetric, number>;
}

type StatementSums = Map<string, { query: string; calls: number; totalExecMs: number; rows: number }>;

/**
 * Series points of one target from its samples, every `resolutionMs`. Counters are deltas against
 * the previous sample of the same database: the first sight of a database sets its baseline (an
 * agent that starts adds no spike), a counter that went down (pg_stat_reset, a restart) counts
 * from 0.
 */
export function seriesAccumulator(options: {
  readonly target: string;
  readonly resolutionMs?: number;
  /** A multiple of `resolutionMs` (default 60 s): statements are summed and ranked over it. */
  readonly statementsResolutionMs?: number;
  readonly topStatements?: number;
}): SeriesAccumulator {
  const resolutionMs = options.resolutionMs ?? DEFAULT_SERIES_RESOLUTION_MS;
  const statementsMs = Math.max(
    resolutionMs,
    Math.ceil((options.statementsResolutionMs ?? DEFAULT_STATEMENTS_RESOLUTION_MS) / resolutionMs) *
      resolutionMs,
  );
  const top = options.topStatements ?? DEFAULT_TOP_STATEMENTS;
  const previous = new Map<string, DatabaseCounters>();
  let open: OpenInterval | null = null;
  let openStatements: { readonly at: number; readonly sums: StatementSums } | null = null;
  // Statements of an interval that closed while no point did (the target stopped): sent with the next point.
  let pending: StatementPoint[] = [];

  const finishStatements = (interval: { at: number; sums: StatementSums }): StatementPoint[] =>
    [...interval.sums]
      .map(([queryId, s]) => ({
        target: options.target,
        at: interval.at,
        resolutionMs: statementsMs,
        queryId,
        ...s,
      }))
      .sort(byTotalTime)
      .slice(0, top);

  const finish = (interval: OpenInterval, statements: StatementPoint[]): SeriesInterval => {
    const values: Partial<Record<StoredMetric, number>> = {};
    for (const [metric, sum] of interval.sums) {
      values[metric] =
        SERIES_METRICS[metric] === 'mean' ? sum / (interval.counts.get(metric) ?? interval.samples) : sum;
    }
    const all = [...pending, ...statements];
    pending = [];
    return {
      point: { target: options.target, at: interval.at, resolutionMs, samples: interval.samples, values },
      statements: all,
    };
  };

  /** Closes the statements interval if it ended at or before `until`. */
  const closeStatements = (until: number): StatementPoint[] => {
    if (openStatements === null || openStatements.at + statementsMs > until) return [];
    const closed = finishStatements(openStatements);
    openStatements = null;
    return closed;
  };

  return {
    add(sample, host = null) {
      const at = Math.floor(sample.takenAt / resolutionMs) * resolutionMs;
      const statementsAt = Math.floor(sample.takenAt / statementsMs) * statementsMs;
      let closed: SeriesInterval | null = null;
      // A sample from an earlier interval than the open one (a clock step back) joins the open one.
      const closedStatements = closeStatements(statementsAt);
      if (open !== null && at > open.at) {
        closed = finish(open, closedStatements);
        open = null;
      } else {
        pending.push(...closedStatements);
      }
      open ??= { at, samples: 0, sums: new Map(), counts: new Map() };
      open.samples += 1;
      for (const [metric, value] of [...sampleValues(sample, previous), ...hostValues(host)]) {
        const stored = open.sums.get(metric);
        open.counts.set(metric, (open.counts.get(metric) ?? 0) + 1);
        open.sums.set(
          metric,
          stored === undefined
            ? value
            : SERIES_METRICS[metric] === 'max'
              ? Math.max(stored, value)
              : stored + value,
        );
      }
      if (sample.statements !== null) {
        openStatements ??= { at: statementsAt, sums: new Map() };
        for (const s of sample.statements) {
          const stored = openStatements.sums.get(s.queryId);
          if (stored === undefined) {
            openStatements.sums.set(s.queryId, {
              query: s.query,
              calls: s.calls,
              totalExecMs: s.totalExecMs,
              rows: s.rows,
            });
          } else {
            stored.calls += s.calls;
            stored.totalExecMs += s.totalExecMs;
            stored.rows += s.rows;
          }
        }
      }
      return closed;
    },
    close(now) {
      const closedStatements = closeStatements(now);
      if (open === null || open.at + resolutionMs > now) {
        pending.push(...closedStatements);
        return null;
      }
      const closed = finish(open, closedStatements);
      open = null;
      return closed;
    },
  };
}

function hostValues(host: HostFigures | null): [StoredMetric, number][] {
  if (host === null) return [];
  const values: [StoredMetric, number][] = [
    ['host_cpu_busy', host.cpuBusy],
    ['host_load1', host.load[0]],
    ['host_memory_used_bytes', host.memory.totalBytes - host.memory.availableBytes],
    ['host_memory_total_bytes', host.memory.totalBytes],
    ['host_backend_cores', host.backendCores],
  ];
  if (host.disk !== null)
    values.push(
      ['host_disk_used_bytes', host.disk.totalBytes - host.disk.freeBytes],
      ['host_disk_total_bytes', host.disk.totalBytes],
    );
  return values;
}

const byTotalTime = (a: StatementPoint, b: StatementPoint): number =>
  b.totalExecMs - a.totalExecMs || (a.queryId < b.queryId ? -1 : a.queryId > b.queryId ? 1 : 0);

const STATE_METRIC: Readonly<Record<string, StoredMetric>> = {
  active: 'sessions_active',
  idle: 'sessions_idle',
  'idle in transaction': 'sessions_idle_in_transaction',
  'idle in transaction (aborted)': 'sessions_idle_in_transaction_aborted',
};

const WAIT_METRIC: Readonly<Record<string, StoredMetric>> = {
  Lock: 'active_lock',
  LWLock: 'active_lwlock',
  IO: 'active_io',
  IPC: 'active_ipc',
  Client: 'active_client',
};

/** Active backends by what they wait on (`active_cpu`: on nothing, i.e. working). */
export const ACTIVE_METRICS = [
  'active_cpu',
  'active_lock',
  'active_lwlock',
  'active_io',
  'active_ipc',
  'active_client',
  'active_other',
] as const satisfies readonly StoredMetric[];

const isClient = (s: SessionSnapshot): boolean => s.backendType === 'client backend';

/** One sample's values; updates `previous` (the counters baseline per database). */
export function sampleValues(
  sample: Sample,
  previous: Map<string, DatabaseCounters>,
): Map<StoredMetric, number> {
  const values = new Map<StoredMetric, number>();
  const add = (metric: StoredMetric, by: number): void => {
    values.set(metric, (values.get(metric) ?? 0) + by);
  };
  for (const metric of [...Object.values(STATE_METRIC), 'sessions_other' as const]) values.set(metric, 0);
  for (const metric of ACTIVE_METRICS) values.set(metric, 0);
  const now = sample.serverNow ?? sample.takenAt;
  let clients = 0;
  let longestTx = 0;
  let oldestIdleTx = 0;
  for (const s of sample.sessions) {
    if (s.state === 'active')
      add(s.waitEventType === null ? 'active_cpu' : (WAIT_METRIC[s.waitEventType] ?? 'active_other'), 1);
    if (!isClient(s)) continue;
    clients += 1;
    add(s.state === null ? 'sessions_other' : (STATE_METRIC[s.state] ?? 'sessions_other'), 1);
    if (s.xactStart !== null) longestTx = Math.max(longestTx, now - s.xactStart);
    if (
      (s.state === 'idle in transaction' || s.state === 'idle in transaction (aborted)') &&
      s.stateChange !== null
    ) {
      oldestIdleTx = Math.max(oldestIdleTx, now - s.stateChange);
    }
  }
  // The sampler's own connection is left out of its sessions but holds a slot of max_connections.
  values.set('connections', clients + 1);
  values.set('connections_peak', clients + 1);
  if (sample.maxConnections !== undefined) values.set('max_connections', sample.maxConnections);
  values.set('lock_waits', sample.lockWaits.length);
  values.set('lock_waits_peak', sample.lockWaits.length);
  values.set('longest_transaction_ms', longestTx);
  values.set('oldest_idle_in_transaction_ms', oldestIdleTx);

  const counterMetrics = [
    ['commits', (c: DatabaseCounters) => c.commits],
    ['rollbacks', (c: DatabaseCounters) => c.rollbacks],
    ['deadlocks', (c: DatabaseCounters) => c.deadlocks],
    ['temp_bytes', (c: DatabaseCounters) => c.tempBytes],
    ['blocks_hit', (c: DatabaseCounters) => c.blocksHit],
    ['blocks_read', (c: DatabaseCounters) => c.blocksRead],
  ] as const;
  for (const counters of sample.counters) {
    const before = previous.get(counters.database);
    previous.set(counters.database, counters);
    for (const [metric, read] of counterMetrics) {
      const now = read(counters);
      if (now === undefined) continue;
      if (before === undefined) {
        values.set(metric, values.get(metric) ?? 0);
        continue;
      }
      const then = read(before);
      add(metric, then === undefined || now < then ? (then === undefined ? 0 : now) : now - then);
    }
  }
  return values;
}
