import type { Alert } from '../core/alert.js';
import type { AlertRule, RuleName } from '../core/alert-rule.js';
import { BUILT_IN_RULES, RULE_NAMES, applyRuleOverrides, isRuleName, ruleTitle } from '../core/alert-rule.js';
import type { MonitoredTarget, RuleOverride, Service } from '../core/catalog.js';
import { DEFAULT_GROUPING } from '../core/catalog.js';
import type { Finding, FindingKind } from '../core/finding.js';
import type { EvidenceLinks, FindingCursor, StoreRepositories } from '../core/incident-store.js';
import type { Incident, TimelineEntry } from '../core/incident.js';
import { HindsightError } from '../core/errors.js';
import { findingCursor } from '../core/incident-store.js';
import type { IncidentStore } from '../core/incident-store.js';
import type { Clock, IdSource } from '../core/ports.js';
import { RULE_FINDING_KINDS, measureRule } from '../core/rule-measure.js';
import type { RuleMeasurement } from '../core/rule-measure.js';
import { ruleStateChanged, type RuleState } from '../core/rule-state.js';
import { initialRuleState, ruleStateKey, stepRule } from '../core/rule-step.js';
import { ERROR_RATE_RULE } from '../core/error-rate-rule.js';
import { evaluateErrorRates } from './error-rate-cycle.js';
import type { CpuBackend } from '../core/metric-rules.js';
import { isMetricRuleName } from '../core/metric-rules.js';
import type { LookBackCache } from './metric-rule-cycle.js';
import { evaluateMetricRules } from './metric-rule-cycle.js';
import type { RecorderContext } from './incident-recorder.js';
import { placeAlert, refreshAlert, refreshSummary, resolveAlert } from './incident-recorder.js';

/** What one rule cycle did, for metrics and logs. */
export interface RuleCycleReport {
  readonly at: number;
  /** Rule × target pairs measured (a quiet rule with no finding of its kinds is skipped). */
  readonly evaluated: number;
  /** Rules pending (over the threshold, waiting out `for`) after the cycle. */
  readonly pending: number;
  /** Rules firing after the cycle. */
  readonly firing: number;
  /** Alerts raised. */
  readonly fired: number;
  /** Firing alerts that took new evidence or a new summary. */
  readonly refreshed: number;
  /** Alerts resolved. */
  readonly resolved: number;
  readonly incidentsOpened: number;
  /** Alerts that joined an incident already open. */
  readonly incidentsJoined: number;
  readonly incidentsReopened: number;
  readonly incidentsResolved: number;
  /** Findings read from the store. */
  readonly findings: number;
}

export interface RuleCycleDeps {
  readonly store: IncidentStore;
  readonly clock: Clock;
  readonly ids: IdSource;
  /** The configuration file's top-level `rules:` overrides, by rule name; services and targets override them. */
  readonly overrides?: Readonly<Record<string, RuleOverride>>;
  /** The series' finest resolution and the statements' (the metric rules read those points; default 10 s and 1 min). */
  readonly metricsResolutionMs?: number;
  readonly statementsResolutionMs?: number;
  /**
   * The backends burning a target's host CPU right now (serve's host reading), for `host_cpu`'s
   * alert text only: per-backend CPU is not kept in the store, so only the process that reads the
   * host can name them.
   */
  readonly hostBackends?: (target: string) => readonly CpuBackend[];
}

/** The lock every writer of alerts and their correlation holds (rule cycles on all replicas, inbound alerts). */
export const RULES_LOCK = 'rules';

const SHORT_KINDS: readonly FindingKind[] = [
  'deadlock',
  'blocking_episode',
  'idle_in_transaction',
  'lock_wait_storm',
  'long_transaction',
];
const OUTAGE_KINDS: readonly FindingKind[] = ['target_unreachable', 'target_recovered'];
const PAGE = 1000;

/** The rules in force for one target: built-in ← global `rules:` ← its service's ← its own. */
export const rulesFor = (
  global: Readonly<Record<string, RuleOverride>>,
  service: Service | null,
  target: MonitoredTarget | null,
): AlertRule[] =>
  RULE_NAMES.map((name) =>
    applyRuleOverrides(BUILT_IN_RULES[name], [global[name], service?.rules[name], target?.rules[name]]),
  );

