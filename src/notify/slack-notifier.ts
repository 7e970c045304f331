import { z } from 'zod';
import type { Notification, NotifiedIncident } from '../core/notification.js';
import { postHttp } from './http-delivery.js';
import { fitEscaped, slackEscaper } from './markup-escape.js';
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
 * Slack incoming webhook (Block Kit). Text from the monitored world goes only into `plain_text`
 * objects (no mrkdwn, no mentions, no emoji shortcodes) with `&`, `<`, `>` escaped as Slack asks;
 * the top-level `text` (notifications, fallback) is sent with `mrkdwn: false`. Limits: header
 * 150, section text 3000, field 2000, button text 75, button URL 3000.
 */

const settingsSchema = z.strictObject({ url: httpUrl });

const LIMIT = { header: 150, section: 3000, field: 2000, button: 75, fallback: 3000 } as const;

type TextObject = { readonly type: 'plain_text'; readonly text: string; readonly emoji: false };
type Block = Readonly<Record<string, unknown>>;

const text = (value: string, max: number): TextObject => ({
  type: 'plain_text',
  text: fitEscaped(value, max, slackEscaper),
  emoji: false,
});

const button = (label: string, url: string, actionId: string, primary = false): Block => ({
  type: 'button',
  text: text(label, LIMIT.button),
  url,
  action_id: actionId,
  ...(primary ? { style: 'primary' } : {}),
});

export interface SlackMessage {
  readonly text: string;
  readonly mrkdwn: false;
  readonly blocks: readonly Block[];
}

export function slackMessage(notification: Notification): SlackMessage {
  const blocks: Block[] = [{ type: 'header', text: text(headline(notification), LIMIT.header) }];
  switch (notification.kind) {
    case 'test':
      blocks.push({
        type: 'section',
        text: text(testText(notification.channel, notification.requestedBy), LIMIT.section),
      });
      break;
    case 'digest': {
      const listed = notification.incidents.slice(0, DIGEST_LISTED);
      listed.forEach((incident, i) => {
        blocks.push({
          type: 'section',
          text: text(digestLine(incident), LIMIT.section),
          accessory: button('Open', incident.url, `open-${i}`),
        });
      });
      const rest = digestRest(notification, listed.length);
      if (rest !== null) blocks.push({ type: 'context', elements: [text(rest, LIMIT.section)] });
      break;
    }
    case 'triggered':
    case 'escalated':
    case 'acknowledged':
    case 'resolved':
      blocks.push(...incidentBlocks(notification.incident, notification));
      break;
  }
  const fallback = [
    headline(notification),
    notification.kind === 'test' || notification.kind === 'digest' ? null : notification.incident.summary,
  ]
    .filter((line) => line !== null)
    .join('\n');
  return { text: fitEscaped(fallback, LIMIT.fallback, slackEscaper), mrkdwn: false, blocks };
}

function incidentBlocks(incident: NotifiedIncident, notification: Notification): Block[] {
  const blocks: Block[] = [
    { type: 'section', text: text(incident.summary, LIMIT.section) },
    {
      type: 'section',
      fields: incidentFacts(incident).map(([name, value]) => text(`${name}: ${value}`, LIMIT.field)),
    },
  ];
  const link = primaryLink(notification);
  const ack = acknowledgeUrl(notification);
  const elements: Block[] = [];
  if (link !== null) elements.push(button('Open incident', link, 'open'));
  if (ack !== null) elements.push(button('Acknowledge', ack, 'acknowledge', true));
  if (elements.length > 0) blocks.push({ type: 'actions', elements });
  if (
    ack !== null &&
    (notification.kind === 'triggered' || notification.kind === 'escalated') &&
    notification.acknowledge !== null
  ) {
    blocks.push({
      type: 'context',
      elements: [
        text(
          `The acknowledge link works until ${utcTime(notification.acknowledge.expiresAt)}.`,
          LIMIT.section,
        ),
      ],
    });
  }
  return blocks;
}

export const slackNotifier = defineNotifier({
  type: 'slack',
  settingsSchema,
  secretSettings: ['url'],
  describe: (settings) => `slack via ${hostOf(settings.url)}`,
  send: ({ settings, notification, signal, context, secrets }) =>
    postHttp(
      {
        url: settings.url,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(slackMessage(notification)),
      },
      { signal, context, secrets },
    ),
});
