import type { Severity } from '../core/alert.js';
import type { IncidentNotification, Notification, NotifiedIncident } from '../core/notification.js';
import { notificationSeverity } from '../core/notification.js';

/**
 * The words every channel uses, as plain text (untrusted parts included as they are): each
 * channel escapes what it takes from here for its own markup.
 */

/** How many incidents a digest lists before "and N more". */
export const DIGEST_LISTED = 10;

export function severityLabel(severity: Severity): string {
  return severity.toUpperCase();
}

/** One line that says what happened: the title of a card, an email's subject, a push title. */
export function headline(notification: Notification): string {
  switch (notification.kind) {
    case 'triggered':
      return `[${severityLabel(notification.incident.severity)}] Triggered: ${notification.incident.title}`;
    case 'escalated':
      return `[${severityLabel(notification.incident.severity)}] Escalated${stepText(notification)}: ${notification.incident.title}`;
    case 'acknowledged':
      return `[ACKNOWLEDGED] ${notification.incident.title}${byActor(notification)}`;
    case 'resolved':
      return `[RESOLVED] ${notification.incident.title}${byActor(notification)}`;
    case 'test':
      return `Test message from Hindsight to channel ${notification.channel}`;
    case 'digest':
      return `[${severityLabel(notificationSeverity(notification))}] ${notification.total} incident${notification.total === 1 ? '' : 's'} need attention`;
  }
}

function stepText(notification: IncidentNotification): string {
  if (notification.step === null) return '';
  const round = notification.step.round > 0 ? `, repeat ${notification.step.round}` : '';
  return ` (step ${notification.step.index + 1}${round})`;
}

function byActor(notification: IncidentNotification): string {
  return notification.actor === null ? '' : ` by ${notification.actor}`;
}

/** `Service`, `Severity`, `State`: the facts a card shows beside the summary. */
export function incidentFacts(incident: NotifiedIncident): readonly (readonly [string, string])[] {
  return [
    ['Service', incident.service],
    ['Severity', incident.severity],
    ['State', incident.state],
  ];
}

/** `2026-11-30 16:30 UTC`: times in messages are UTC, the reader's zone is unknown. */
export function utcTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Sentence under a test message's headline. */
export function testText(channel: string, requestedBy: string | null): string {
  const who = requestedBy === null ? '' : ` (requested by ${requestedBy})`;
  return `If you can read this, channel ${channel} delivers${who}.`;
}

/** One line per listed incident of a digest: `[CRITICAL] title (service)`. */
export function digestLine(incident: NotifiedIncident): string {
  return `[${severityLabel(incident.severity)}] ${incident.title} (${incident.service})`;
}

/** "and 12 more" under a digest's list, or null when every incident is listed. */
export function digestRest(
  notification: Extract<Notification, { kind: 'digest' }>,
  listed: number,
): string | null {
  const rest = notification.total - listed;
  return rest > 0 ? `and ${rest} more` : null;
}

/** The whole message as plain text: console, email's text part, ntfy's body. */
export function plainText(notification: Notification): string {
  const lines: string[] = [headline(notification), ''];
  switch (notification.kind) {
    case 'test':
      lines.push(
        testText(notification.channel, notification.requestedBy),
        `Sent at ${utcTime(notification.at)}.`,
      );
      break;
    case 'digest': {
      const listed = notification.incidents.slice(0, DIGEST_LISTED);
      for (const incident of listed) lines.push(`- ${digestLine(incident)}: ${incident.url}`);
      const rest = digestRest(notification, listed.length);
      if (rest !== null) lines.push(rest);
      break;
    }
    case 'triggered':
    case 'escalated':
    case 'acknowledged':
    case 'resolved': {
      const { incident } = notification;
      lines.push(incident.summary, '');
      lines.push(
        incidentFacts(incident)
          .map(([name, value]) => `${name}: ${value}`)
          .join(' · '),
      );
      lines.push(`Incident: ${incident.url}`);
      if (notification.acknowledge !== null) {
        lines.push(
          `Acknowledge (until ${utcTime(notification.acknowledge.expiresAt)}): ${notification.acknowledge.url}`,
        );
      }
      break;
    }
  }
  return lines.join('\n');
}

/** The incident's page, or null for a test. A digest links its first incident. */
export function primaryLink(notification: Notification): string | null {
  switch (notification.kind) {
    case 'test':
      return null;
    case 'digest':
      return notification.incidents[0]?.url ?? null;
    case 'triggered':
    case 'escalated':
    case 'acknowledged':
    case 'resolved':
      return notification.incident.url;
  }
}

/** The one-click acknowledge link, when the message offers one. */
export function acknowledgeUrl(notification: Notification): string | null {
  if (notification.kind !== 'triggered' && notification.kind !== 'escalated') return null;
  return notification.acknowledge?.url ?? null;
}
