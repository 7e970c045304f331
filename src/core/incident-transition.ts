import type { Incident, IncidentCommand, IncidentState, TransitionResult } from './incident.js';

/** The states a command may start from; everything else is refused. */
const ALLOWED: Readonly<Record<IncidentCommand['kind'], readonly IncidentState[]>> = {
  acknowledge: ['triggered'],
  unacknowledge: ['acknowledged'],
  mitigate: ['triggered', 'acknowledged'],
  resolve: ['triggered', 'acknowledged', 'mitigated'],
  reopen: ['mitigated', 'resolved'],
  close: ['resolved'],
  cancel: ['triggered', 'acknowledged', 'mitigated', 'resolved'],
};

/** The state each command leads to. */
const TARGET: Readonly<Record<IncidentCommand['kind'], IncidentState>> = {
  acknowledge: 'acknowledged',
  unacknowledge: 'triggered',
  mitigate: 'mitigated',
  resolve: 'resolved',
  reopen: 'triggered',
  close: 'closed',
  cancel: 'cancelled',
};

/** The latest time the incident records: no later change may be stamped before it. */
export const latestIncidentTime = (incident: Incident): number =>
  Math.max(
    incident.createdAt,
    incident.lastAlertAt,
    incident.acknowledgedAt ?? -Infinity,
    incident.mitigatedAt ?? -Infinity,
    incident.resolvedAt ?? -Infinity,
    incident.closedAt ?? -Infinity,
    incident.cancelledAt ?? -Infinity,
  );

/**
 * The one transition function of the incident lifecycle: triggered → acknowledged → mitigated →
 * resolved → closed, cancelled from any state but closed; `unacknowledge` (an acknowledgement
 * expiring) goes back to triggered, `reopen` takes a mitigated or resolved incident back to
 * triggered and clears the stamps of the steps it undoes. Closed and cancelled are terminal.
 *
 * `at` is clamped to the incident's latest time, so stamps stay in order even when a replica's
 * clock is a little behind; `version` grows by one on every accepted command.
 */
export const transitionIncident = (
  incident: Incident,
  command: IncidentCommand,
  at: number,
): TransitionResult => {
  const from = incident.state;
  if (!ALLOWED[command.kind].includes(from)) {
    return { ok: false, reason: refusal(command.kind, from) };
  }
  const when = Math.max(at, latestIncidentTime(incident));
  const to = TARGET[command.kind];
  const next: Incident = { ...incident, state: to, version: incident.version + 1 };
  switch (command.kind) {
    case 'acknowledge':
      return { ok: true, incident: { ...next, acknowledgedAt: when } };
    case 'unacknowledge':
      return { ok: true, incident: { ...next, acknowledgedAt: null } };
    case 'mitigate':
      return { ok: true, incident: { ...next, mitigatedAt: when } };
    case 'resolve':
      return { ok: true, incident: { ...next, resolvedAt: when } };
    case 'reopen':
      return { ok: true, incident: { ...next, acknowledgedAt: null, mitigatedAt: null, resolvedAt: null } };
    case 'close':
      return { ok: true, incident: { ...next, closedAt: when } };
    case 'cancel':
      return { ok: true, incident: { ...next, cancelledAt: when } };
  }
};

const refusal = (command: IncidentCommand['kind'], from: IncidentState): string => {
  if (from === 'closed' || from === 'cancelled')
    return `the incident is ${from}; nothing can change it any more`;
  if (TARGET[command] === from && command !== 'reopen' && command !== 'unacknowledge')
    return `the incident is already ${from}`;
  const allowed = ALLOWED[command].join(' or ');
  return `cannot ${command} an incident that is ${from} (only one that is ${allowed})`;
};
