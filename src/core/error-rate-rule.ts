import type { RuleSettings } from './alert-rule.js';
import type { RouteRollup } from './app-signal.js';
import { formatDuration } from './duration-format.js';
import type { RulePhase } from './rule-state.js';
import { formatPercent } from './share-format.js';

/**
 * The `error_rate` rule: the share of a route's requests that failed (5xx or threw, see
 * `isFailedRequest`), per service × route, against a baseline learned from the route's own series.
 *
 *     ratio    = failures / requests                      over the window (default 1 min)
 *     baseline = median of the per-window ratios over the look-back (default 30 min) that ends
 *                where the window starts, counting only slices with ≥ minRequests requests
 *                (none: 0, the floor alone decides)
 *     value    = max(0, ratio − baselineFactor × baseline)   when requests ≥ minRequests, else 0
 *
 * It fires when `value ≥ threshold` (default 0.10), i.e. when the ratio is both over an absolute
 * floor (the threshold itself) and well over its baseline (`baselineFactor`, default 2, times it,
 * plus the floor); it resolves at `value ≤ resolveThreshold` (0.05). So a route that always fails
 * 3 % needs 16 % to page, one that always fails 30 % needs 70 %, and a route with fewer than
 * `minRequests` (20) requests in the window never pages: a handful of requests proves nothing.
 *
 * The median ignores a few bad slices (an earlier spike), and the look-back excludes the window, so
 * the current spike is not its own baseline. While the rule is pending or firing, the look-back is
 * frozen where the anomaly began (see `baselineEnd`, for at most 2 h): a long outage does not become
 * the new normal and resolve itself. Query failures outside requests (method `JOB`) are not requests: left out.
 */
export const ERROR_RATE_RULE = 'error_rate';

export interface ErrorRateRule extends RuleSettings {
  readonly name: typeof ERROR_RATE_RULE;
  readonly description: string;
  readonly unit: 'ratio';
  /** How far back the baseline looks, before the window. */
  readonly baselineMs: number;
  /** How many times the baseline the ratio must exceed (on top of the floor). */
  readonly baselineFactor: number;
  /** Requests in the window (and in a baseline slice) below which a ratio says nothing. */
  readonly minRequests: number;
}

const MIN = 60_000;

export const ERROR_RATE_DEFAULTS: ErrorRateRule = {
  name: ERROR_RATE_RULE,
  description:
    "the failed share of a route's requests in the window, less twice its baseline (the median ratio of the previous 30 min)",
  unit: 'ratio',
  enabled: true,
  threshold: 0.1,
  resolveThreshold: 0.05,
  windowMs: MIN,
  forMs: 0,
  severity: 'error',
  baselineMs: 30 * MIN,
  baselineFactor: 2,
  minRequests: 20,
};

/** One route of one service: what the rule is evaluated for. */
export interface RouteRef {
  readonly service: string;
  /** Upper case, e.g. `POST`. */
  readonly method: string;
  /** The route template, e.g. `/orders/:id`. */
  readonly route: string;
}

/** `POST /checkout`: how the route is named to people, in labels and fingerprints. */
export const routeName = (r: Pick<RouteRef, 'method' | 'route'>): string => `${r.method} ${r.route}`;

/** The alert's fingerprint: `rule:error_rate:<service>:<METHOD route>`. */
export const errorRateFingerprint = (r: RouteRef): string =>
  `rule:${ERROR_RATE_RULE}:${r.service}:${routeName(r)}`;

/**
 * The rule state's key: `error_rate:<service>:<METHOD route>`. Target rules use `<rule>:<target>`
 * and no target rule is called `error_rate`, so the two never collide.
 */
export const errorRateStateKey = (r: RouteRef): string => `${ERROR_RATE_RULE}:${r.service}:${routeName(r)}`;

/** The incident title when an error rate opens one. */
export const errorRateTitle = (r: RouteRef): string => `Errors on ${routeName(r)} of ${r.service}`;

export interface ErrorRateMeasurement {
  /** `max(0, ratio − factor × baseline)` with enough volume, else 0 (see the module comment). */
  readonly value: number;
  readonly requests: number;
  readonly failures: number;
  /** failures / requests in the window (0 without requests). */
  readonly ratio: number;
  /** The median ratio of the look-back's slices; null when no slice had enough requests. */
  readonly baseline: number | null;
  /** One line for the alert, e.g. "31% of POST /checkout requests failed on shop in 1 min (142 of 458; baseline 0.4%)". */
  readonly summary: string;
}

export interface ErrorRateContext {
  readonly now: number;
  /** Where the baseline's look-back ends (inclusive; the window starts just after): `baselineEnd(…)`. */
  readonly baselineUntil: number;
}

