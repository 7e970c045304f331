import type { Alert } from '../core/alert.js';
import { applyRuleOverrides } from '../core/alert-rule.js';
import type { MonitoredTarget, RuleOverride, Service } from '../core/catalog.js';
import { DEFAULT_GROUPING } from '../core/catalog.js';
import { deployOnset } from '../core/deploy-onset.js';
import type { CpuBackend, MetricMeasurement, MetricRule } from '../core/metric-rules.js';
import {
  HOST_CPU_METRIC,
  METRIC_RULE_DEFAULTS,
  METRIC_RULE_NAMES,
  isMetricRuleName,
  measureActiveSessions,
  measureConnections,
  measureHostCpu,
  measureRollbacks,
  metricBaselineEnd,
  metricRuleTitle,
} from '../core/metric-rules.js';
import type { SeriesPoint, StatementPoint, StoredMetric } from '../core/metrics-series.js';
import { DEFAULT_SERIES_RESOLUTION_MS, DEFAULT_STATEMENTS_RESOLUTION_MS } from '../core/metrics-series.js';
import { ruleStateChanged, type RuleState } from '../core/rule-state.js';
import { initialRuleState, ruleStateKey, stepRule } from '../core/rule-step.js';
import type { StatementRef } from '../core/statement-latency-rule.js';
import {
  activeStatements,
  measureStatementLatency,
  statementFingerprint,
  statementOfKey,
  statementStateKey,
} from '../core/statement-latency-rule.js';
import type { ErrorRateCounts } from './error-rate-cycle.js';
import { KEEP_ALIVE_MS } from './error-rate-cycle.js';
import type { RecorderContext } from './incident-recorder.js';
import { placeAlert, refreshAlert, resolveAlert, stillFiring } from './incident-recorder.js';

/** The resolution statements are kept at (a minute), unless the caller says. */
export const STATEMENTS_RESOLUTION_MS = DEFAULT_STATEMENTS_RESOLUTION_MS;

/** The metric rules in force for a target: built-in ← global `rules:` ← its service's ← its own. */
export const metricRulesFor = (
  global: Readonly<Record<string, RuleOverride>>,
  service: Service | null,
  target: MonitoredTarget | null,
): MetricRule[] =>
  METRIC_RULE_NAMES.map((name) =>
    applyRuleOverrides(METRIC_RULE_DEFAULTS[name], [global[name], service?.rules[name], target?.rules[name]]),
  );

/**
 * Look-backs read by earlier cycles, kept by the caller between cycles: a baseline's look-back
 * (30 min of points or statements) moves only when its end crosses an interval, so a cycle every
 * second reads it once per interval, not every second. Points saved late into a look-back already
 * read are seen when it next moves (within one interval).
 */
export type LookBackCache = Map<string, readonly (SeriesPoint | StatementPoint)[]>;

export interface MetricRuleInput {
  readonly ctx: RecorderContext;
  /** Every rule state (those of metric rules are picked out). */
  readonly states: readonly RuleState[];
  readonly targets: readonly MonitoredTarget[];
  readonly services: ReadonlyMap<string, Service>;
  readonly overrides: Readonly<Record<string, RuleOverride>>;
  readonly touch: (incidentId: string, actor: string, quiet?: boolean) => void;
  readonly counts: ErrorRateCounts;
  /** The series' finest resolution (10 s): the points the rules read. */
  readonly resolutionMs?: number;
  /** The resolution statements are kept at (`statement_latency` reads those rows). */
  readonly statementsResolutionMs?: number;
  readonly cache?: LookBackCache;
  /** The backends burning a target's host CPU now, for `host_cpu`'s alert text (RuleCycleDeps.hostBackends). */
  readonly hostBackends?: (target: string) => readonly CpuBackend[];
}

const TARGET_RULES = ['connections_near_max', 'rollback_ratio', 'active_sessions', 'host_cpu'] as const;
type TargetRuleName = (typeof TARGET_RULES)[number];

const WINDOW_METRICS: readonly StoredMetric[] = [
  'connections',
  'max_connections',
  'commits',
  'rollbacks',
  'sessions_active',
  HOST_CPU_METRIC,
];

/** What is evaluated: a target rule, or one statement's latency. */
interface Subject {
  readonly key: string;
  readonly fingerprint: string;
  readonly rule: MetricRule;
  readonly target: MonitoredTarget;
  readonly statement: StatementRef | null;
}

