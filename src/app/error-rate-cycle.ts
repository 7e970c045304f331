import type { Alert } from '../core/alert.js';
import { applyRuleOverrides } from '../core/alert-rule.js';
import type { RouteRollup } from '../core/app-signal.js';
import type { RuleOverride, Service } from '../core/catalog.js';
import { DEFAULT_GROUPING } from '../core/catalog.js';
import type { ErrorRateMeasurement, ErrorRateRule, RouteRef } from '../core/error-rate-rule.js';
import {
  ERROR_RATE_DEFAULTS,
  ERROR_RATE_RULE,
  activeRoutes,
  baselineEnd,
  errorRateFingerprint,
  errorRateStateKey,
  errorRateTitle,
  inWindow,
  measureErrorRate,
  routeName,
} from '../core/error-rate-rule.js';
import { ruleStateChanged, type RuleState } from '../core/rule-state.js';
import { stepRule } from '../core/rule-step.js';
import { readRollups } from './app-side-reader.js';
import type { RecorderContext } from './incident-recorder.js';
import { placeAlert, refreshAlert, resolveAlert, stillFiring } from './incident-recorder.js';

/** What the error-rate part of a rule cycle did (added to the cycle's report). */
export interface ErrorRateCounts {
  evaluated: number;
  pending: number;
  firing: number;
  fired: number;
  refreshed: number;
  resolved: number;
  opened: number;
  joined: number;
  reopened: number;
  incidentsResolved: number;
}

export interface ErrorRateInput {
  readonly ctx: RecorderContext;
  /** Every rule state (those of `error_rate` are picked out). */
  readonly states: readonly RuleState[];
  readonly services: ReadonlyMap<string, Service>;
  /** The configuration's top-level `rules:` overrides; a service's `rules.error_rate` overrides them. */
  readonly overrides: Readonly<Record<string, RuleOverride>>;
  /** An incident whose alerts changed: its summary is rebuilt at the end of the cycle. */
  readonly touch: (incidentId: string, actor: string, quiet?: boolean) => void;
  readonly counts: ErrorRateCounts;
}

/** The `error_rate` rule in force for a service: built-in ← `rules.error_rate` ← the service's. */
export const errorRateRuleFor = (
  overrides: Readonly<Record<string, RuleOverride>>,
  service: Service | null,
): ErrorRateRule =>
  applyRuleOverrides(ERROR_RATE_DEFAULTS, [overrides[ERROR_RATE_RULE], service?.rules[ERROR_RATE_RULE]]);

const ACTOR = `rule:${ERROR_RATE_RULE}`;

/** A state's route: its target is `METHOD route` (see `stateFor`). */
const refOf = (state: RuleState): RouteRef => {
  const space = state.target.indexOf(' ');
  return {
    service: state.service,
    method: state.target.slice(0, space),
    route: state.target.slice(space + 1),
  };
};

const stateFor = (ref: RouteRef, now: number): RuleState => ({
  key: errorRateStateKey(ref),
  rule: ERROR_RATE_RULE,
  target: routeName(ref),
  service: ref.service,
  phase: 'ok',
  since: now,
  value: 0,
  alertId: null,
  evaluatedAt: now,
});

/**
 * A firing alert is rewritten (and its incident's summary rebuilt) when its value moved by a
 * quarter, or 2 points, since the state was last written: a ratio wobbles every cycle, and 1,000
 * firing routes must not mean 1,000 writes per second.
 */
const moved = (prev: RuleState, m: ErrorRateMeasurement): boolean =>
  Math.abs(m.value - prev.value) >= Math.max(0.02, prev.value / 4);

/**
 * How often a steadily firing error rate counts as alert activity on its incident. Its value rarely
 * moves (no new evidence, unlike deadlocks), and correlation joins an open incident only within its
 * grouping window (10 min by default) of the last alert activity: without this, a deadlock found
 * 12 minutes into a checkout outage would open a second incident.
 */
export const KEEP_ALIVE_MS = 5 * 60_000;

/**
 * Evaluates `error_rate` for every route with requests in its window and every route whose rule is
 * pending or firing, inside the rule cycle's transaction: alerts raised (target null, fingerprint
 * `rule:error_rate:<service>:<METHOD route>`, labels rule/service/route), refreshed, resolved, placed
 * in incidents by the same correlation as the database's alerts — so with the default grouping
 * (by service) a deadlock on the service's database and its failing routes are one incident,
 * whichever fires first. Returns the rule states to write. Deterministic in the store and `now`.
 */
