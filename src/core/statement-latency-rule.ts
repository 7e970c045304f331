import type { OnsetDeploy } from './deploy-onset.js';
import type { StatementPoint } from './metrics-series.js';
import type { MetricContext, MetricMeasurement, MetricRule } from './metric-rules.js';
import { baselineSlice, inMetricWindow, median, MIN_BASELINE_SLICES, windowLabel } from './metric-rules.js';
import { formatMinutes } from './share-format.js';
import { shortenStatement } from './statement-shortener.js';

/**
 * `statement_latency`: one normalized statement (`queryid`) of one target, its mean time in the
 * window against its own baseline, from the statements kept per interval (the top statements by
 * total time of each 10 s interval, metrics-series.ts):
 *
 *     mean     = Σ total time / Σ calls                          over the window
 *     baseline = median of the per-slice means over the look-back, slices with ≥ minVolume calls
 *                (at least MIN_BASELINE_SLICES of them, else no baseline: value 0)
 *     value    = mean / baseline      when calls ≥ minVolume and mean ≥ floor ms, else 0
 *
 * Fires at 3× (resolves at 1.5×). A statement that was never among an interval's top statements
 * has no baseline, so it cannot regress: it was not costly enough to be kept. When a deploy of the
 * service precedes the onset (deploy-onset.ts), the alert says "after deploy vX".
 */
export const STATEMENT_LATENCY_RULE = 'statement_latency';

/** One statement of one target: what the rule is evaluated for. */
export interface StatementRef {
  readonly target: string;
  readonly queryId: string;
}

/** `statement_latency:<target>:<queryid>` (a target name has no colon; a query id is a number). */
export const statementStateKey = (r: StatementRef): string =>
  `${STATEMENT_LATENCY_RULE}:${r.target}:${r.queryId}`;

/** The statement of a rule state's key, or null for another key. */
export const statementOfKey = (key: string): StatementRef | null => {
  const prefix = `${STATEMENT_LATENCY_RULE}:`;
  const last = key.lastIndexOf(':');
  if (!key.startsWith(prefix) || last <= prefix.length) return null;
  return { target: key.slice(prefix.length, last), queryId: key.slice(last + 1) };
};

export const statementFingerprint = (r: StatementRef): string =>
  `rule:${STATEMENT_LATENCY_RULE}:${r.target}:${r.queryId}`;

export interface StatementLatencyMeasurement extends MetricMeasurement {
  readonly calls: number;
  /** Mean time in the window, ms (0 without calls). */
  readonly meanMs: number;
  readonly baselineMs: number | null;
  /** The statement's text (normalized), from any of its rows; '' when none was seen. */
  readonly query: string;
}

/**
 * Measures one statement from its rows (rows of other statements or targets are ignored). Pure:
 * the same rows, `now`, `baselineUntil` and deploy give the same measurement, whatever their order.
 */
export const measureStatementLatency = (
  rule: MetricRule,
  ref: StatementRef,
  rows: readonly StatementPoint[],
  ctx: MetricContext & { readonly deploy?: OnsetDeploy | null },
): StatementLatencyMeasurement => {
  let calls = 0;
  let total = 0;
  let query = '';
  const slices = new Map<number, { calls: number; total: number }>();
  for (const r of rows) {
    if (r.target !== ref.target || r.queryId !== ref.queryId) continue;
    if (query === '' || r.query < query) query = r.query;
    if (inMetricWindow(r, rule.windowMs, ctx.now)) {
      calls += r.calls;
      total += r.totalExecMs;
    }
    const slice = baselineSlice(r, rule, ctx.baselineUntil);
    if (slice < 0) continue;
    const s = slices.get(slice) ?? { calls: 0, total: 0 };
    s.calls += r.calls;
    s.total += r.totalExecMs;
    slices.set(slice, s);
  }
  const qualifying = [...slices.values()]
    .filter((s) => s.calls > 0 && s.calls >= rule.minVolume)
    .map((s) => s.total / s.calls);
  const baselineMs = qualifying.length < MIN_BASELINE_SLICES ? null : median(qualifying);
  const meanMs = calls > 0 ? total / calls : 0;
  const judged = baselineMs !== null && calls >= rule.minVolume && meanMs >= rule.floor;
  // A baseline of 0 ms (rounded away) counts as 1 µs: the ratio stays finite.
  const value = judged ? meanMs / Math.max(0.001, baselineMs) : 0;
  const text = query === '' ? `statement ${ref.queryId}` : `\`${shortenStatement(query)}\``;
  const window = windowLabel(rule.windowMs);
  let summary: string;
  if (baselineMs === null)
    summary = `${text} on ${ref.target}: mean ${ms(meanMs)} over ${window} (${calls.toString()} calls); no baseline yet`;
  else
    summary = `${text} on ${ref.target}: mean ${ms(meanMs)} over ${window}, ${round(meanMs / Math.max(0.001, baselineMs))}× its baseline ${ms(baselineMs)} (${calls.toString()} calls)`;
  const deploy = ctx.deploy ?? null;
  if (deploy !== null)
    summary += `, after deploy ${deploy.version} (${formatMinutes(deploy.minutesBeforeOnset * 60_000)} before)`;
  return { value, summary, calls, meanMs, baselineMs, query };
};

/** The statements with calls in the window, in a stable order: what a cycle evaluates. */
export const activeStatements = (
  rows: readonly StatementPoint[],
  windowMs: number,
  now: number,
): StatementRef[] => {
  const seen = new Map<string, StatementRef>();
  for (const r of rows) {
    if (r.calls <= 0 || !inMetricWindow(r, windowMs, now)) continue;
    const ref = { target: r.target, queryId: r.queryId };
    seen.set(statementStateKey(ref), ref);
  }
  return [...seen.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, r]) => r);
};

const round = (n: number): string => (Math.round(n * 10) / 10).toString();

const ms = (n: number): string => (n >= 100 ? `${Math.round(n).toString()} ms` : `${round(n)} ms`);