/**
 * Evaluates the metric rules (core/metric-rules.ts, statement-latency-rule.ts) for every target
 * inside the rule cycle's transaction, from the metrics store: the window's points and statements
 * of every target in one read each; a baseline's look-back only for what could fire or is pending
 * or firing. Alerts (fingerprint `rule:<rule>:<target>`, or `rule:statement_latency:<target>:<queryid>`)
 * are raised, refreshed and resolved as the error rates' are, and placed in the incident of the
 * target's service by the same correlation. Returns the rule states to write.
 */
export const evaluateMetricRules = async (input: MetricRuleInput): Promise<RuleState[]> => {
  const { ctx } = input;
  const { tx, now } = ctx;
  const res = input.resolutionMs ?? DEFAULT_SERIES_RESOLUTION_MS;
  const statementsRes = input.statementsResolutionMs ?? STATEMENTS_RESOLUTION_MS;
  const known = new Map(input.states.filter((s) => isMetricRuleName(s.rule)).map((s) => [s.key, s]));
  const plans = input.targets.map((target) => {
    const service = input.services.get(target.service) ?? null;
    const rules = new Map(metricRulesFor(input.overrides, service, target).map((r) => [r.name, r]));
    return { target, service, rules };
  });
  let windowMs = 0;
  for (const p of plans)
    for (const r of p.rules.values()) if (r.enabled) windowMs = Math.max(windowMs, r.windowMs);
  const changes: RuleState[] = [];
  const planned = new Set(plans.map((p) => p.target.name));

  // Rules of targets that are gone stop firing.
  for (const state of known.values()) {
    if (state.phase === 'ok' || planned.has(state.target)) continue;
    await resolveState(input, state);
    changes.push({ ...state, phase: 'ok', since: now, value: 0, alertId: null, evaluatedAt: now });
  }
  if (windowMs === 0 && [...known.values()].every((s) => s.phase === 'ok' || !planned.has(s.target)))
    return changes;

  const since = now - Math.max(windowMs, res) - res;
  const wantStatements = plans.some((p) => p.rules.get('statement_latency')?.enabled === true);
  const [windowPoints, windowStatements] = await Promise.all([
    tx.metrics.points({ resolutionMs: res, from: since, until: now + 1, metrics: WINDOW_METRICS }),
    wantStatements
      ? tx.metrics.statements({
          resolutionMs: statementsRes,
          from: now - Math.max(windowMs, statementsRes) - statementsRes,
          until: now + 1,
        })
      : Promise.resolve([]),
  ]);
  const pointsOf = groupBy(windowPoints, (p) => p.target);
  const statementsOf = groupBy(windowStatements, (s) => s.target);
  const cache: LookBackCache = input.cache ?? (new Map() as LookBackCache);
  const used = new Set<string>();
  /** [until − baselineMs, until] of one target, up to where the window's read began. */
  const lookBack = async <T extends SeriesPoint | StatementPoint>(
    kind: 'points' | 'statements',
    target: string,
    rule: MetricRule,
    until: number,
  ): Promise<T[]> => {
    const step = kind === 'points' ? res : statementsRes;
    const from = until - rule.baselineMs - step;
    const to = Math.min(now - Math.max(windowMs, step) - step, until + 1);
    if (rule.baselineMs <= 0 || from >= to) return [];
    const key = `${kind}\u0000${target}\u0000${from.toString()}\u0000${to.toString()}`;
    used.add(key);
    const cached = cache.get(key);
    if (cached !== undefined) return cached as T[];
    const rows =
      kind === 'points'
        ? await tx.metrics.points({ resolutionMs: res, from, until: to, target, metrics: WINDOW_METRICS })
        : await tx.metrics.statements({ resolutionMs: statementsRes, from, until: to, target });
    cache.set(key, rows);
    return rows as T[];
  };

  for (const { target, rules } of plans) {
    const own = pointsOf.get(target.name) ?? [];
    const subjects: Subject[] = [];
    for (const name of TARGET_RULES) {
      const rule = rules.get(name);
      if (rule === undefined) continue;
      subjects.push({
        key: ruleStateKey(name, target.name),
        fingerprint: `rule:${name}:${target.name}`,
        rule,
        target,
        statement: null,
      });
    }
    const latency = rules.get('statement_latency');
    if (latency !== undefined) {
      const refs = new Map<string, StatementRef>();
      if (latency.enabled)
        for (const ref of activeStatements(statementsOf.get(target.name) ?? [], latency.windowMs, now))
          refs.set(statementStateKey(ref), ref);
      for (const s of known.values()) {
        const ref = s.rule === 'statement_latency' && s.phase !== 'ok' ? statementOfKey(s.key) : null;
        if (ref !== null && ref.target === target.name) refs.set(s.key, ref);
      }
      for (const [key, ref] of [...refs.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)))
        subjects.push({ key, fingerprint: statementFingerprint(ref), rule: latency, target, statement: ref });
    }

    for (const subject of subjects) {
      const { rule } = subject;
      const previous = known.get(subject.key);
      const quiet = previous === undefined || previous.phase === 'ok';
      if (quiet && !rule.enabled) continue;
      const prev =
        previous ?? initialRuleState({ rule: rule.name, target: target.name, service: target.service, now });
      // The look-back's end on an interval boundary: it moves once per interval (see LookBackCache).
      const step0 = subject.statement === null ? res : statementsRes;
      const until = Math.floor(metricBaselineEnd(rule, prev, now) / step0) * step0;
      const measureCtx = { target: target.name, now, baselineUntil: until };
      const statementRows = statementsOf.get(target.name) ?? [];
      // Quiet and nothing in the window that could fire: no look-back read.
      if (quiet && !couldFire(subject, own, statementRows, now)) continue;
      const measure = async (withDetail: boolean): Promise<MetricMeasurement> => {
        if (subject.statement !== null) {
          const rows = [
            ...(await lookBack<StatementPoint>('statements', target.name, rule, until)),
            ...statementRows,
          ];
          const deploy = withDetail ? await onsetDeployOf(input, target.service, prev, rule) : null;
          return measureStatementLatency(rule, subject.statement, rows, { ...measureCtx, deploy });
        }
        const name = rule.name as TargetRuleName;
        switch (name) {
          case 'connections_near_max':
            return measureConnections(rule, own, measureCtx);
          case 'host_cpu': {
            const statements = withDetail
              ? await tx.metrics.statementTotals(
                  {
                    resolutionMs: statementsRes,
                    from: now - Math.max(rule.windowMs, statementsRes) - statementsRes,
                    until: now + 1,
                    target: target.name,
                  },
                  5,
                )
              : [];
            const backends = withDetail ? (input.hostBackends?.(target.name) ?? []) : [];
            return measureHostCpu(rule, own, { ...measureCtx, statements, backends });
          }
          case 'rollback_ratio':
            return measureRollbacks(
              rule,
              [...(await lookBack<SeriesPoint>('points', target.name, rule, until)), ...own],
              measureCtx,
            );
          case 'active_sessions':
            return measureActiveSessions(
              rule,
              [...(await lookBack<SeriesPoint>('points', target.name, rule, until)), ...own],
              measureCtx,
            );
        }
      };
      let m = await measure(false);
      const step = stepRule({ ...prev, service: target.service }, m, rule, now);
      input.counts.evaluated += 1;
      const raises = step.event === 'fire' || (step.event === 'firing' && prev.alertId === null);
      // Rewritten when it got worse (the alert keeps saying how bad it was, not how it is easing),
      // and kept alive in its incident every KEEP_ALIVE_MS.
      const worse = m.value > prev.value && moved(prev.value, m.value);
      const refresh =
        step.event === 'firing' &&
        prev.alertId !== null &&
        (worse || now - prev.evaluatedAt >= KEEP_ALIVE_MS);
      // The alert's text names what only a firing alert needs: top statements, the onset deploy.
      if (raises || worse) m = await measure(true);
      let next = step.state;
      let refreshed = false;
      const actor = `rule:${rule.name}`;
      if (raises) next = { ...next, alertId: await raise(input, subject, m) };
      else if (refresh) {
        const alert = await tx.alerts.get(prev.alertId);
        if (alert !== null && alert.status === 'firing') {
          if (worse) {
            const r = await refreshAlert(
              ctx,
              alert,
              { summary: m.summary, severity: rule.severity, evidence: [] },
              actor,
            );
            if (r.changed) input.counts.refreshed += 1;
          } else next = { ...next, value: prev.value };
          refreshed = true;
          if (alert.incidentId !== null) {
            await stillFiring(ctx, alert.incidentId);
            input.touch(alert.incidentId, actor);
          }
        }
      } else if (step.event === 'resolve') await resolveState(input, prev);
      if (next.phase === 'pending') input.counts.pending += 1;
      if (next.phase === 'firing') input.counts.firing += 1;
      if (ruleStateChanged(previous, next, refreshed)) changes.push({ ...next, key: subject.key });
    }
  }
  for (const key of cache.keys()) if (!used.has(key)) cache.delete(key);
  return changes;
};