export const evaluateErrorRates = async (input: ErrorRateInput): Promise<RuleState[]> => {
  const { ctx, counts } = input;
  const { tx, now } = ctx;
  const ruleCache = new Map<string, ErrorRateRule>();
  const ruleOf = (service: string): ErrorRateRule => {
    let rule = ruleCache.get(service);
    if (rule === undefined) {
      rule = errorRateRuleFor(input.overrides, input.services.get(service) ?? null);
      ruleCache.set(service, rule);
    }
    return rule;
  };
  // One read of every service's window (as long as the longest configured); the look-back is read
  // only for the routes that need it — a failure in their window, or a rule pending or firing — so
  // a healthy fleet costs one small read per cycle, not 30 minutes of rollups and their user sets.
  let windowMs = ERROR_RATE_DEFAULTS.windowMs;
  for (const s of [null, ...input.services.values()]) {
    const r = errorRateRuleFor(input.overrides, s);
    if (r.enabled) windowMs = Math.max(windowMs, r.windowMs);
  }
  const since = now - windowMs;
  const recent = await readRollups(tx.signals, { since, until: now + 1, users: false });
  const byRoute = new Map<string, RouteRollup[]>();
  for (const r of recent) {
    const key = errorRateStateKey(r);
    const list = byRoute.get(key);
    if (list === undefined) byRoute.set(key, [r]);
    else list.push(r);
  }

  const known = new Map(input.states.filter((s) => s.rule === ERROR_RATE_RULE).map((s) => [s.key, s]));
  const refs = new Map<string, RouteRef>();
  for (const ref of activeRoutes(recent, windowMs, now)) refs.set(errorRateStateKey(ref), ref);
  for (const s of known.values()) if (s.phase !== 'ok') refs.set(s.key, refOf(s));

  const changes: RuleState[] = [];
  for (const key of [...refs.keys()].sort()) {
    const ref = refs.get(key) as RouteRef;
    const rule = ruleOf(ref.service);
    const previous = known.get(key);
    const windowed = byRoute.get(key) ?? [];
    // Quiet, and not one failure in its window: nothing can change.
    if (
      (previous === undefined || previous.phase === 'ok') &&
      !windowed.some((r) => r.failures > 0 && inWindow(r, rule.windowMs, now))
    )
      continue;
    const prev = previous ?? stateFor(ref, now);
    const until = baselineEnd(rule, prev, now);
    // The look-back (until − baselineMs, until], up to where the shared read began.
    const lookBack =
      until - rule.baselineMs < since
        ? await readRollups(tx.signals, {
            since: until - rule.baselineMs,
            until: Math.min(since, until + 1),
            service: ref.service,
            method: ref.method,
            route: ref.route,
            users: false,
          })
        : [];
    const rollups = [...lookBack, ...windowed];
    const m = measureErrorRate(rule, ref, rollups, { now, baselineUntil: until });
    const step = stepRule(prev, m, rule, now);
    counts.evaluated += 1;
    let next = step.state;
    let refreshed = false;
    const raises = step.event === 'fire' || (step.event === 'firing' && prev.alertId === null);
    if (raises) {
      const fingerprint = errorRateFingerprint(ref);
      const existing = await tx.alerts.findFiring(ref.service, fingerprint);
      if (existing !== null) {
        // A firing alert without its state (a lost state, a rule re-enabled): take it over.
        const r = await refreshAlert(
          ctx,
          existing,
          { summary: m.summary, severity: rule.severity, evidence: [] },
          ACTOR,
        );
        if (r.changed && existing.incidentId !== null) input.touch(existing.incidentId, ACTOR);
        next = { ...next, alertId: existing.id };
      } else {
        const alert: Alert = {
          id: ctx.ids.next('alert'),
          fingerprint,
          source: 'rule',
          service: ref.service,
          target: null,
          rule: ERROR_RATE_RULE,
          severity: rule.severity,
          status: 'firing',
          summary: m.summary,
          labels: { rule: ERROR_RATE_RULE, service: ref.service, route: routeName(ref) },
          startedAt: now,
          updatedAt: now,
          resolvedAt: null,
          incidentId: null,
          evidence: [],
        };
        const service = input.services.get(ref.service) ?? null;
        const placed = await placeAlert(ctx, alert, {
          actor: ACTOR,
          grouping: service?.grouping ?? DEFAULT_GROUPING,
          title: errorRateTitle(ref),
        });
        counts.fired += 1;
        if (placed.placement === 'opened') counts.opened += 1;
        else if (placed.placement === 'joined') counts.joined += 1;
        else counts.reopened += 1;
        input.touch(placed.incident.id, ACTOR, placed.placement === 'opened');
        next = { ...next, alertId: alert.id };
      }
    } else if (
      step.event === 'firing' &&
      prev.alertId !== null &&
      (moved(prev, m) || now - prev.evaluatedAt >= KEEP_ALIVE_MS)
    ) {
      const alert = await tx.alerts.get(prev.alertId);
      if (alert !== null && alert.status === 'firing') {
        const r = await refreshAlert(
          ctx,
          alert,
          { summary: m.summary, severity: rule.severity, evidence: [] },
          ACTOR,
        );
        if (r.changed) counts.refreshed += 1;
        // Written even when the text did not change: the next keep-alive counts from this one.
        refreshed = true;
        if (alert.incidentId !== null) {
          await stillFiring(ctx, alert.incidentId);
          input.touch(alert.incidentId, ACTOR);
        }
      }
    } else if (step.event === 'resolve' && prev.alertId !== null) {
      const alert = await tx.alerts.get(prev.alertId);
      if (alert !== null && alert.status === 'firing') {
        // Its summary stays what it said while firing: the incident's sentence names the outage, not the recovery.
        const r = await resolveAlert(ctx, alert, ACTOR);
        counts.resolved += 1;
        counts.incidentsResolved += r.incidentResolved ? 1 : 0;
        if (alert.incidentId !== null) input.touch(alert.incidentId, ACTOR);
      }
    }
    if (next.phase === 'pending') counts.pending += 1;
    if (next.phase === 'firing') counts.firing += 1;
    if (ruleStateChanged(previous, next, refreshed)) changes.push(next);
  }
  return changes;
};
