import type { RuleSettings } from './alert-rule.js';
import { formatDuration } from './duration-format.js';
import { baselineEnd } from './error-rate-rule.js';
import type { SeriesPoint, StoredMetric } from './metrics-series.js';
import type { StatementTotal } from './metrics-repository.js';
import { formatPercent } from './share-format.js';
import { shortenStatement } from './statement-shortener.js';

/**
 * The built-in rules over a target's database metrics (the 10 s series points, metrics-series.ts),
 * beside the finding rules (alert-rule.ts) and the app's `error_rate`. Each is adjustable like the
 * others (`rules.<name>` globally, per service, per target: threshold, resolveThreshold, window,
 * for, severity) and its alert joins the incident of the target's service like every other.
 *
 * - `connections_near_max`: connections in use as a share of `max_connections`, the mean over the
 *   window; fires at 0.9 held for 1 min.
 * - `rollback_ratio`: rollbacks / (commits + rollbacks) in the window, less `baselineFactor` (2) ×
 *   its baseline, with at least `minVolume` (100) transactions in the window — as `error_rate`.
 * - `active_sessions`: the mean active sessions in the window as a multiple of their baseline
 *   (floored at 1 session), with at least `minVolume` (5) active on average.
 * - `host_cpu`: the host's busy CPU share, the mean over the window, when the agent reads the host.
 * - `statement_latency` (statement-latency-rule.ts): a statement's mean time against its own.
 *
 * A baseline is the median of the window-long slices of the look-back (`baselineMs`, 30 min) that
 * ends where the window starts — frozen where the anomaly began while the rule is pending or firing
 * (`baselineEnd`, shared with `error_rate`) — and needs `MIN_BASELINE_SLICES` slices with enough
 * volume; without one a baseline rule says nothing (value 0) rather than guess.
 */
export type MetricRuleName =
  'connections_near_max' | 'rollback_ratio' | 'active_sessions' | 'host_cpu' | 'statement_latency';

export const METRIC_RULE_NAMES: readonly MetricRuleName[] = [
  'connections_near_max',
  'rollback_ratio',
  'active_sessions',
  'host_cpu',
  'statement_latency',
];

export const isMetricRuleName = (name: string): name is MetricRuleName =>
  (METRIC_RULE_NAMES as readonly string[]).includes(name);

export interface MetricRule extends RuleSettings {
  readonly name: MetricRuleName;
  readonly description: string;
  readonly unit: 'ratio' | 'times baseline';
  /** How far back the baseline looks, before the window (0: the rule has none). */
  readonly baselineMs: number;
  /** `rollback_ratio`: how many times the baseline the ratio must exceed, on top of the threshold. */
  readonly baselineFactor: number;
  /** The volume in the window below which the rule says nothing: transactions, active sessions, calls. */
  readonly minVolume: number;
  /** `statement_latency`: a mean time under this many ms is never a regression worth a page. */
  readonly floor: number;
}

const MIN = 60_000;

/** Slices of the look-back with enough volume a baseline needs (3 windows: 3 min by default). */
export const MIN_BASELINE_SLICES = 3;

/** The host's busy CPU share as stored in series points (when the agent reads the host). */
export const HOST_CPU_METRIC: StoredMetric = 'host_cpu_busy';

