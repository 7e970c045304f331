import { z } from 'zod';
import type { Notification, NotifiedIncident } from '../core/notification.js';
import { notificationSeverity } from '../core/notification.js';
import { postHttp } from './http-delivery.js';
import { headline } from './message-text.js';
import { defineNotifier } from './notifier-definition.js';
import { hostOf } from './secret-redaction.js';
import { httpUrl, secretText } from './settings-schemas.js';
import { signWebhookBody } from './webhook-signature.js';

/**
 * Generic webhook: a JSON body (`WebhookBody`, version 1) POSTed to `url`. With a `secret`, it is
 * signed (`X-Hindsight-Timestamp`, `X-Hindsight-Signature`; see webhook-signature.ts for the
 * scheme and `verifyWebhookSignature` for receivers). `X-Hindsight-Idempotency-Key` repeats the
 * body's `id`: the same delivery retried carries the same key, so a receiver can drop repeats.
 * JSON carries text as text: receivers must escape it for whatever they render.
 */

const settingsSchema = z.strictObject({
  url: httpUrl,
  secret: secretText.optional(),
  /** Extra headers (e.g. `Authorization`), treated as secrets. */
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9-]+$/, 'a header name is letters, digits and "-"'), z.string())
    .optional(),
});

interface WebhookIncident {
  readonly id: string;
  readonly title: string;
  readonly summary: string;
  readonly severity: string;
  readonly service: string;
  readonly state: string;
  readonly createdAt: string;
  readonly url: string;
}

/** What the receiver gets. Fields that do not apply to a kind are absent. */
export interface WebhookBody {
  readonly version: 1;
  /** The idempotency key. */
  readonly id: string;
  readonly kind: Notification['kind'];
  readonly at: string;
  readonly headline: string;
  readonly severity: string;
  readonly recipient: Notification['recipient'];
  readonly incident?: WebhookIncident;
  readonly acknowledgeUrl?: string | null;
  readonly acknowledgeExpiresAt?: string | null;
  readonly step?: { readonly index: number; readonly round: number } | null;
  readonly actor?: string | null;
  readonly incidents?: readonly WebhookIncident[];
  readonly total?: number;
  readonly channel?: string;
  readonly requestedBy?: string | null;
}

export function webhookBody(notification: Notification): WebhookBody {
  const common = {
    version: 1,
    id: notification.idempotencyKey,
    kind: notification.kind,
    at: new Date(notification.at).toISOString(),
    headline: headline(notification),
    severity: notificationSeverity(notification),
    recipient: notification.recipient,
  } as const;
  switch (notification.kind) {
    case 'test':
      return { ...common, channel: notification.channel, requestedBy: notification.requestedBy };
    case 'digest':
      return { ...common, incidents: notification.incidents.map(incidentJson), total: notification.total };
    case 'triggered':
    case 'escalated':
    case 'acknowledged':
    case 'resolved':
      return {
        ...common,
        incident: incidentJson(notification.incident),
        acknowledgeUrl: notification.acknowledge?.url ?? null,
        acknowledgeExpiresAt:
          notification.acknowledge === null
            ? null
            : new Date(notification.acknowledge.expiresAt).toISOString(),
        step: notification.step,
        actor: notification.actor,
      };
  }
}

function incidentJson(incident: NotifiedIncident): WebhookIncident {
  return { ...incident, createdAt: new Date(incident.createdAt).toISOString() };
}

export const webhookNotifier = defineNotifier({
  type: 'webhook',
  settingsSchema,
  secretSettings: ['url', 'secret', 'headers'],
  describe: (settings) =>
    `webhook to ${hostOf(settings.url)}${settings.secret === undefined ? ' (unsigned)' : ''}`,
  send: ({ settings, notification, signal, context, secrets }) => {
    const body = JSON.stringify(webhookBody(notification));
    const headers: Record<string, string> = {
      // Lower-cased, so a configured `Content-Type` cannot sit beside ours as a second value.
      ...Object.fromEntries(
        Object.entries(settings.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
      ),
      'content-type': 'application/json',
      'x-hindsight-idempotency-key': notification.idempotencyKey,
    };
    if (settings.secret !== undefined) {
      const timestamp = Math.floor(context.clock.now() / 1000);
      headers['x-hindsight-timestamp'] = String(timestamp);
      headers['x-hindsight-signature'] = signWebhookBody(settings.secret, timestamp, body);
    }
    return postHttp({ url: settings.url, headers, body }, { signal, context, secrets });
  },
});
