import type { Alert } from '../core/alert.js';
import {
  CORRELATION_STATES,
  correlateAlert,
  groupKeyFor,
  openIncident,
  recordAlertActivity,
  withSummary,
} from '../core/alert-correlation.js';
import type { Grouping, MonitoredTarget } from '../core/catalog.js';
import { HindsightError } from '../core/errors.js';
import type { StoreRepositories } from '../core/incident-store.js';
import type { Actor, Incident, TimelineEntry, TimelineKind } from '../core/incident.js';
import { OPEN_STATES } from '../core/incident.js';
import { summarizeIncident } from '../core/incident-summary.js';
import { transitionIncident } from '../core/incident-transition.js';
import type { IdSource } from '../core/ports.js';
import { readAppSide } from './app-side-reader.js';
import { readIncidentLoad } from './incident-load-reader.js';

/**
 * What the rule cycle and the inbound-alert intake share: placing an alert in an incident, resolving
 * it, and keeping the incident's summary and timeline in step — always inside the caller's
 * `store.transact`, so an alert never exists without its incident and timeline.
 */
export interface RecorderContext {
  readonly tx: StoreRepositories;
  readonly ids: IdSource;
  readonly now: number;
  /**
   * Correlation candidates already read in this batch, by service and group key, kept up to date
   * with the incidents this batch wrote: 100 alerts of one group raised in one cycle read the store
   * once. A copy gone stale (a user changed the incident meanwhile) only costs a re-read: every
   * write is version-checked.
   */
  readonly groups?: Map<string, Incident[]>;
  /** The targets the caller read already (the rule cycle): the incident load reads its service's from them. */
  readonly targets?: readonly MonitoredTarget[];
}

export type Placement = 'opened' | 'joined' | 'reopened';

export interface PlacedAlert {
  readonly alert: Alert;
  readonly incident: Incident;
  readonly placement: Placement;
}

const SYSTEM: Actor = 'system';
const MAX_ATTEMPTS = 5;

export const timelineEntry = (
  ctx: RecorderContext,
  entry: {
    incidentId: string;
    actor: Actor;
    kind: TimelineKind;
    text: string;
    alertId?: string | null;
    deadEnd?: boolean;
    data?: Readonly<Record<string, unknown>>;
  },
): TimelineEntry => ({
  id: ctx.ids.next('timeline'),
  incidentId: entry.incidentId,
  at: ctx.now,
  actor: entry.actor,
  kind: entry.kind,
  text: entry.text,
  deadEnd: entry.deadEnd ?? false,
  alertId: entry.alertId ?? null,
  data: entry.data ?? {},
});

const groupCacheKey = (service: string, groupKey: string): string => `${service}\u0000${groupKey}`;

/** Keeps the batch's cached correlation candidates in step with an incident it just wrote. */
export const remember = (ctx: RecorderContext, incident: Incident): void => {
  const key = groupCacheKey(incident.service, incident.groupKey);
  const cached = ctx.groups?.get(key);
  if (cached === undefined) return;
  ctx.groups?.set(key, [incident, ...cached.filter((c) => c.id !== incident.id)]);
};

/**
 * An alert of the incident still fires (a rule that keeps its alert alive): the incident's grouping
 * window counts from now (`lastAlertAt`), so a long outage stays one incident.
 */
export const stillFiring = async (ctx: RecorderContext, incidentId: string): Promise<void> => {
  const updated = await updateIncident(ctx.tx, incidentId, (current) =>
    OPEN_STATES.includes(current.state) && current.lastAlertAt < ctx.now
      ? recordAlertActivity(current, null, ctx.now)
      : null,
  );
  if (updated !== null) remember(ctx, updated.after);
};

/**
 * Reads the incident, applies `change` and writes it with the version check. A user may change the
 * incident between the read and the write (their commands hold another lock): then it is read again
 * and `change` re-applied to the fresh copy. `change` returns null to leave it as it is.
 */
export const updateIncident = async (
  tx: StoreRepositories,
  id: string,
  change: (incident: Incident) => Incident | null,
  known?: Incident,
): Promise<{ before: Incident; after: Incident } | null> => {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    // A copy the caller holds is tried first; a stale one fails the version check and is read again.
    const before = attempt === 0 && known !== undefined ? known : await tx.incidents.get(id);
    if (before === null) return null;
    const after = change(before);
    if (after === null) return { before, after: before };
    if (await tx.incidents.update(after)) return { before, after };
  }
  throw new HindsightError({
    code: 'INCIDENT_CONFLICT',
    kind: 'transient',
    message: `incident ${id} kept changing while it was being updated; the next cycle will try again`,
  });
};