export const METRIC_RULE_DEFAULTS: Readonly<Record<MetricRuleName, MetricRule>> = {
  connections_near_max: {
    name: 'connections_near_max',
    description: 'connections in use as a share of max_connections, the mean over the window',
    unit: 'ratio',
    enabled: true,
    threshold: 0.9,
    resolveThreshold: 0.8,
    windowMs: 30_000,
    forMs: MIN,
    severity: 'error',
    baselineMs: 0,
    baselineFactor: 0,
    minVolume: 0,
    floor: 0,
  },
  rollback_ratio: {
    name: 'rollback_ratio',
    description:
      'the rolled-back share of transactions in the window, less twice its baseline (the median of the previous 30 min), with at least 100 transactions',
    unit: 'ratio',
    enabled: true,
    threshold: 0.1,
    resolveThreshold: 0.05,
    windowMs: MIN,
    forMs: 0,
    severity: 'warning',
    baselineMs: 30 * MIN,
    baselineFactor: 2,
    minVolume: 100,
    floor: 0,
  },
  active_sessions: {
    name: 'active_sessions',
    description:
      'the mean active sessions in the window as a multiple of their baseline (the median of the previous 30 min, at least 1), with at least 5 active',
    unit: 'times baseline',
    enabled: true,
    threshold: 3,
    resolveThreshold: 2,
    windowMs: MIN,
    forMs: MIN,
    severity: 'warning',
    baselineMs: 30 * MIN,
    baselineFactor: 1,
    minVolume: 5,
    floor: 0,
  },
  host_cpu: {
    name: 'host_cpu',
    description:
      "the database host's busy CPU share, the mean over the window (when the agent reads the host)",
    unit: 'ratio',
    enabled: true,
    threshold: 0.9,
    resolveThreshold: 0.75,
    windowMs: MIN,
    forMs: MIN,
    severity: 'warning',
    baselineMs: 0,
    baselineFactor: 0,
    minVolume: 0,
    floor: 0,
  },
  statement_latency: {
    name: 'statement_latency',
    description:
      "a normalized statement's mean time in the window as a multiple of its own baseline (the median of the previous 30 min), with at least 20 calls and 5 ms",
    unit: 'times baseline',
    enabled: true,
    threshold: 3,
    resolveThreshold: 1.5,
    windowMs: MIN,
    forMs: 0,
    severity: 'warning',
    baselineMs: 30 * MIN,
    baselineFactor: 1,
    minVolume: 20,
    floor: 5,
  },
};

/** An incident title for a metric rule's alert (`statement_latency` names its statement in the summary). */
export const metricRuleTitle = (rule: MetricRuleName, target: string): string => {
  switch (rule) {
    case 'connections_near_max':
      return `Connections near max on ${target}`;
    case 'rollback_ratio':
      return `Rollback spike on ${target}`;
    case 'active_sessions':
      return `Active sessions above baseline on ${target}`;
    case 'host_cpu':
      return `High CPU on ${target}'s host`;
    case 'statement_latency':
      return `Statement latency regression on ${target}`;
  }
};

/** What a metric rule measured for one target (or statement) at one moment. */
export interface MetricMeasurement {
  readonly value: number;
  /** One line for the alert. */
  readonly summary: string;
}

export interface MetricContext {
  readonly target: string;
  readonly now: number;
  /** Where the baseline's look-back ends: `baselineEnd(rule, state, now)`. */
  readonly baselineUntil: number;
}

/** Where a rule's look-back ends, given its state (the anomaly's start frozen while pending or firing). */
export const metricBaselineEnd = baselineEnd;

/**
 * Is a point (of interval [at, at + resolution)) in the window? It is when it ended in
 * (now − window, now]: the intervals closed in the last `windowMs`.
 */
export const inMetricWindow = (
  p: { readonly at: number; readonly resolutionMs: number },
  windowMs: number,
  now: number,
): boolean => p.at + p.resolutionMs > now - windowMs && p.at + p.resolutionMs <= now;

/**
 * The look-back (until − baselineMs, until], by ended interval, cut into window-long slices counted
 * back from its end; returns the slice index or −1 outside it.
 */
export const baselineSlice = (
  p: { readonly at: number; readonly resolutionMs: number },
  rule: Pick<MetricRule, 'windowMs' | 'baselineMs'>,
  until: number,
): number => {
  const back = until - (p.at + p.resolutionMs);
  if (back < 0 || rule.windowMs <= 0) return -1;
  const slice = Math.floor(back / rule.windowMs);
  return slice < Math.floor(rule.baselineMs / rule.windowMs) ? slice : -1;
};

export const median = (values: readonly number[]): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const hi = sorted[mid] ?? 0;
  return sorted.length % 2 === 1 ? hi : ((sorted[mid - 1] ?? 0) + hi) / 2;
};

