import type { AppImpact, SignalSpan } from './app-impact.js';
import { measureImpact } from './app-impact.js';
import type { Deploy, RouteRollup } from './app-signal.js';
import type { OnsetDeploy } from './deploy-onset.js';
import { deployOnset } from './deploy-onset.js';
import type { FailureAttribution } from './failure-attribution.js';
import { attributeFailures } from './failure-attribution.js';
import type { Incident } from './incident.js';
import { formatMinutes, formatPercent } from './share-format.js';

/**
 * What the web app's side says about an incident: impact, attribution of the failures, the deploy
 * that preceded it. Computed from the rollups of the incident's service over its span (read time:
 * rollups are kept 14 days, and a resolved incident's span is fixed, so it shows the same figures
 * until then; its summary sentence, which names them, is stored with the incident and outlives them).
 */
export interface IncidentAppSide {
  readonly impact: AppImpact | null;
  readonly attribution: readonly FailureAttribution[];
  readonly onsetDeploy: OnsetDeploy | null;
}

export const NO_APP_SIDE: IncidentAppSide = { impact: null, attribution: [], onsetDeploy: null };

/** Failures precede the alert they raise by up to the error-rate window: the span starts that much earlier. */
export const APP_SIDE_LEAD_MS = 60_000;
/** At most this long after the onset is read (a forgotten incident must not read weeks of rollups). */
export const APP_SIDE_MAX_SPAN_MS = 24 * 60 * 60_000;

/** The incident's span: from its onset (less the lead) to when it stopped being open, or `now`. */
export const appSideSpan = (incident: Incident, now: number): SignalSpan => {
  const from = incident.createdAt - APP_SIDE_LEAD_MS;
  const ended = incident.resolvedAt ?? incident.cancelledAt ?? incident.closedAt ?? now;
  return {
    service: incident.service,
    from,
    until: Math.max(from, Math.min(ended, now, from + APP_SIDE_MAX_SPAN_MS)),
  };
};

/** The app's side of `incident` from its service's rollups in its span and its last deploy before the onset. */
export const appSideOf = (
  incident: Incident,
  input: { readonly rollups: readonly RouteRollup[]; readonly deploy: Deploy | null; readonly now: number },
): IncidentAppSide => {
  const span = appSideSpan(incident, input.now);
  return {
    impact: measureImpact(input.rollups, span),
    attribution: attributeFailures(input.rollups, span),
    onsetDeploy: deployOnset(input.deploy, incident.createdAt),
  };
};

/** "94% of failures on POST /checkout are 40P01 at checkout.ts:88" — the largest cause of the failures. */
export const describeAttribution = (a: FailureAttribution): string => {
  const what = a.sqlstate ?? a.errorClass ?? 'failures';
  const at = a.callSite === null ? '' : ` at ${a.callSite}`;
  return `${formatPercent(a.share)} of failures on ${a.route} are ${what}${at}`;
};

export const describeImpact = (i: AppImpact): string =>
  `${formatPercent(i.share)} of users affected (${i.affectedUsers.toString()} of ${i.activeUsers.toString()}${i.truncated ? ' at least' : ''})`;

export const describeOnsetDeploy = (d: OnsetDeploy): string =>
  `began ${formatMinutes(d.minutesBeforeOnset * 60_000)} after deploy ${d.version}`;

/** The summary's clauses about the app's side, in the order people ask: what failed, whom it hurt, since when. */
export const appSideClauses = (side: IncidentAppSide): string[] => {
  const clauses: string[] = [];
  // A route's failures are what users met; a job's are named when no route failed.
  const top = side.attribution.find((a) => !a.route.startsWith('job ')) ?? side.attribution[0];
  if (top !== undefined) clauses.push(describeAttribution(top));
  if (side.impact !== null && side.impact.affectedUsers > 0) clauses.push(describeImpact(side.impact));
  if (side.onsetDeploy !== null) clauses.push(describeOnsetDeploy(side.onsetDeploy));
  return clauses;
};