/**
 * Puts a new firing alert (not yet stored) in an incident: joins an open one of its group within the
 * window, re-opens a resolved one, or opens a new one; then stores the alert with its incident and
 * links its evidence. The summary is left to `refreshSummary`, once per incident per batch.
 */
export const placeAlert = async (
  ctx: RecorderContext,
  alert: Alert,
  options: { readonly actor: Actor; readonly grouping: Grouping; readonly title: string },
): Promise<PlacedAlert> => {
  const { tx, now } = ctx;
  const groupKey = groupKeyFor(alert, options.grouping);
  const cacheKey = groupCacheKey(alert.service, groupKey);
  const candidates =
    ctx.groups?.get(cacheKey) ??
    (await tx.incidents.findForGrouping(alert.service, groupKey, CORRELATION_STATES));
  const decision = correlateAlert(candidates, options.grouping, now);
  let incident: Incident | null = null;
  let placement: Placement = 'opened';
  if (decision.kind !== 'open') {
    const updated = await updateIncident(
      tx,
      decision.incident.id,
      (current) => {
        // Closed or cancelled since it was read: it takes no more alerts; a new incident opens below.
        if (current.state === 'closed' || current.state === 'cancelled') return null;
        let next = current;
        if (current.state === 'resolved') {
          const result = transitionIncident(current, { kind: 'reopen' }, now);
          if (result.ok) next = result.incident;
        }
        return { ...recordAlertActivity(next, alert, now), version: current.version + 1 };
      },
      decision.incident,
    );
    if (updated !== null && updated.after !== updated.before) {
      incident = updated.after;
      placement = updated.before.state === 'resolved' ? 'reopened' : 'joined';
      if (updated.before.state !== updated.after.state) {
        await tx.timeline.append(
          timelineEntry(ctx, {
            incidentId: incident.id,
            actor: options.actor,
            kind: 'state_changed',
            text: `re-opened: ${alert.summary}`,
            alertId: alert.id,
            data: { from: updated.before.state, to: updated.after.state },
          }),
        );
      }
    }
  }
  if (incident === null) {
    incident = openIncident({
      id: ctx.ids.next('incident'),
      service: alert.service,
      groupKey,
      title: options.title,
      summary: alert.summary,
      severity: alert.severity,
      at: now,
    });
    await tx.incidents.insert(incident);
    placement = 'opened';
  }
  if (ctx.groups !== undefined && !ctx.groups.has(cacheKey)) ctx.groups.set(cacheKey, candidates);
  remember(ctx, incident);
  const stored: Alert = { ...alert, incidentId: incident.id };
  await tx.alerts.insert(stored);
  await tx.timeline.append(
    timelineEntry(ctx, {
      incidentId: incident.id,
      actor: options.actor,
      kind: placement === 'opened' ? 'opened' : 'alert_added',
      text: placement === 'opened' ? `opened: ${alert.summary}` : alert.summary,
      alertId: alert.id,
      data: { severity: alert.severity, fingerprint: alert.fingerprint },
    }),
  );
  if (alert.evidence.length > 0) await tx.evidence.link(incident.id, alert.evidence, now);
  return { alert: stored, incident, placement };
};

/**
 * An alert that fired again with more evidence (or a new summary): stores it, links the new
 * evidence and counts as alert activity on its incident (the grouping window starts again); a
 * *resolved* incident whose alert brings new evidence is re-opened. Returns its incident's id when
 * anything on the incident changed.
 */
export const refreshAlert = async (
  ctx: RecorderContext,
  alert: Alert,
  change: {
    readonly summary: string;
    readonly severity: Alert['severity'];
    readonly evidence: readonly string[];
    readonly labels?: Alert['labels'];
  },
  actor: Actor,
): Promise<{ readonly changed: boolean; readonly incidentId: string | null }> => {
  const known = new Set(alert.evidence);
  const added = change.evidence.filter((id) => !known.has(id));
  const next: Alert = {
    ...alert,
    summary: change.summary,
    severity: change.severity,
    labels: change.labels ?? alert.labels,
    evidence: added.length === 0 ? alert.evidence : [...alert.evidence, ...added],
    updatedAt: ctx.now,
  };
  const changed =
    added.length > 0 ||
    next.summary !== alert.summary ||
    next.severity !== alert.severity ||
    next.labels !== alert.labels;
  if (!changed) return { changed: false, incidentId: null };
  await ctx.tx.alerts.update(next);
  if (alert.incidentId === null || added.length === 0) return { changed: true, incidentId: null };
  await ctx.tx.evidence.link(alert.incidentId, added, ctx.now);
  const updated = await updateIncident(ctx.tx, alert.incidentId, (current) => {
    if (current.state === 'closed' || current.state === 'cancelled') return null;
    let base = current;
    if (current.state === 'resolved') {
      const result = transitionIncident(current, { kind: 'reopen' }, ctx.now);
      if (result.ok) base = result.incident;
    }
    return { ...recordAlertActivity(base, next, ctx.now), version: current.version + 1 };
  });
  if (updated !== null) remember(ctx, updated.after);
  if (updated !== null && updated.before.state !== updated.after.state) {
    await ctx.tx.timeline.append(
      timelineEntry(ctx, {
        incidentId: alert.incidentId,
        actor,
        kind: 'state_changed',
        text: `re-opened: ${next.summary}`,
        alertId: alert.id,
        data: { from: updated.before.state, to: updated.after.state },
      }),
    );
  }
  return { changed: true, incidentId: alert.incidentId };
};

