import { z } from 'zod';
import type { Severity } from '../core/alert.js';
import type { Notification } from '../core/notification.js';
import { notificationSeverity } from '../core/notification.js';
import { postHttp } from './http-delivery.js';
import { oneLine, truncate, truncateUtf8 } from './markup-escape.js';
import { acknowledgeUrl, headline, plainText, primaryLink } from './message-text.js';
import { defineNotifier } from './notifier-definition.js';
import { hostOf } from './secret-redaction.js';
import { httpUrl, secretText } from './settings-schemas.js';

/**
 * ntfy: a POST to the topic URL with the message as the plain-text body (ntfy renders no
 * markdown unless asked) and the rest in headers — `Title`, `Priority` from the severity, `Tags`
 * (emoji), `Click` (the incident), `Actions` (view buttons: the incident, the acknowledge link),
 * `Authorization: Bearer <token>` for a protected topic. Header values that are not ASCII are
 * RFC 2047 encoded, which ntfy decodes (server 2.4 or newer). The body is cut at 4096 bytes (beyond, ntfy would turn
 * it into an attachment). The topic is a password on a public server: the URL is a secret.
 */

const settingsSchema = z.strictObject({
  /** The topic URL, e.g. https://ntfy.sh/shop-oncall-4f9c. */
  url: httpUrl,
  /** An access token (`tk_…`) for a protected topic. */
  token: secretText.optional(),
});

const BODY_LIMIT_BYTES = 4096;
const TITLE_LIMIT = 250;

const PRIORITY: Readonly<Record<Severity, number>> = { critical: 5, error: 4, warning: 3, info: 2 };
const SEVERITY_TAG: Readonly<Record<Severity, string>> = {
  critical: 'rotating_light',
  error: 'red_circle',
  warning: 'warning',
  info: 'information_source',
};

export function ntfyPriority(notification: Notification): number {
  switch (notification.kind) {
    case 'acknowledged':
    case 'resolved':
      return 2;
    case 'test':
      return 3;
    case 'triggered':
    case 'escalated':
    case 'digest':
      return PRIORITY[notificationSeverity(notification)];
  }
}

function tag(notification: Notification): string {
  switch (notification.kind) {
    case 'acknowledged':
      return 'eyes';
    case 'resolved':
      return 'white_check_mark';
    case 'test':
      return 'test_tube';
    case 'triggered':
    case 'escalated':
    case 'digest':
      return SEVERITY_TAG[notificationSeverity(notification)];
  }
}

/** The request's headers (without Authorization) and body. */
export function ntfyMessage(notification: Notification): {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
} {
  const headers: Record<string, string> = {
    'content-type': 'text/plain; charset=utf-8',
    title: headerValue(truncate(oneLine(headline(notification)), TITLE_LIMIT)),
    priority: String(ntfyPriority(notification)),
    tags: tag(notification),
  };
  const link = primaryLink(notification);
  if (link !== null) headers.click = link;
  const actions: string[] = [];
  if (link !== null) actions.push(`view, Open incident, ${actionValue(link)}`);
  const ack = acknowledgeUrl(notification);
  if (ack !== null) actions.push(`view, Acknowledge, ${actionValue(ack)}, clear=true`);
  if (actions.length > 0) headers.actions = actions.join('; ');
  // The headline is the title; the body is the rest of the plain-text message.
  const body = plainText(notification).split('\n').slice(2).join('\n');
  return { headers, body: truncateUtf8(body, BODY_LIMIT_BYTES) };
}

/** Header values are ASCII without line breaks; anything else is RFC 2047 base64 encoded. */
function headerValue(value: string): string {
  return /^[\x20-\x7e]*$/.test(value)
    ? value
    : `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** A value in the `Actions` header: quoted when it holds its separators. */
function actionValue(value: string): string {
  return /[,;"]/.test(value) ? `"${value.replace(/"/g, '%22')}"` : value;
}

export const ntfyNotifier = defineNotifier({
  type: 'ntfy',
  settingsSchema,
  secretSettings: ['url', 'token'],
  describe: (settings) => `ntfy via ${hostOf(settings.url)}`,
  send: ({ settings, notification, signal, context, secrets }) => {
    const message = ntfyMessage(notification);
    const headers =
      settings.token === undefined
        ? message.headers
        : { ...message.headers, authorization: `Bearer ${settings.token}` };
    return postHttp({ url: settings.url, headers, body: message.body }, { signal, context, secrets });
  },
});
