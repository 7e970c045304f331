import type { Alert, Severity } from './alert.js';
import type { Grouping } from './catalog.js';
import type { Incident, IncidentState } from './incident.js';

/**
 * Which incident an alert belongs to. Alerts of one service with the same group key join the open
 * incident whose last alert is within the grouping window; a *resolved* one within the window is
 * re-opened (the problem came back); closed and cancelled incidents are never touched; otherwise
 * the alert opens a new incident. With grouping `off` every alert is its own incident: only the same
 * alert (fingerprint) firing again while its incident is still open joins it, as PagerDuty does.
 */
export type CorrelationDecision =
  | { readonly kind: 'join'; readonly incident: Incident }
  | { readonly kind: 'reopen'; readonly incident: Incident }
  | { readonly kind: 'open' };

/** The states correlation looks at (ask the store for these). */
export const CORRELATION_STATES: readonly IncidentState[] = [
  'triggered',
  'acknowledged',
  'mitigated',
  'resolved',
];

const OPEN: readonly IncidentState[] = ['triggered', 'acknowledged', 'mitigated'];

type Groupable = Pick<
  Alert,
  'service' | 'fingerprint' | 'labels' | 'target' | 'rule' | 'source' | 'severity'
>;

/** A field of the alert by name, when no label of that name exists: `target`, `rule`, `source`, `severity`. */
const field = (alert: Groupable, name: string): string | null => {
  const label = alert.labels[name];
  if (label !== undefined) return label;
  switch (name) {
    case 'target':
      return alert.target;
    case 'rule':
      return alert.rule;
    case 'source':
      return alert.source;
    case 'severity':
      return alert.severity;
    case 'service':
      return alert.service;
    default:
      return null;
  }
};

/**
 * What an alert groups on: the service name (window grouping without `by`), `name=value` pairs of
 * the `by` labels (missing ones empty), or `alert:<fingerprint>` when grouping is off.
 */
export const groupKeyFor = (alert: Groupable, grouping: Grouping): string => {
  if (grouping.kind === 'off') return `alert:${alert.fingerprint}`;
  if (grouping.by.length === 0) return alert.service;
  return grouping.by.map((name) => `${name}=${field(alert, name) ?? ''}`).join(',');
};

/** Decides where an alert arriving `at` goes, among the service's incidents with its group key. */
export const correlateAlert = (
  candidates: readonly Incident[],
  grouping: Grouping,
  at: number,
): CorrelationDecision => {
  const recent = [...candidates].sort((a, b) => b.lastAlertAt - a.lastAlertAt || b.createdAt - a.createdAt);
  if (grouping.kind === 'off') {
    const open = recent.find((i) => OPEN.includes(i.state));
    return open === undefined ? { kind: 'open' } : { kind: 'join', incident: open };
  }
  const within = (i: Incident): boolean => at - i.lastAlertAt <= grouping.windowMs;
  const open = recent.find((i) => OPEN.includes(i.state) && within(i));
  if (open !== undefined) return { kind: 'join', incident: open };
  const resolved = recent.find((i) => i.state === 'resolved' && within(i));
  if (resolved !== undefined) return { kind: 'reopen', incident: resolved };
  return { kind: 'open' };
};

const RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, error: 2, critical: 3 };

export const higherSeverity = (a: Severity, b: Severity): Severity => (RANK[b] > RANK[a] ? b : a);

/** A new incident opened by its first alert. */
export const openIncident = (init: {
  readonly id: string;
  readonly service: string;
  readonly groupKey: string;
  readonly title: string;
  readonly summary: string;
  readonly severity: Severity;
  readonly at: number;
}): Incident => ({
  id: init.id,
  service: init.service,
  groupKey: init.groupKey,
  title: init.title,
  summary: init.summary,
  severity: init.severity,
  state: 'triggered',
  createdAt: init.at,
  acknowledgedAt: null,
  mitigatedAt: null,
  resolvedAt: null,
  closedAt: null,
  cancelledAt: null,
  lastAlertAt: init.at,
  version: 1,
});

/**
 * An alert joined, fired again or resolved: the window counts from now on, and the incident takes
 * the higher severity. `lastAlertAt` never moves back.
 */
export const recordAlertActivity = (
  incident: Incident,
  alert: { readonly severity: Severity } | null,
  at: number,
): Incident => ({
  ...incident,
  severity: alert === null ? incident.severity : higherSeverity(incident.severity, alert.severity),
  lastAlertAt: Math.max(incident.lastAlertAt, at),
  version: incident.version + 1,
});

/** The incident with a new summary (the caller checks that it changed). */
export const withSummary = (incident: Incident, summary: string): Incident => ({
  ...incident,
  summary,
  version: incident.version + 1,
});
