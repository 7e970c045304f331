import {
  DEFAULT_STATEMENTS_RESOLUTION_MS,
  DEFAULT_TOP_STATEMENTS,
  SERIES_METRICS,
  type SeriesPoint,
  type StatementPoint,
  type StoredMetric,
} from './metrics-series.js';

/**
 * How long series are kept at each resolution, and how finer points become coarser ones. Pure:
 * the downsampling job (app/metrics-maintenance.ts) asks these functions what to do at `now`.
 */

/** One resolution and how long its points are kept. */
export interface MetricsTier {
  readonly resolutionMs: number;
  readonly keepMs: number;
  /**
   * Statements kept per target and interval at this resolution, by total time (default
   * DEFAULT_TOP_STATEMENTS); 0 keeps none. Tiers finer than a minute keep none whatever this
   * says: pg_stat_statements is read once a minute.
   */
  readonly topStatements?: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** 10 s for a day, 1 min for 30 days, 1 h for a year. */
export const DEFAULT_METRICS_TIERS: readonly MetricsTier[] = [
  { resolutionMs: 10_000, keepMs: DAY },
  { resolutionMs: MINUTE, keepMs: 30 * DAY },
  { resolutionMs: HOUR, keepMs: 365 * DAY },
];

/** Problems with a tier list, each naming what to change; [] when it can be used. */
export function tierProblems(tiers: readonly MetricsTier[]): string[] {
  const problems: string[] = [];
  if (tiers.length === 0) problems.push('at least one resolution is needed (e.g. 10s kept 1d)');
  tiers.forEach((tier, i) => {
    if (!Number.isInteger(tier.resolutionMs) || tier.resolutionMs < 1000) {
      problems.push(`resolution ${i + 1} must be a whole number of seconds, at least 1 s`);
    }
    if (tier.keepMs < tier.resolutionMs)
      problems.push(`resolution ${i + 1} must be kept at least one interval`);
    const finer = tiers[i - 1];
    if (finer === undefined) return;
    if (tier.resolutionMs <= finer.resolutionMs || tier.resolutionMs % finer.resolutionMs !== 0) {
      problems.push(`resolution ${i + 1} must be a multiple of resolution ${i}, and coarser`);
    }
    if (tier.keepMs < finer.keepMs)
      problems.push(`resolution ${i + 1} must be kept at least as long as resolution ${i}`);
  });
  return problems;
}

/**
 * The tiers statements are kept at: a minute (their interval, DEFAULT_STATEMENTS_RESOLUTION_MS)
 * and coarser; the coarsest tier when none is that coarse.
 */
export function statementTiers(tiers: readonly MetricsTier[]): readonly MetricsTier[] {
  const kept = tiers.filter((t) => t.resolutionMs >= DEFAULT_STATEMENTS_RESOLUTION_MS);
  const coarsest = tiers.at(-1);
  return kept.length > 0 || coarsest === undefined ? kept : [coarsest];
}

/**
 * Width of the store's time partitions for a resolution: about 8,640 points per target (a day at
 * 10 s), between a day and 30 days, so that dropping old data drops whole partitions and a
 * year at 1 h is about a dozen of them.
 */
export function partitionSpanMs(resolutionMs: number): number {
  return Math.min(30 * DAY, Math.max(DAY, resolutionMs * 8_640));
}

/** The partition of a resolution holding `at`: [from, until). */
export function partitionOf(
  resolutionMs: number,
  at: number,
): { readonly from: number; readonly until: number } {
  const span = partitionSpanMs(resolutionMs);
  const from = Math.floor(at / span) * span;
  return { from, until: from + span };
}

/** Points older than this are dropped (a whole partition once all of it is). */
export const expiryOf = (tier: MetricsTier, now: number): number => now - tier.keepMs;

/**
 * The resolution to answer a window with: the finest tier still holding `from` whose points over
 * the window stay within `maxPoints` (a 24 h window reads 8,640 points at 10 s); else the coarsest.
 */
export function resolutionFor(
  tiers: readonly MetricsTier[],
  window: { readonly from: number; readonly to: number; readonly now: number },
  maxPoints = 10_000,
): number {
  const span = Math.max(0, window.to - window.from);
  for (const tier of tiers) {
    if (expiryOf(tier, window.now) <= window.from && span / tier.resolutionMs <= maxPoints)
      return tier.resolutionMs;
  }
  const coarsest = tiers[tiers.length - 1];
  if (coarsest === undefined) throw new Error('no metrics tier');
  return coarsest.resolutionMs;
}

/**
 * Which buckets of `tier` to compute from the finer tier at `now`: from the bucket after the last
 * one computed — or, past a gap in the data, the bucket of the finer tier's next point
 * (`nextFinerAt`: its oldest point after the last bucket computed) — to the last bucket that
 * ended `lagMs` ago (late pushes from agents land first), at most `maxBuckets` at a time. Null
 * when nothing is due.
 */
export function rollupWindow(
  tier: MetricsTier,
  state: { readonly lastAt: number | null; readonly nextFinerAt: number | null },
  now: number,
  options: { readonly lagMs?: number; readonly maxBuckets?: number } = {},
): { readonly from: number; readonly until: number } | null {
  const res = tier.resolutionMs;
  const floor = (t: number): number => Math.floor(t / res) * res;
  if (state.nextFinerAt === null) return null;
  const start = Math.max(state.lastAt === null ? -Infinity : state.lastAt + res, floor(state.nextFinerAt));
  // Never compute buckets the tier would drop at once.
  const from = Math.max(start, floor(expiryOf(tier, now)));
  const end = floor(now - (options.lagMs ?? 2 * MINUTE));
  const until = Math.min(end, from + res * (options.maxBuckets ?? 1_440));
  return until > from ? { from, until } : null;
}

/**
 * Finer points as points of `resolutionMs` (per target and interval): means weighted by their
 * samples, maxima and sums kept as such. Ordered by target then time.
 */
export function downsample(points: readonly SeriesPoint[], resolutionMs: number): SeriesPoint[] {
  const groups = new Map<string, SeriesPoint[]>();
  for (const p of points) {
    const at = Math.floor(p.at / resolutionMs) * resolutionMs;
    const key = `${p.target}\0${String(at)}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [p]);
    else group.push(p);
  }
  const merged: SeriesPoint[] = [];
  for (const group of groups.values()) {
    const first = group[0];
    if (first === undefined) continue;
    merged.push({
      target: first.target,
      at: Math.floor(first.at / resolutionMs) * resolutionMs,
      resolutionMs,
      samples: group.reduce((n, p) => n + p.samples, 0),
      values: mergeValues(group),
    });
  }
  return merged.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : a.at - b.at));
}

function mergeValues(points: readonly SeriesPoint[]): Partial<Record<StoredMetric, number>> {
  const values: Partial<Record<StoredMetric, number>> = {};
  for (const metric of Object.keys(SERIES_METRICS) as StoredMetric[]) {
    let weight = 0;
    let acc: number | undefined;
    for (const p of points) {
      const v = p.values[metric];
      if (v === undefined) continue;
      switch (SERIES_METRICS[metric]) {
        case 'mean':
          acc = (acc ?? 0) + v * p.samples;
          weight += p.samples;
          break;
        case 'max':
          acc = acc === undefined ? v : Math.max(acc, v);
          break;
        case 'sum':
          acc = (acc ?? 0) + v;
          break;
      }
    }
    if (acc === undefined) continue;
    values[metric] = SERIES_METRICS[metric] === 'mean' ? (weight > 0 ? acc / weight : 0) : acc;
  }
  return values;
}

/**
 * Statement points as points of `resolutionMs`: summed by target, interval and query id, the top
 * `top` by total time of each interval kept (a statement outside every finer top list is not
 * known to it: the coarse list is the top of the tops).
 */
export function downsampleStatements(
  rows: readonly StatementPoint[],
  resolutionMs: number,
  top = DEFAULT_TOP_STATEMENTS,
): StatementPoint[] {
  const sums = new Map<string, StatementPoint>();
  for (const r of rows) {
    const at = Math.floor(r.at / resolutionMs) * resolutionMs;
    const key = `${r.target}\0${String(at)}\0${r.queryId}`;
    const s = sums.get(key);
    sums.set(
      key,
      s === undefined
        ? { ...r, at, resolutionMs }
        : {
            ...s,
            calls: s.calls + r.calls,
            totalExecMs: s.totalExecMs + r.totalExecMs,
            rows: s.rows + r.rows,
          },
    );
  }
  return topStatements([...sums.values()], top);
}

/** The top `top` by total time within each (target, interval), ordered by target, time, rank. */
export function topStatements(rows: readonly StatementPoint[], top: number): StatementPoint[] {
  const sorted = [...rows].sort(
    (a, b) =>
      (a.target < b.target ? -1 : a.target > b.target ? 1 : 0) ||
      a.at - b.at ||
      b.totalExecMs - a.totalExecMs ||
      (a.queryId < b.queryId ? -1 : a.queryId > b.queryId ? 1 : 0),
  );
  const kept: StatementPoint[] = [];
  let key = '';
  let rank = 0;
  for (const r of sorted) {
    const k = `${r.target}\0${String(r.at)}`;
    rank = k === key ? rank + 1 : 0;
    key = k;
    if (rank < top) kept.push(r);
  }
  return kept;
}

/**
 * The top statements of a window from its points: summed per query id over the window, largest
 * total time first (then query id), at most `limit`.
 */
export function windowTopStatements(
  rows: readonly StatementPoint[],
  limit: number,
): Omit<StatementPoint, 'at' | 'resolutionMs'>[] {
  const sums = new Map<string, Omit<StatementPoint, 'at' | 'resolutionMs'>>();
  for (const r of rows) {
    const s = sums.get(r.queryId);
    sums.set(
      r.queryId,
      s === undefined
        ? {
            target: r.target,
            queryId: r.queryId,
            query: r.query,
            calls: r.calls,
            totalExecMs: r.totalExecMs,
            rows: r.rows,
          }
        : {
            ...s,
            calls: s.calls + r.calls,
            totalExecMs: s.totalExecMs + r.totalExecMs,
            rows: s.rows + r.rows,
          },
    );
  }
  return [...sums.values()]
    .sort(
      (a, b) => b.totalExecMs - a.totalExecMs || (a.queryId < b.queryId ? -1 : a.queryId > b.queryId ? 1 : 0),
    )
    .slice(0, limit);
}