const groupBy = <T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> => {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list === undefined) map.set(k, [item]);
    else list.push(item);
  }
  return map;
};

/**
 * Could the window alone make a quiet rule fire? Cheap checks, without the baseline: over the
 * threshold (connections, host CPU), enough volume (rollbacks over the threshold, active sessions,
 * a statement's calls at or over its floor).
 */
const couldFire = (
  subject: Subject,
  points: readonly SeriesPoint[],
  statements: readonly StatementPoint[],
  now: number,
): boolean => {
  const { rule } = subject;
  const ctx = { target: subject.target.name, now, baselineUntil: -Infinity };
  if (subject.statement !== null) {
    const ref = subject.statement;
    const m = measureStatementLatency({ ...rule, floor: 0 }, ref, statements, ctx);
    return m.calls >= rule.minVolume && m.meanMs >= rule.floor;
  }
  switch (rule.name) {
    case 'connections_near_max':
      return measureConnections(rule, points, ctx).value >= rule.threshold;
    case 'host_cpu':
      return measureHostCpu(rule, points, ctx).value >= rule.threshold;
    case 'rollback_ratio':
      // With no baseline the value is the ratio itself: under the threshold it cannot fire.
      return measureRollbacks(rule, points, ctx).value >= rule.threshold;
    case 'active_sessions':
      return measureActiveSessions(rule, points, ctx).active >= rule.minVolume;
    case 'statement_latency':
      return false;
  }
};