/** The median of the qualifying slices, or null with fewer than `MIN_BASELINE_SLICES` of them. */
const baselineOf = (values: readonly number[]): number | null =>
  values.length < MIN_BASELINE_SLICES ? null : median(values);

const metricOf = (p: SeriesPoint, metric: StoredMetric): number | undefined => p.values[metric];

/** A metric's mean over points, weighted by their samples; null when none has it. */
const weightedMean = (points: readonly SeriesPoint[], metric: StoredMetric): number | null => {
  let sum = 0;
  let weight = 0;
  for (const p of points) {
    const v = metricOf(p, metric);
    if (v === undefined) continue;
    const w = Math.max(1, p.samples);
    sum += v * w;
    weight += w;
  }
  return weight === 0 ? null : sum / weight;
};

export const windowLabel = (ms: number): string =>
  ms % MIN === 0 ? `${(ms / MIN).toString()} min` : formatDuration(ms);

const round = (n: number, digits = 1): string => {
  const f = 10 ** digits;
  return (Math.round(n * f) / f).toString();
};

/** `connections_near_max` over one target's points (of any target: others are ignored). */
export const measureConnections = (
  rule: MetricRule,
  points: readonly SeriesPoint[],
  ctx: MetricContext,
): MetricMeasurement => {
  const own = points.filter(
    (p) =>
      p.target === ctx.target &&
      inMetricWindow(p, rule.windowMs, ctx.now) &&
      (p.values.max_connections ?? 0) > 0,
  );
  const ratios = own.flatMap((p) =>
    p.values.connections === undefined ? [] : [p.values.connections / (p.values.max_connections ?? 1)],
  );
  if (ratios.length === 0) return { value: 0, summary: `no connection figures for ${ctx.target}` };
  const value = ratios.reduce((a, b) => a + b, 0) / ratios.length;
  const max = Math.max(...own.map((p) => p.values.max_connections ?? 0));
  const used = weightedMean(own, 'connections') ?? 0;
  return {
    value,
    summary: `${formatPercent(value)} of max_connections in use on ${ctx.target} (${Math.round(used).toString()} of ${max.toString()}, ${windowLabel(rule.windowMs)})`,
  };
};

/** `rollback_ratio`: as `error_rate`, over commits and rollbacks. */
export const measureRollbacks = (
  rule: MetricRule,
  points: readonly SeriesPoint[],
  ctx: MetricContext,
): MetricMeasurement & {
  readonly transactions: number;
  readonly ratio: number;
  readonly baseline: number | null;
} => {
  let commits = 0;
  let rollbacks = 0;
  const slices = new Map<number, { commits: number; rollbacks: number }>();
  for (const p of points) {
    if (p.target !== ctx.target) continue;
    const c = p.values.commits ?? 0;
    const r = p.values.rollbacks ?? 0;
    if (inMetricWindow(p, rule.windowMs, ctx.now)) {
      commits += c;
      rollbacks += r;
    }
    const slice = baselineSlice(p, rule, ctx.baselineUntil);
    if (slice < 0) continue;
    const s = slices.get(slice) ?? { commits: 0, rollbacks: 0 };
    s.commits += c;
    s.rollbacks += r;
    slices.set(slice, s);
  }
  const baseline = baselineOf(
    [...slices.values()]
      .filter((s) => s.commits + s.rollbacks >= rule.minVolume && s.commits + s.rollbacks > 0)
      .map((s) => s.rollbacks / (s.commits + s.rollbacks)),
  );
  const transactions = commits + rollbacks;
  const ratio = transactions === 0 ? 0 : rollbacks / transactions;
  const enough = transactions > 0 && transactions >= rule.minVolume;
  const value = enough ? Math.max(0, ratio - rule.baselineFactor * (baseline ?? 0)) : 0;
  const window = windowLabel(rule.windowMs);
  const base = baseline === null ? 'no baseline yet' : `baseline ${formatPercent(baseline)}`;
  return {
    value,
    transactions,
    ratio,
    baseline,
    summary: enough
      ? `${formatPercent(ratio)} of transactions rolled back on ${ctx.target} in ${window} (${rollbacks.toString()} of ${transactions.toString()}; ${base})`
      : `${ctx.target}: ${transactions.toString()} transactions in ${window}, too few to judge (fewer than ${rule.minVolume.toString()})`,
  };
};

