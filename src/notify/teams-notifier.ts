import { z } from 'zod';
import type { Notification } from '../core/notification.js';
import { notificationSeverity } from '../core/notification.js';
import { postHttp } from './http-delivery.js';
import { fitEscaped, teamsEscaper } from './markup-escape.js';
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
 * Microsoft Teams through a Workflows webhook ("Post to a channel when a webhook request is
 * received"; the Office 365 connectors are retired): a `message` whose `attachments` hold one
 * Adaptive Card (1.4). Untrusted text goes only into `RichTextBlock` `TextRun`s, which render no
 * markdown (`TextBlock` and `FactSet` would); the `{{DATE()}}` functions they still know are
 * defused. Workflows answer 202; a message must stay under ~28 KB, so the summary is cut at 2000.
 */

const settingsSchema = z.strictObject({ url: httpUrl });

const LIMIT = { title: 256, summary: 2000, line: 300 } as const;

type Element = Readonly<Record<string, unknown>>;

interface TextRunOptions {
  readonly weight?: 'bolder';
  readonly size?: 'large';
  readonly color?: 'attention' | 'warning' | 'good' | 'accent';
}

const run = (text: string, max: number, options: TextRunOptions = {}): Element => ({
  type: 'TextRun',
  text: fitEscaped(text, max, teamsEscaper),
  ...options,
});

const paragraph = (...inlines: Element[]): Element => ({ type: 'RichTextBlock', inlines });

export interface TeamsMessage {
  readonly type: 'message';
  readonly attachments: readonly [
    {
      readonly contentType: 'application/vnd.microsoft.card.adaptive';
      readonly contentUrl: null;
      readonly content: Element;
    },
  ];
}

export function teamsMessage(notification: Notification): TeamsMessage {
  const body: Element[] = [
    paragraph(
      run(headline(notification), LIMIT.title, {
        weight: 'bolder',
        size: 'large',
        color: titleColor(notification),
      }),
    ),
  ];
  const actions: Element[] = [];
  switch (notification.kind) {
    case 'test':
      body.push(paragraph(run(testText(notification.channel, notification.requestedBy), LIMIT.summary)));
      break;
    case 'digest': {
      const listed = notification.incidents.slice(0, DIGEST_LISTED);
      for (const incident of listed) body.push(paragraph(run(digestLine(incident), LIMIT.line)));
      const rest = digestRest(notification, listed.length);
      if (rest !== null) body.push(paragraph(run(rest, LIMIT.line)));
      break;
    }
    case 'triggered':
    case 'escalated':
    case 'acknowledged':
    case 'resolved': {
      body.push(paragraph(run(notification.incident.summary, LIMIT.summary)));
      for (const [name, value] of incidentFacts(notification.incident)) {
        body.push(paragraph(run(`${name}: `, LIMIT.line, { weight: 'bolder' }), run(value, LIMIT.line)));
      }
      const ack = acknowledgeUrl(notification);
      if (ack !== null && notification.acknowledge !== null) {
        actions.push({ type: 'Action.OpenUrl', title: 'Acknowledge', url: ack, style: 'positive' });
        body.push(
          paragraph(
            run(
              `The acknowledge link works until ${utcTime(notification.acknowledge.expiresAt)}.`,
              LIMIT.line,
            ),
          ),
        );
      }
      break;
    }
  }
  const link = primaryLink(notification);
  if (link !== null) actions.unshift({ type: 'Action.OpenUrl', title: 'Open incident', url: link });
  const card = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body,
    ...(actions.length === 0 ? {} : { actions }),
    msteams: { width: 'Full' },
  };
  return {
    type: 'message',
    attachments: [
      { contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card },
    ],
  };
}

function titleColor(notification: Notification): NonNullable<TextRunOptions['color']> {
  if (notification.kind === 'resolved') return 'good';
  if (notification.kind === 'acknowledged' || notification.kind === 'test') return 'accent';
  const severity = notificationSeverity(notification);
  return severity === 'critical' || severity === 'error'
    ? 'attention'
    : severity === 'warning'
      ? 'warning'
      : 'accent';
}

export const teamsNotifier = defineNotifier({
  type: 'teams',
  settingsSchema,
  secretSettings: ['url'],
  describe: (settings) => `teams via ${hostOf(settings.url)}`,
  send: ({ settings, notification, signal, context, secrets }) =>
    postHttp(
      {
        url: settings.url,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(teamsMessage(notification)),
      },
      { signal, context, secrets },
    ),
});
