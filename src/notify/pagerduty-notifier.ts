import { z } from 'zod';
import type { IncidentNotification, Notification } from '../core/notification.js';
import { notificationSeverity } from '../core/notification.js';
import { postHttp } from './http-delivery.js';
import { truncate } from './markup-escape.js';
import {
  acknowledgeUrl,
  DIGEST_LISTED,
  digestLine,
  headline,
  primaryLink,
  testText,
} from './message-text.js';
import { defineNotifier } from './notifier-definition.js';
import { hostOf } from './secret-redaction.js';
import { httpUrl, secretText } from './settings-schemas.js';

/**
 * PagerDuty Events API v2, outbound. The incident id is the `dedup_key`: `triggered` and
 * `escalated` send `trigger` (PagerDuty folds repeats into one alert), `acknowledged` and
 * `resolved` forward `acknowledge` and `resolve`. A `test` is a *change event*
 * (`/v2/change/enqueue`): it proves the routing key without paging anyone. A `digest` triggers one
 * alert keyed by the digest's idempotency key (it resolves in PagerDuty only). PagerDuty renders
 * no markup: text goes as text, `payload.summary` cut at 1024.
 */

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

const settingsSchema = z.strictObject({
  /** The Events API v2 integration key of the PagerDuty service. */
  routingKey: secretText,
  /** Another endpoint (PagerDuty's EU one, a proxy); PagerDuty's by default. */
  url: httpUrl.optional(),
  /** `payload.source`; the incident's service by default. */
  source: z.string().min(1).max(255).optional(),
});

type Settings = z.output<typeof settingsSchema>;

const SUMMARY_LIMIT = 1024;
const DEDUP_KEY_LIMIT = 255;

interface Link {
  readonly href: string;
  readonly text: string;
}

/** The request for a notification: where it goes and its JSON body. */
export function pagerDutyEvent(
  settings: Settings,
  notification: Notification,
): { readonly url: string; readonly body: Readonly<Record<string, unknown>> } {
  const enqueue = settings.url ?? PAGERDUTY_EVENTS_URL;
  const timestamp = new Date(notification.at).toISOString();
  switch (notification.kind) {
    case 'test':
      return {
        url: changeEventsUrl(enqueue),
        body: {
          routing_key: settings.routingKey,
          payload: {
            summary: truncate(headline(notification), SUMMARY_LIMIT),
            timestamp,
            source: settings.source ?? 'hindsight',
            custom_details: { message: testText(notification.channel, notification.requestedBy) },
          },
        },
      };
    case 'acknowledged':
    case 'resolved':
      return {
        url: enqueue,
        body: {
          routing_key: settings.routingKey,
          event_action: notification.kind === 'acknowledged' ? 'acknowledge' : 'resolve',
          dedup_key: truncate(notification.incident.id, DEDUP_KEY_LIMIT),
        },
      };
    case 'triggered':
    case 'escalated':
      return { url: enqueue, body: triggerBody(settings, notification, timestamp) };
    case 'digest':
      return {
        url: enqueue,
        body: {
          routing_key: settings.routingKey,
          event_action: 'trigger',
          dedup_key: truncate(`hindsight-digest:${notification.idempotencyKey}`, DEDUP_KEY_LIMIT),
          payload: {
            summary: truncate(headline(notification), SUMMARY_LIMIT),
            severity: notificationSeverity(notification),
            source: settings.source ?? 'hindsight',
            timestamp,
            custom_details: {
              incidents: notification.incidents
                .slice(0, DIGEST_LISTED)
                .map((incident) => ({ line: digestLine(incident), id: incident.id, url: incident.url })),
              total: notification.total,
            },
          },
          links: notification.incidents
            .slice(0, DIGEST_LISTED)
            .map((incident): Link => ({ href: incident.url, text: truncate(incident.title, 200) })),
          client: 'Hindsight',
        },
      };
  }
}

function triggerBody(
  settings: Settings,
  notification: IncidentNotification,
  timestamp: string,
): Readonly<Record<string, unknown>> {
  const { incident } = notification;
  const links: Link[] = [{ href: incident.url, text: 'Incident in Hindsight' }];
  const ack = acknowledgeUrl(notification);
  if (ack !== null) links.push({ href: ack, text: 'Acknowledge in Hindsight' });
  const link = primaryLink(notification);
  return {
    routing_key: settings.routingKey,
    event_action: 'trigger',
    dedup_key: truncate(incident.id, DEDUP_KEY_LIMIT),
    payload: {
      summary: truncate(`${incident.title}: ${incident.summary}`, SUMMARY_LIMIT),
      severity: incident.severity,
      source: settings.source ?? incident.service,
      component: incident.service,
      timestamp,
      custom_details: {
        incident_id: incident.id,
        title: incident.title,
        summary: incident.summary,
        service: incident.service,
        state: incident.state,
        ...(notification.step === null ? {} : { escalation_step: notification.step.index + 1 }),
      },
    },
    links,
    client: 'Hindsight',
    ...(link === null ? {} : { client_url: link }),
  };
}

/** `…/v2/enqueue` → `…/v2/change/enqueue`; any other endpoint gets the path on its origin. */
function changeEventsUrl(enqueue: string): string {
  return enqueue.endsWith('/v2/enqueue')
    ? `${enqueue.slice(0, -'/v2/enqueue'.length)}/v2/change/enqueue`
    : new URL('/v2/change/enqueue', enqueue).toString();
}

export const pagerDutyNotifier = defineNotifier({
  type: 'pagerduty',
  settingsSchema,
  secretSettings: ['routingKey'],
  describe: (settings) => `pagerduty via ${hostOf(settings.url ?? PAGERDUTY_EVENTS_URL)}`,
  send: ({ settings, notification, signal, context, secrets }) => {
    const event = pagerDutyEvent(settings, notification);
    return postHttp(
      { url: event.url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(event.body) },
      { signal, context, secrets },
    );
  },
});