/** `active_sessions`: the window's mean against the median of the look-back's slice means. */
export const measureActiveSessions = (
  rule: MetricRule,
  points: readonly SeriesPoint[],
  ctx: MetricContext,
): MetricMeasurement & { readonly active: number; readonly baseline: number | null } => {
  const own = points.filter((p) => p.target === ctx.target);
  const active = weightedMean(
    own.filter((p) => inMetricWindow(p, rule.windowMs, ctx.now)),
    'sessions_active',
  );
  const slices = new Map<number, SeriesPoint[]>();
  for (const p of own) {
    const slice = baselineSlice(p, rule, ctx.baselineUntil);
    if (slice < 0 || p.values.sessions_active === undefined) continue;
    slices.set(slice, [...(slices.get(slice) ?? []), p]);
  }
  const baseline = baselineOf(
    [...slices.values()]
      .map((s) => weightedMean(s, 'sessions_active'))
      .filter((v): v is number => v !== null),
  );
  const now = active ?? 0;
  const judged = baseline !== null && now >= rule.minVolume;
  const value = judged ? now / Math.max(1, baseline) : 0;
  const window = windowLabel(rule.windowMs);
  let summary: string;
  if (baseline === null)
    summary = `${round(now)} active sessions on ${ctx.target} in ${window}; no baseline yet`;
  else
    summary = `${round(now)} active sessions on ${ctx.target} in ${window}, ${round(value)}× the baseline ${round(baseline)}`;
  return { value, active: now, baseline, summary };
};

/** A backend using the CPU, as kept or read beside the series (host-figures.ts's BackendCpu). */
export interface CpuBackend {
  readonly pid: number;
  readonly cores: number;
  readonly query: string | null;
}

/**
 * `host_cpu`: the host's busy share over the window, named with the statements taking the most time
 * in it and, when known, the backends burning the CPU.
 */
export const measureHostCpu = (
  rule: MetricRule,
  points: readonly SeriesPoint[],
  ctx: MetricContext & {
    readonly statements?: readonly StatementTotal[];
    readonly backends?: readonly CpuBackend[];
  },
): MetricMeasurement => {
  const own = points.filter((p) => p.target === ctx.target && inMetricWindow(p, rule.windowMs, ctx.now));
  const busy = weightedMean(own, HOST_CPU_METRIC);
  if (busy === null) return { value: 0, summary: `no host figures for ${ctx.target}` };
  const parts = [`host CPU ${formatPercent(busy)} on ${ctx.target} over ${windowLabel(rule.windowMs)}`];
  const statements = [...(ctx.statements ?? [])].filter((s) => s.totalExecMs > 0).slice(0, 3);
  const total = (ctx.statements ?? []).reduce((sum, s) => sum + s.totalExecMs, 0);
  if (statements.length > 0)
    parts.push(
      `top statements: ${statements
        .map(
          (s) =>
            `\`${shortenStatement(s.query)}\` (${formatPercent(total > 0 ? s.totalExecMs / total : 0)} of time)`,
        )
        .join(', ')}`,
    );
  const backends = [...(ctx.backends ?? [])]
    .filter((b) => b.cores > 0)
    .sort((a, b) => b.cores - a.cores || a.pid - b.pid)
    .slice(0, 3);
  if (backends.length > 0)
    parts.push(
      `busiest backends: ${backends
        .map(
          (b) =>
            `pid ${b.pid.toString()} (${round(b.cores, 2)} cores${b.query === null || b.query === '' ? '' : `, \`${shortenStatement(b.query)}\``})`,
        )
        .join(', ')}`,
    );
  return { value: busy, summary: parts.join('; ') };
};