/**
 * How long a baseline stays frozen at most: a route failing this long has been paged for and is, by
 * then, its own normal (a route failing from its very first request would otherwise fire forever).
 */
export const MAX_BASELINE_FREEZE_MS = 2 * 60 * MIN;

/**
 * Where the baseline's look-back ends: the start of the window — or, while the rule is pending or
 * firing, the start of the window in which the anomaly began (`since` of the phase, less `for` when
 * firing; at most `MAX_BASELINE_FREEZE_MS` ago), so the outage does not enter its own baseline.
 * Deterministic in the state and `now`.
 */
export const baselineEnd = (
  rule: Pick<ErrorRateRule, 'windowMs' | 'forMs'>,
  state: { readonly phase: RulePhase; readonly since: number } | null,
  now: number,
): number => {
  let anomalyStart = now;
  if (state !== null && state.phase === 'pending') anomalyStart = Math.min(now, state.since);
  if (state !== null && state.phase === 'firing') anomalyStart = Math.min(now, state.since - rule.forMs);
  return Math.max(anomalyStart, now - MAX_BASELINE_FREEZE_MS) - rule.windowMs;
};

/** The window the ratio is measured over: buckets starting in (now − window, now]. */
export const inWindow = (r: RouteRollup, windowMs: number, now: number): boolean =>
  r.bucket > now - windowMs && r.bucket <= now;

const median = (values: readonly number[]): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const hi = sorted[mid] ?? 0;
  return sorted.length % 2 === 1 ? hi : ((sorted[mid - 1] ?? 0) + hi) / 2;
};

/**
 * Measures one route from its rollups (those of other routes and `JOB` are ignored, as are
 * rollups outside the window and the look-back). Pure: the same rollups at the same `now` and
 * `baselineUntil` give the same measurement, whatever their order.
 */
export const measureErrorRate = (
  rule: ErrorRateRule,
  ref: RouteRef,
  rollups: readonly RouteRollup[],
  ctx: ErrorRateContext,
): ErrorRateMeasurement => {
  const own = rollups.filter(
    (r) => r.service === ref.service && r.method === ref.method && r.route === ref.route,
  );
  let requests = 0;
  let failures = 0;
  for (const r of own) {
    if (!inWindow(r, rule.windowMs, ctx.now)) continue;
    requests += r.requests;
    failures += r.failures;
  }
  // The look-back (until − baselineMs, until] cut into window-long slices, counted back from its end.
  const slices = Math.max(0, Math.floor(rule.baselineMs / rule.windowMs));
  const perSlice = new Map<number, { requests: number; failures: number }>();
  for (const r of own) {
    const back = ctx.baselineUntil - r.bucket;
    if (back < 0) continue;
    const slice = Math.floor(back / rule.windowMs);
    if (slice >= slices) continue;
    const s = perSlice.get(slice) ?? { requests: 0, failures: 0 };
    s.requests += r.requests;
    s.failures += r.failures;
    perSlice.set(slice, s);
  }
  const baseline = median(
    [...perSlice.values()]
      .filter((s) => s.requests >= rule.minRequests)
      .map((s) => Math.min(1, s.failures / s.requests)),
  );
  const ratio = requests === 0 ? 0 : Math.min(1, failures / requests);
  const enough = requests >= rule.minRequests && requests > 0;
  const value = rule.enabled && enough ? Math.max(0, ratio - rule.baselineFactor * (baseline ?? 0)) : 0;
  const name = routeName(ref);
  const window =
    rule.windowMs % MIN === 0 ? `${(rule.windowMs / MIN).toString()} min` : formatDuration(rule.windowMs);
  const base = baseline === null ? 'no baseline yet' : `baseline ${formatPercent(baseline)}`;
  const summary = enough
    ? `${formatPercent(ratio)} of ${name} requests failed on ${ref.service} in ${window} (${failures.toString()} of ${requests.toString()}; ${base})`
    : `${name} on ${ref.service}: ${requests.toString()} requests in ${window}, too few to judge (fewer than ${rule.minRequests.toString()})`;
  return { value, requests, failures, ratio, baseline, summary };
};

/** The routes with requests in the window (not `JOB`), in a stable order: what a cycle evaluates. */
export const activeRoutes = (rollups: readonly RouteRollup[], windowMs: number, now: number): RouteRef[] => {
  const seen = new Map<string, RouteRef>();
  for (const r of rollups) {
    if (r.method === JOB || r.requests === 0 || !inWindow(r, windowMs, now)) continue;
    const ref = { service: r.service, method: r.method, route: r.route };
    seen.set(errorRateStateKey(ref), ref);
  }
  return [...seen.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, ref]) => ref);
};

/** The method of query failures outside requests (app-signal-rollup.ts's JOB_METHOD). */
const JOB = 'JOB';
