import { z } from 'zod';
import type { Notification } from '../core/notification.js';
import { delivered } from '../core/notification.js';
import { escapeControlCharacters, oneLine } from './markup-escape.js';
import { acknowledgeUrl, headline, primaryLink } from './message-text.js';
import { defineNotifier } from './notifier-definition.js';
import { webhookBody } from './webhook-notifier.js';

/**
 * Console: one line per message on the server's stdout (`text`), or the webhook's JSON body
 * (`json`) for log shippers. Control characters are shown escaped, so a summary cannot move the
 * cursor or forge a second line.
 */

const settingsSchema = z.strictObject({ format: z.enum(['text', 'json']).default('text') });

export function consoleLine(notification: Notification, format: 'text' | 'json'): string {
  if (format === 'json') return JSON.stringify(webhookBody(notification));
  const parts = [headline(notification)];
  if (notification.kind !== 'test' && notification.kind !== 'digest')
    parts.push(notification.incident.summary);
  const link = primaryLink(notification);
  if (link !== null) parts.push(link);
  const ack = acknowledgeUrl(notification);
  if (ack !== null) parts.push(`acknowledge: ${ack}`);
  return `hindsight: ${parts.map((part) => escapeControlCharacters(oneLine(part))).join(' — ')}`;
}

export const consoleNotifier = defineNotifier({
  type: 'console',
  settingsSchema,
  secretSettings: [],
  describe: () => 'console (standard output)',
  send: ({ settings, notification, context }) => {
    context.writeLine(consoleLine(notification, settings.format));
    return Promise.resolve(delivered);
  },
});