/** The onset deploy of a statement's regression: the service's last deploy before the anomaly began. */
const onsetDeployOf = async (
  input: MetricRuleInput,
  service: string,
  prev: RuleState,
  rule: MetricRule,
): Promise<ReturnType<typeof deployOnset>> => {
  const { now } = input.ctx;
  const onset =
    prev.phase === 'pending' ? prev.since : prev.phase === 'firing' ? prev.since - rule.forMs : now;
  const deploy = await input.ctx.tx.deploys.latestBefore(service, onset);
  return deployOnset(deploy, onset);
};

/** A firing alert is rewritten when its value moved by a quarter (or 0.02): not for every wobble. */
const moved = (before: number, after: number): boolean =>
  Math.abs(after - before) >= Math.max(0.02, before / 4);

/** Raises the subject's alert (or takes over a firing one without its state); returns its id. */
const raise = async (input: MetricRuleInput, subject: Subject, m: MetricMeasurement): Promise<string> => {
  const { ctx, counts } = input;
  const { rule, target } = subject;
  const actor = `rule:${rule.name}`;
  const existing = await ctx.tx.alerts.findFiring(target.service, subject.fingerprint);
  if (existing !== null) {
    const r = await refreshAlert(
      ctx,
      existing,
      { summary: m.summary, severity: rule.severity, evidence: [] },
      actor,
    );
    if (r.incidentId !== null) input.touch(r.incidentId, actor);
    return existing.id;
  }
  const alert: Alert = {
    id: ctx.ids.next('alert'),
    fingerprint: subject.fingerprint,
    source: 'rule',
    service: target.service,
    target: target.name,
    rule: rule.name,
    severity: rule.severity,
    status: 'firing',
    summary: m.summary,
    labels: {
      rule: rule.name,
      target: target.name,
      service: target.service,
      ...(subject.statement === null ? {} : { queryid: subject.statement.queryId }),
    },
    startedAt: ctx.now,
    updatedAt: ctx.now,
    resolvedAt: null,
    incidentId: null,
    evidence: [],
  };
  const placed = await placeAlert(ctx, alert, {
    actor,
    grouping: input.services.get(target.service)?.grouping ?? DEFAULT_GROUPING,
    title: metricRuleTitle(rule.name, target.name),
  });
  counts.fired += 1;
  if (placed.placement === 'opened') counts.opened += 1;
  else if (placed.placement === 'joined') counts.joined += 1;
  else counts.reopened += 1;
  input.touch(placed.incident.id, actor, placed.placement === 'opened');
  return alert.id;
};

const resolveState = async (input: MetricRuleInput, state: RuleState): Promise<void> => {
  if (state.alertId === null) return;
  const { ctx, counts } = input;
  const alert = await ctx.tx.alerts.get(state.alertId);
  if (alert === null || alert.status !== 'firing') return;
  const actor = `rule:${state.rule}`;
  // Its summary stays what it said while firing: the incident's sentence names the trouble, not the recovery.
  const r = await resolveAlert(ctx, alert, actor);
  counts.resolved += 1;
  counts.incidentsResolved += r.incidentResolved ? 1 : 0;
  if (alert.incidentId !== null) input.touch(alert.incidentId, actor);
};