/**
 * Evaluates every rule for every target from what the store holds, in one transaction under the
 * `rules` lock, so cycles on several replicas (or overlapping nudges) serialize and each sees the
 * previous one's result. Idempotent: measurements depend only on the findings and `now`, and a rule
 * state is written only when something changed, so a second run at the same `now` writes nothing.
 *
 * Round trips per cycle: targets, services and rule states once each, findings in pages of 1000
 * (a keyset cursor), the changed rule states in one statement at the end; then only for what
 * changes (an alert fired, refreshed or resolved, and its incident). Steady
 * firing alerts cost nothing: see `worthRefreshing` and `ruleStateChanged` (a late finding that neither
 * moves a counted value nor is newer than the last change is linked at the next change).
 */
export class RuleCycle {
  readonly #store: IncidentStore;
  readonly #clock: Clock;
  readonly #ids: IdSource;
  readonly #overrides: Readonly<Record<string, RuleOverride>>;
  /** The metric rules' baseline look-backs, read once per interval (metric-rule-cycle.ts). */
  readonly #lookBacks: LookBackCache = new Map();
  readonly #metrics: Pick<RuleCycleDeps, 'metricsResolutionMs' | 'statementsResolutionMs' | 'hostBackends'>;

  constructor(deps: RuleCycleDeps) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#ids = deps.ids;
    this.#overrides = deps.overrides ?? {};
    this.#metrics = deps;
  }

  /** One cycle at `now` (default: the clock's now). */
  run(now: number = this.#clock.now()): Promise<RuleCycleReport> {
    return this.#store.transact(RULES_LOCK, (tx) => this.#cycle(tx, now));
  }

  async #cycle(store: StoreRepositories, now: number): Promise<RuleCycleReport> {
    const { repos: tx, flush } = deferredWrites(store);
    const [targets, services, states] = await Promise.all([
      tx.targets.list(),
      tx.services.list(),
      tx.ruleStates.list(),
    ]);
    const serviceByName = new Map(services.map((s) => [s.name, s]));
    const stateByKey = new Map(states.map((s) => [s.key, s]));
    const plans = targets.map((target) => {
      const service = serviceByName.get(target.service) ?? null;
      return { target, service, rules: rulesFor(this.#overrides, service, target) };
    });
    const longest = (names: readonly RuleName[]): number => {
      // A loop, not a spread of every window into Math.max: 10,000 targets × 6 rules.
      let windowMs = 0;
      for (const p of plans)
        for (const r of p.rules)
          if (r.enabled && r.windowMs > windowMs && names.includes(r.name)) windowMs = r.windowMs;
      return windowMs;
    };
    const shortWindow = longest([
      'deadlocks',
      'blocking',
      'idle_in_transaction_blocker',
      'lock_wait_storm',
      'long_transaction',
    ]);
    const outageWindow = longest(['target_unreachable']);
    const names = plans.map((p) => p.target.name);
    const [recent, outages] = await Promise.all([
      plans.length === 0 ? [] : scanFindings(tx, now - shortWindow, SHORT_KINDS),
      plans.length === 0 || outageWindow === 0 ? [] : scanFindings(tx, now - outageWindow, OUTAGE_KINDS),
    ]);
    const byTarget = new Map<string, Finding[]>();
    for (const f of [...recent, ...outages]) {
      const list = byTarget.get(f.target);
      if (list === undefined) byTarget.set(f.target, [f]);
      else list.push(f);
    }

    const ctx: RecorderContext = { tx, ids: this.#ids, now, groups: new Map(), targets };
    const counts = {
      evaluated: 0,
      pending: 0,
      firing: 0,
      fired: 0,
      refreshed: 0,
      resolved: 0,
      opened: 0,
      joined: 0,
      reopened: 0,
      incidentsResolved: 0,
    };
    /** Incidents whose evidence or alerts changed: their summaries are rebuilt once at the end. */
    const touched = new Map<string, { actor: string; quiet: boolean }>();
    const touch = (id: string, actor: string, quiet = false): void => {
      const seen = touched.get(id);
      touched.set(id, { actor, quiet: seen === undefined ? quiet : seen.quiet && quiet });
    };
    const planned = new Set(names);
    /** Rule states to write, at the end of the cycle. */
    const changes: RuleState[] = [];

    // First measure and step every rule (pure), then read the firing alerts of all the rules that
    // raise one at once, then write what changed.
    const evaluations: Evaluation[] = [];
    for (const { target, service, rules } of plans) {
      const findings = byTarget.get(target.name) ?? [];
      const kinds = new Set(findings.map((f) => f.kind));
      for (const rule of rules) {
        const previous = stateByKey.get(ruleStateKey(rule.name, target.name));
        // Quiet and nothing to look at (the usual case for most rules of most targets): nothing can change.
        const quiet = previous === undefined || previous.phase === 'ok';
        if (quiet && (!rule.enabled || !RULE_FINDING_KINDS[rule.name].some((k) => kinds.has(k)))) continue;
        const prev =
          previous ??
          initialRuleState({ rule: rule.name, target: target.name, service: target.service, now });
        const measurement = measureRule(rule, findings, { target: target.name, now });
        const step = stepRule({ ...prev, service: target.service }, measurement, rule, now);
        const raises = step.event === 'fire' || (step.event === 'firing' && prev.alertId === null);
        evaluations.push({
          target,
          service,
          rule,
          previous,
          prev,
          measurement,
          step,
          raises,
          fingerprint: `rule:${rule.name}:${target.name}`,
        });
      }
    }
    const raising = evaluations
      .filter((e) => e.raises)
      .map((e) => ({ service: e.target.service, fingerprint: e.fingerprint }));
    const firingAlerts = raising.length === 0 ? [] : await tx.alerts.findFiringMany(raising);
    const firingByKey = new Map(firingAlerts.map((a) => [alertKey(a), a]));

    for (const {
      target,
      service,
      rule,
      previous,
      prev,
      measurement,
      step,
      raises,
      fingerprint,
    } of evaluations) {
      counts.evaluated += 1;
      let next = step.state;
      let refreshed = false;
      const actor = `rule:${rule.name}`;
      if (raises) {
        const existing = firingByKey.get(alertKey({ service: target.service, fingerprint })) ?? null;
        if (existing !== null) {
          // A firing alert without its state (a state lost, or a rule re-enabled): take it over.
          const r = await refreshAlert(
            ctx,
            existing,
            { summary: measurement.summary, severity: rule.severity, evidence: measurement.evidence },
            actor,
          );
          if (r.incidentId !== null) touch(r.incidentId, actor);
          next = { ...next, alertId: existing.id };
        } else {
          const alert: Alert = {
            id: this.#ids.next('alert'),
            fingerprint,
            source: 'rule',
            service: target.service,
            target: target.name,
            rule: rule.name,
            severity: rule.severity,
            status: 'firing',
            summary: measurement.summary,
            labels: { rule: rule.name, target: target.name, service: target.service },
            startedAt: now,
            updatedAt: now,
            resolvedAt: null,
            incidentId: null,
            evidence: measurement.evidence,
          };
          const placed = await placeAlert(ctx, alert, {
            actor,
            grouping: service?.grouping ?? DEFAULT_GROUPING,
            title: ruleTitle(rule.name, target.name),
          });
          counts.fired += 1;
          if (placed.placement === 'opened') counts.opened += 1;
          else if (placed.placement === 'joined') counts.joined += 1;
          else counts.reopened += 1;
          touch(placed.incident.id, actor, placed.placement === 'opened');
          next = { ...next, alertId: alert.id };
        }
      } else if (step.event === 'firing' && prev.alertId !== null) {
        const fresh = worthRefreshing(rule.name, prev, measurement);
        if (fresh) {
          const alert = await tx.alerts.get(prev.alertId);
          if (alert !== null && alert.status === 'firing') {
            const r = await refreshAlert(
              ctx,
              alert,
              { summary: measurement.summary, severity: rule.severity, evidence: measurement.evidence },
              actor,
            );
            refreshed = r.changed;
            if (r.changed) counts.refreshed += 1;
            if (r.incidentId !== null) touch(r.incidentId, actor);
          }
        }
      } else if (step.event === 'resolve' && prev.alertId !== null) {
        const resolved = await this.#resolve(ctx, prev.alertId, actor, touch);
        counts.resolved += resolved.alert ? 1 : 0;
        counts.incidentsResolved += resolved.incident ? 1 : 0;
      }
      if (next.phase === 'pending') counts.pending += 1;
      if (next.phase === 'firing') counts.firing += 1;
      if (ruleStateChanged(previous, next, refreshed)) changes.push(next);
    }

    // The web app's error rates per service × route (error-rate-cycle.ts), in the same transaction.
    changes.push(
      ...(await evaluateErrorRates({
        ctx,
        states,
        services: serviceByName,
        overrides: this.#overrides,
        touch,
        counts,
      })),
    );

    // The database metric rules per target (metric-rule-cycle.ts), from the kept series.
    changes.push(
      ...(await evaluateMetricRules({
        ctx,
        states,
        targets,
        services: serviceByName,
        overrides: this.#overrides,
        touch,
        counts,
        cache: this.#lookBacks,
        ...(this.#metrics.metricsResolutionMs === undefined
          ? {}
          : { resolutionMs: this.#metrics.metricsResolutionMs }),
        ...(this.#metrics.statementsResolutionMs === undefined
          ? {}
          : { statementsResolutionMs: this.#metrics.statementsResolutionMs }),
        ...(this.#metrics.hostBackends === undefined ? {} : { hostBackends: this.#metrics.hostBackends }),
      })),
    );

    // Rules of targets that are gone (or whose rule name is no longer known) stop firing.
    for (const state of states) {
      // Every known rule of every planned target was looked at above (a quiet one needs nothing);
      // error_rate states are of routes, not targets, and were evaluated just above; metric
      // rules' states too, gone targets included.
      if (
        state.phase === 'ok' ||
        state.rule === ERROR_RATE_RULE ||
        isMetricRuleName(state.rule) ||
        (planned.has(state.target) && isRuleName(state.rule))
      )
        continue;
      const actor = `rule:${isRuleName(state.rule) ? state.rule : 'unknown'}`;
      if (state.alertId !== null) {
        const resolved = await this.#resolve(ctx, state.alertId, actor, touch);
        counts.resolved += resolved.alert ? 1 : 0;
        counts.incidentsResolved += resolved.incident ? 1 : 0;
      }
      changes.push({ ...state, phase: 'ok', since: now, value: 0, alertId: null, evaluatedAt: now });
    }
    // Every changed state in one statement (its key is the rule and target: each is written once).
    if (changes.length > 0) await tx.ruleStates.saveMany(changes);

    for (const [incidentId, how] of [...touched.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      await refreshSummary(ctx, incidentId, how);
    }
    // The held alerts, timeline entries and evidence links, before the transaction commits.
    await flush();
    return {
      at: now,
      evaluated: counts.evaluated,
      pending: counts.pending,
      firing: counts.firing,
      fired: counts.fired,
      refreshed: counts.refreshed,
      resolved: counts.resolved,
      incidentsOpened: counts.opened,
      incidentsJoined: counts.joined,
      incidentsReopened: counts.reopened,
      incidentsResolved: counts.incidentsResolved,
      findings: recent.length + outages.length,
    };
  }

  async #resolve(
    ctx: RecorderContext,
    alertId: string,
    actor: string,
    touch: (id: string, actor: string) => void,
  ): Promise<{ alert: boolean; incident: boolean }> {
    const alert = await ctx.tx.alerts.get(alertId);
    if (alert === null || alert.status !== 'firing') return { alert: false, incident: false };
    const r = await resolveAlert(ctx, alert, actor);
    if (alert.incidentId !== null) touch(alert.incidentId, actor);
    return { alert: true, incident: r.incidentResolved };
  }
}

/** One rule of one target, measured and stepped, before anything is written. */
interface Evaluation {
  readonly target: MonitoredTarget;
  readonly service: Service | null;
  readonly rule: AlertRule;
  readonly previous: RuleState | undefined;
  readonly prev: RuleState;
  readonly measurement: RuleMeasurement;
  readonly step: ReturnType<typeof stepRule>;
  /** Does it raise an alert (or take over a firing one)? */
  readonly raises: boolean;
  readonly fingerprint: string;
}

const alertKey = (a: { readonly service: string; readonly fingerprint: string }): string =>
  `${a.service}\u0000${a.fingerprint}`;

/**
 * The cycle's repositories, with the writes that nothing reads back at once — new alerts, timeline
 * entries, evidence links — held and written in one statement each (insertMany, appendMany,
 * linkMany) before anything next reads or changes that table, and at the end of the cycle: a
 * burst of 10,000 new alerts costs a few statements, not 30,000 round trips. Still one
 * transaction: a conflict rejects the cycle as before, only at the flush.
 */
const deferredWrites = (
  tx: StoreRepositories,
): { readonly repos: StoreRepositories; readonly flush: () => Promise<void> } => {
  let alerts: Alert[] = [];
  let entries: TimelineEntry[] = [];
  let links: EvidenceLinks[] = [];
  /**
   * Incidents this transaction inserted or updated, by id: the version stored, and a later state
   * held back. Once it has written an incident, the transaction holds its row (PostgreSQL's row
   * lock until commit), so its next updates of it cannot meet another writer's version: they are
   * held, and only the last one written (`updateFrom`) — 100 alerts joining one incident cost one
   * UPDATE, not 100. Should the stored version have moved all the same (the memory store has no
   * row locks), the cycle rolls back and the next one recomputes it.
   */
  const owned = new Map<string, { stored: number; held: Incident | null }>();
  let flushing: Promise<void> = Promise.resolve();
  /** Writes what a read (or a write that must come after them) needs: only the tables it touches. */
  const flush = (needs: Needs = ALL): Promise<void> => {
    const incidents =
      needs.incidents === undefined
        ? []
        : [...owned.values()].filter((o) => o.held !== null && needs.incidents?.(o.held) === true);
    const held = {
      alerts: needs.alerts === true ? alerts : [],
      entries: needs.timeline === true ? entries : [],
      links: needs.evidence === true ? links : [],
      incidents: incidents.map((o) => ({ owned: o, incident: o.held as Incident })),
    };
    if (held.alerts.length + held.entries.length + held.links.length + held.incidents.length === 0)
      return flushing;
    if (needs.alerts === true) alerts = [];
    if (needs.timeline === true) entries = [];
    if (needs.evidence === true) links = [];
    for (const o of incidents) o.held = null;
    // Chained, so that concurrent readers (Promise.all) wait for the same writes, in order.
    flushing = flushing.then(async () => {
      for (const { owned: o, incident } of held.incidents) {
        if (!(await tx.incidents.updateFrom(incident, o.stored))) {
          throw new HindsightError({
            code: 'INCIDENT_CONFLICT',
            kind: 'transient',
            message: `incident ${incident.id} changed while a rule cycle was writing it; the next cycle will try again`,
          });
        }
        o.stored = Math.max(o.stored, incident.version);
      }
      if (held.alerts.length > 0) await tx.alerts.insertMany(held.alerts);
      if (held.entries.length > 0) await tx.timeline.appendMany(held.entries);
      if (held.links.length > 0) await tx.evidence.linkMany(held.links);
    });
    return flushing;
  };
  /** `work` after the held writes it needs are in the store. */
  const after =
    <A extends unknown[], R>(needs: Needs, work: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await flush(needs);
      return work(...args);
    };
  const ALERTS: Needs = { alerts: true };
  const TIMELINE: Needs = { timeline: true };
  const EVIDENCE: Needs = { evidence: true };
  const INCIDENTS: Needs = { incidents: () => true };
  const repos: StoreRepositories = {
    ...tx,
    findings: {
      ...tx.findings,
      prune: after({ alerts: true, evidence: true }, (before) => tx.findings.prune(before)),
    },
    incidents: {
      insert: async (incident) => {
        await tx.incidents.insert(incident);
        owned.set(incident.id, { stored: incident.version, held: null });
      },
      update: async (incident) => {
        const mine = owned.get(incident.id);
        if (mine !== undefined && incident.version === (mine.held?.version ?? mine.stored) + 1) {
          mine.held = incident;
          return true;
        }
        await flush({ incidents: (i) => i.id === incident.id });
        const written = await tx.incidents.update(incident);
        if (written) owned.set(incident.id, { stored: incident.version, held: null });
        return written;
      },
      updateFrom: async (incident, storedVersion) => {
        await flush({ incidents: (i) => i.id === incident.id });
        const written = await tx.incidents.updateFrom(incident, storedVersion);
        if (written) owned.set(incident.id, { stored: incident.version, held: null });
        return written;
      },
      get: async (id) => {
        await flush({ incidents: (i) => i.id === id });
        return tx.incidents.get(id);
      },
      list: after(INCIDENTS, (query) => tx.incidents.list(query)),
      findForGrouping: async (service, groupKey, states) => {
        await flush({ incidents: (i) => i.service === service });
        return tx.incidents.findForGrouping(service, groupKey, states);
      },
      countByState: after(INCIDENTS, () => tx.incidents.countByState()),
    },
    alerts: {
      insert: (alert) => {
        alerts.push(alert);
        return Promise.resolve();
      },
      insertMany: after(ALERTS, (list) => tx.alerts.insertMany(list)),
      update: after(ALERTS, (alert) => tx.alerts.update(alert)),
      get: after(ALERTS, (id) => tx.alerts.get(id)),
      findFiring: after(ALERTS, (service, fingerprint) => tx.alerts.findFiring(service, fingerprint)),
      findFiringMany: after(ALERTS, (keys) => tx.alerts.findFiringMany(keys)),
      list: after(ALERTS, (query) => tx.alerts.list(query)),
      countByStatus: after(ALERTS, () => tx.alerts.countByStatus()),
    },
    timeline: {
      append: (entry) => {
        entries.push(entry);
        return Promise.resolve();
      },
      appendMany: after(TIMELINE, (list) => tx.timeline.appendMany(list)),
      list: after(TIMELINE, (incidentId) => tx.timeline.list(incidentId)),
    },
    evidence: {
      link: (incidentId, findingIds, at) => {
        links.push({ incidentId, findingIds: [...findingIds], at });
        return Promise.resolve();
      },
      linkMany: after(EVIDENCE, (list) => tx.evidence.linkMany(list)),
      findings: after(EVIDENCE, (incidentId) => tx.evidence.findings(incidentId)),
    },
  };
  return { repos, flush: () => flush(ALL) };
};

/** Which held writes a read needs in the store first. */
interface Needs {
  readonly alerts?: boolean;
  readonly timeline?: boolean;
  readonly evidence?: boolean;
  /** The held incident updates it needs (by the incident's held state). */
  readonly incidents?: (incident: Incident) => boolean;
}

const ALL: Needs = { alerts: true, timeline: true, evidence: true, incidents: () => true };

/**
 * A state is written when its phase, alert or service changed (or its alert was refreshed) — not for
 * a value alone: durations grow every second, and 10,000 firing rules must not mean 10,000 writes
 * per cycle. So `value` and `evaluatedAt` are as of the last change.
 */
/** Rules whose value counts their evidence: a new value means new evidence (maybe a late one). */
const COUNTED: readonly RuleName[] = ['deadlocks', 'lock_wait_storm'];

/**
 * Is a firing alert worth reading and rewriting? When evidence newer than the last change appeared,
 * when a counted value moved, or when a duration doubled since the alert last changed (its summary
 * then says "for 1 min", "for 2 min", "for 4 min" … rather than being rewritten every second).
 */
const worthRefreshing = (rule: RuleName, prev: RuleState, m: RuleMeasurement): boolean =>
  m.latestEvidenceAt > prev.evaluatedAt ||
  (COUNTED.includes(rule) ? m.value !== prev.value : m.value >= 2 * prev.value || m.value < prev.value);

/**
 * Findings of `kinds` active since `since`, read in pages of 1000 (oldest first), each continuing
 * after the previous one's last (time, id): a keyset cursor, so a burst of findings in one
 * millisecond costs pages, not a query per target.
 */
const scanFindings = async (
  tx: StoreRepositories,
  since: number,
  kinds: readonly FindingKind[],
): Promise<Finding[]> => {
  const found: Finding[] = [];
  let after: FindingCursor | undefined;
  for (;;) {
    const batch = await tx.findings.list(
      after === undefined ? { since, kinds, limit: PAGE } : { since, kinds, limit: PAGE, after },
    );
    found.push(...batch);
    const last = batch[batch.length - 1];
    if (batch.length < PAGE || last === undefined) return found;
    after = findingCursor(last);
  }
};
