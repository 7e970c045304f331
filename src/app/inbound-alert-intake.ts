import type { Alert, InboundAlert } from '../core/alert.js';
import { DEFAULT_GROUPING } from '../core/catalog.js';
import type { IncidentStore } from '../core/incident-store.js';
import type { Actor } from '../core/incident.js';
import { transitionIncident } from '../core/incident-transition.js';
import type { Clock, IdSource } from '../core/ports.js';
import type { RecorderContext } from './incident-recorder.js';
import {
  placeAlert,
  refreshAlert,
  refreshSummary,
  resolveAlert,
  timelineEntry,
  updateIncident,
} from './incident-recorder.js';
import { RULES_LOCK } from './rule-cycle.js';

/** What became of one inbound alert (PagerDuty answers with the `dedup_key`). */
export interface InboundOutcome {
  /** The alert it fired, refreshed, resolved or acknowledged; null when a resolve or acknowledge named no firing alert. */
  readonly alertId: string | null;
  readonly incidentId: string | null;
  readonly dedupKey: string;
  readonly action: InboundAlert['action'];
}

/**
 * Alerts from the stacks teams already run (Alertmanager webhook, PagerDuty Events v2), already
 * normalized by the API. `trigger` fires a new alert or refreshes the firing one with that
 * fingerprint (dedup), correlated into incidents like rule alerts; `resolve` resolves it (and its
 * incident when none of its alerts still fires); `acknowledge` acknowledges its incident. Runs under
 * the same lock as the rule cycle, so the two never open two incidents for one group.
 */
export class InboundAlertIntake {
  readonly #store: IncidentStore;
  readonly #clock: Clock;
  readonly #ids: IdSource;

  constructor(deps: { store: IncidentStore; clock: Clock; ids: IdSource }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#ids = deps.ids;
  }

  receive(alerts: readonly InboundAlert[], actor: Actor): Promise<InboundOutcome[]> {
    return this.#store.transact(RULES_LOCK, async (tx) => {
      const ctx: RecorderContext = { tx, ids: this.#ids, now: this.#clock.now(), groups: new Map() };
      const outcomes: InboundOutcome[] = [];
      const touched = new Map<string, boolean>();
      for (const inbound of alerts) {
        const outcome = await this.#one(ctx, inbound, actor, touched);
        outcomes.push(outcome);
      }
      for (const [incidentId, quiet] of [...touched.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
        await refreshSummary(ctx, incidentId, { actor, quiet });
      }
      return outcomes;
    });
  }

  async #one(
    ctx: RecorderContext,
    inbound: InboundAlert,
    actor: Actor,
    touched: Map<string, boolean>,
  ): Promise<InboundOutcome> {
    const { tx, now } = ctx;
    const base = { dedupKey: inbound.fingerprint, action: inbound.action };
    const firing = await tx.alerts.findFiring(inbound.service, inbound.fingerprint);
    const touch = (id: string, quiet: boolean): void => {
      touched.set(id, (touched.get(id) ?? true) && quiet);
    };
    switch (inbound.action) {
      case 'trigger': {
        if (firing !== null) {
          const r = await refreshAlert(
            ctx,
            firing,
            { summary: inbound.summary, severity: inbound.severity, evidence: [], labels: inbound.labels },
            actor,
          );
          if (r.changed && firing.incidentId !== null) touch(firing.incidentId, false);
          return { ...base, alertId: firing.id, incidentId: firing.incidentId };
        }
        const alert: Alert = {
          id: this.#ids.next('alert'),
          fingerprint: inbound.fingerprint,
          source: inbound.source,
          service: inbound.service,
          target: inbound.labels['target'] ?? null,
          rule: null,
          severity: inbound.severity,
          status: 'firing',
          summary: inbound.summary,
          labels: inbound.labels,
          startedAt: Math.min(inbound.at, now),
          updatedAt: now,
          resolvedAt: null,
          incidentId: null,
          evidence: [],
        };
        const service = await tx.services.get(inbound.service);
        const placed = await placeAlert(ctx, alert, {
          actor,
          grouping: service?.grouping ?? DEFAULT_GROUPING,
          title: inboundTitle(inbound),
        });
        touch(placed.incident.id, placed.placement === 'opened');
        return { ...base, alertId: alert.id, incidentId: placed.incident.id };
      }
      case 'resolve': {
        if (firing === null) return { ...base, alertId: null, incidentId: null };
        await resolveAlert(ctx, firing, actor);
        if (firing.incidentId !== null) touch(firing.incidentId, false);
        return { ...base, alertId: firing.id, incidentId: firing.incidentId };
      }
      case 'acknowledge': {
        if (firing === null) return { ...base, alertId: null, incidentId: null };
        if (firing.incidentId === null) return { ...base, alertId: firing.id, incidentId: null };
        await acknowledgeIncident(ctx, firing.incidentId, actor);
        return { ...base, alertId: firing.id, incidentId: firing.incidentId };
      }
    }
  }
}

/** Acknowledges if it can; an incident already acknowledged (or further along) is left as it is. */
const acknowledgeIncident = async (ctx: RecorderContext, incidentId: string, actor: Actor): Promise<void> => {
  const updated = await updateIncident(ctx.tx, incidentId, (current) => {
    const result = transitionIncident(current, { kind: 'acknowledge' }, ctx.now);
    return result.ok ? result.incident : null;
  });
  if (updated === null || updated.before.state === updated.after.state) return;
  await ctx.tx.timeline.append(
    timelineEntry(ctx, {
      incidentId,
      actor,
      kind: 'state_changed',
      text: updated.after.state,
      data: { from: updated.before.state, to: updated.after.state, command: 'acknowledge' },
    }),
  );
};

const MAX_TITLE = 80;

/** Short and stable: Alertmanager's `alertname` when there is one, else the summary, cut. */
const inboundTitle = (inbound: InboundAlert): string => {
  const title = inbound.labels['alertname'] ?? inbound.summary;
  return title.length > MAX_TITLE ? `${title.slice(0, MAX_TITLE - 1)}…` : title;
};
