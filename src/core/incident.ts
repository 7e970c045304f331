import type { Severity } from './alert.js';

/**
 * An incident: one problem, however many alerts it gathers. Lifecycle
 * triggered → acknowledged → mitigated → resolved → closed, and cancelled (a false alarm); every
 * change goes through `transitionIncident`, the one function that knows which moves are allowed.
 */
export type IncidentState = 'triggered' | 'acknowledged' | 'mitigated' | 'resolved' | 'closed' | 'cancelled';

/** States in which an incident still gathers alerts and pages people. */
export const OPEN_STATES: readonly IncidentState[] = ['triggered', 'acknowledged', 'mitigated'];

export interface Incident {
  readonly id: string;
  readonly service: string;
  /** What correlation grouped on (the service, or the values of its `grouping.by` labels). */
  readonly groupKey: string;
  /** Short, stable once set: e.g. "Deadlocks on shop-db". */
  readonly title: string;
  /** The one-sentence account built from the evidence; grows as evidence arrives. */
  readonly summary: string;
  /** The highest severity of its alerts. */
  readonly severity: Severity;
  readonly state: IncidentState;
  readonly createdAt: number;
  readonly acknowledgedAt: number | null;
  readonly mitigatedAt: number | null;
  readonly resolvedAt: number | null;
  readonly closedAt: number | null;
  readonly cancelledAt: number | null;
  /** The last time an alert joined, fired again or resolved: the correlation window counts from here. */
  readonly lastAlertAt: number;
  /** Bumped by every update; a write with a stale version is a conflict (HTTP 409). */
  readonly version: number;
}

/** What can happen to an incident. `unacknowledge` is an acknowledgement expiring (paging). */
export type IncidentCommand =
  | { readonly kind: 'acknowledge' }
  | { readonly kind: 'unacknowledge' }
  | { readonly kind: 'mitigate' }
  | { readonly kind: 'resolve' }
  | { readonly kind: 'reopen' }
  | { readonly kind: 'close' }
  | { readonly kind: 'cancel' };

export type TransitionResult =
  { readonly ok: true; readonly incident: Incident } | { readonly ok: false; readonly reason: string };

/** Who did something: `system`, `rule:deadlocks`, `integration:alertmanager`, `token:ci`, a user name. */
export type Actor = string;

export type TimelineKind =
  | 'opened'
  | 'alert_added'
  | 'alert_resolved'
  | 'state_changed'
  | 'note'
  | 'summary_updated'
  | 'evidence_added'
  /** Paging: an escalation step taken (who it pages), the policy exhausted. */
  | 'escalated'
  /** Paging: a message delivered, given up on, or of unknown outcome (not resent). */
  | 'notification_sent'
  | 'notification_failed'
  | 'notification_unknown'
  /** A deploy of the incident's service while it was open (`data`: deployId, version, commit). */
  | 'deploy';

/** One line of an incident's timeline. Appended, never edited. */
export interface TimelineEntry {
  readonly id: string;
  readonly incidentId: string;
  readonly at: number;
  readonly actor: Actor;
  readonly kind: TimelineKind;
  /** Human text, e.g. "acknowledged", the note's text, the alert's summary. Render as text. */
  readonly text: string;
  /** Notes only: this line of investigation led nowhere (the seed's misleading path). */
  readonly deadEnd: boolean;
  readonly alertId: string | null;
  /** For `state_changed`: `{ from, to }`; other kinds may carry finding ids. */
  readonly data: Readonly<Record<string, unknown>>;
}