/**
 * Resolves a firing alert, records it on its incident's timeline, and resolves the incident (actor
 * `system`) when none of its alerts still fires. Returns whether the incident was resolved.
 */
export const resolveAlert = async (
  ctx: RecorderContext,
  alert: Alert,
  actor: Actor,
): Promise<{ readonly incidentResolved: boolean }> => {
  const { tx, now } = ctx;
  if (alert.status === 'resolved') return { incidentResolved: false };
  await tx.alerts.update({ ...alert, status: 'resolved', resolvedAt: now, updatedAt: now });
  if (alert.incidentId === null) return { incidentResolved: false };
  const incidentId = alert.incidentId;
  await tx.timeline.append(
    timelineEntry(ctx, {
      incidentId,
      actor,
      kind: 'alert_resolved',
      text: `resolved: ${alert.summary}`,
      alertId: alert.id,
    }),
  );
  const firing = await tx.alerts.list({ incidentId, status: 'firing', limit: 1 });
  const updated = await updateIncident(tx, incidentId, (current) => {
    if (!OPEN_STATES.includes(current.state) && current.state !== 'resolved') return null;
    const active = recordAlertActivity(current, null, now);
    if (firing.length > 0 || !OPEN_STATES.includes(current.state)) return active;
    const result = transitionIncident(current, { kind: 'resolve' }, now);
    return result.ok ? { ...result.incident, lastAlertAt: active.lastAlertAt } : active;
  });
  if (updated !== null) remember(ctx, updated.after);
  if (updated === null || updated.before.state === updated.after.state) return { incidentResolved: false };
  await tx.timeline.append(
    timelineEntry(ctx, {
      incidentId,
      actor: SYSTEM,
      kind: 'state_changed',
      text: 'resolved: all of its alerts have resolved',
      data: { from: updated.before.state, to: updated.after.state },
    }),
  );
  return { incidentResolved: true };
};

const shape = (summary: string): string => summary.replace(/\d+/g, '#');

/**
 * Rebuilds the incident's one-sentence summary from all of its evidence and alerts, and the web
 * app's side of its service (impact, attribution, onset deploy: app-side-reader.ts); when it changed,
 * stores it and (unless `quiet`, for an incident opened in the same batch, or only its numbers
 * changed) says so on the timeline.
 */
export const refreshSummary = async (
  ctx: RecorderContext,
  incidentId: string,
  options: { readonly actor: Actor; readonly quiet: boolean },
): Promise<boolean> => {
  const { tx } = ctx;
  const incident = await tx.incidents.get(incidentId);
  if (incident === null) return false;
  const [findings, alerts, app] = await Promise.all([
    tx.evidence.findings(incidentId),
    tx.alerts.list({ incidentId, limit: 1000 }),
    readAppSide(tx, incident, ctx.now),
  ]);
  const load = await readIncidentLoad(tx, incident, findings, ctx.now, ctx.targets);
  const summary = summarizeIncident({ findings, alerts, app, load });
  if (summary === '') return false;
  const updated = await updateIncident(
    tx,
    incidentId,
    (current) => (current.summary === summary ? null : withSummary(current, summary)),
    incident,
  );
  if (updated !== null) remember(ctx, updated.after);
  if (updated === null || updated.before.summary === updated.after.summary) return false;
  // Counts grow with every cycle of a burst: the timeline notes a new *kind* of evidence, not each new count.
  if (!options.quiet && shape(updated.before.summary) !== shape(summary)) {
    await tx.timeline.append(
      timelineEntry(ctx, {
        incidentId,
        actor: options.actor,
        kind: 'summary_updated',
        text: summary,
        data: { findings: findings.length, alerts: alerts.length },
      }),
    );
  }
  return true;
};
