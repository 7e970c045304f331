import { z } from 'zod';
import type { Severity } from '../core/alert.js';
import type { Notification } from '../core/notification.js';
import { notificationSeverity } from '../core/notification.js';
import { postHttp } from './http-delivery.js';
import { discordEscaper, fitEscaped } from './markup-escape.js';
import {
  acknowledgeUrl,
  DIGEST_LISTED,
  digestLine,
  digestRest,
  headline,
  incidentFacts,
  primaryLink,
  testText,
  utcTime,
} from './message-text.js';
import { defineNotifier } from './notifier-definition.js';
import { hostOf } from './secret-redaction.js';
import { httpUrl } from './settings-schemas.js';

/**
 * Discord webhook (one embed). Text from the monitored world is markdown-escaped (a backslash
 * before `*`, `_`, `<`, `@`…) and `allowed_mentions: { parse: [] }` forbids any ping. Limits:
 * embed title 256, description 4096, field name 256, value 1024, footer 2048, 6000 in all. A 429
 * is retried after the body's `retry_after` (seconds).
 */

const settingsSchema = z.strictObject({
  url: httpUrl,
  /** The name the message is posted under; the webhook's own name when absent. */
  username: z.string().min(1).max(80).optional(),
});

const LIMIT = { title: 256, description: 4096, fieldValue: 1024 } as const;

const COLOR: Readonly<Record<Severity | 'acknowledged' | 'resolved', number>> = {
  critical: 0xd32f2f,
  error: 0xf57c00,
  warning: 0xfbc02d,
  info: 0x1976d2,
  acknowledged: 0x7b1fa2,
  resolved: 0x388e3c,
};

const escaped = (text: string, max: number): string => fitEscaped(text, max, discordEscaper);

/** A URL inside `[label](url)`: parentheses and spaces encoded so they cannot end the link. */
const linkTarget = (url: string): string => url.replace(/[()\s]/g, (c) => encodeURIComponent(c));

interface EmbedField {
  readonly name: string;
  readonly value: string;
  readonly inline: boolean;
}

export interface DiscordMessage {
  readonly username?: string;
  readonly allowed_mentions: { readonly parse: readonly never[] };
  readonly embeds: readonly Readonly<Record<string, unknown>>[];
}

export function discordMessage(notification: Notification, username?: string): DiscordMessage {
  const fields: EmbedField[] = [];
  let description: string;
  switch (notification.kind) {
    case 'test':
      description = escaped(testText(notification.channel, notification.requestedBy), LIMIT.description);
      break;
    case 'digest': {
      const listed = notification.incidents.slice(0, DIGEST_LISTED);
      const lines = listed.map(
        (incident) => `• ${escaped(digestLine(incident), 300)} — [open](${linkTarget(incident.url)})`,
      );
      const rest = digestRest(notification, listed.length);
      if (rest !== null) lines.push(rest);
      description = fitLines(lines, LIMIT.description);
      break;
    }
    case 'triggered':
    case 'escalated':
    case 'acknowledged':
    case 'resolved': {
      description = escaped(notification.incident.summary, LIMIT.description);
      for (const [name, value] of incidentFacts(notification.incident))
        fields.push({ name, value: escaped(value, LIMIT.fieldValue), inline: true });
      const ack = acknowledgeUrl(notification);
      if (ack !== null && notification.acknowledge !== null) {
        fields.push({
          name: 'Acknowledge',
          value: `[Acknowledge in one click](${linkTarget(ack)}) (until ${utcTime(notification.acknowledge.expiresAt)})`,
          inline: false,
        });
      }
      break;
    }
  }
  const link = primaryLink(notification);
  const embed = {
    title: escaped(headline(notification), LIMIT.title),
    description,
    ...(link === null ? {} : { url: link }),
    color: color(notification),
    ...(fields.length === 0 ? {} : { fields }),
    timestamp: new Date(notification.at).toISOString(),
    footer: { text: 'Hindsight' },
  };
  return {
    ...(username === undefined ? {} : { username }),
    allowed_mentions: { parse: [] },
    embeds: [embed],
  };
}

function color(notification: Notification): number {
  if (notification.kind === 'acknowledged' || notification.kind === 'resolved')
    return COLOR[notification.kind];
  return COLOR[notificationSeverity(notification)];
}

/** Whole lines up to `max` characters; the last one says how many were left out. */
function fitLines(lines: readonly string[], max: number): string {
  const kept: string[] = [];
  let length = 0;
  for (const line of lines) {
    if (length + line.length + 1 > max - 40) {
      kept.push(`and ${lines.length - kept.length} more lines`);
      break;
    }
    kept.push(line);
    length += line.length + 1;
  }
  return kept.join('\n');
}

/** Discord's 429 body: `{ "retry_after": 1.5, "global": false }`, seconds. */
export function discordRetryAfter(body: string): number | null {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && 'retry_after' in parsed) {
      const seconds = parsed.retry_after;
      if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0)
        return Math.ceil(seconds * 1000);
    }
  } catch {
    // Not JSON: the Retry-After header decides.
  }
  return null;
}

export const discordNotifier = defineNotifier({
  type: 'discord',
  settingsSchema,
  secretSettings: ['url'],
  describe: (settings) => `discord via ${hostOf(settings.url)}`,
  send: ({ settings, notification, signal, context, secrets }) =>
    postHttp(
      {
        url: settings.url,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(discordMessage(notification, settings.username)),
        retryAfterFromBody: discordRetryAfter,
      },
      { signal, context, secrets },
    ),
});
