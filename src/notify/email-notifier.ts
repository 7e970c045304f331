import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import { z } from 'zod';
import type { Severity } from '../core/alert.js';
import type { DeliveryResult, Notification } from '../core/notification.js';
import { delivered, deliveryFailed, notificationSeverity } from '../core/notification.js';
import { escapeControlCharacters, escapeHtml, oneLine, truncate } from './markup-escape.js';
import {
  acknowledgeUrl,
  DIGEST_LISTED,
  digestLine,
  digestRest,
  headline,
  incidentFacts,
  plainText,
  primaryLink,
  testText,
  utcTime,
} from './message-text.js';
import { defineNotifier } from './notifier-definition.js';
import { hostOf, scrubSecrets } from './secret-redaction.js';

/**
 * Email over SMTP with nodemailer: a text part and an HTML part (every interpolated value
 * HTML-escaped). `smtp://user:password@host:587` upgrades with STARTTLS when offered (or must,
 * with `requireTls`), `smtps://` is TLS from the start. It goes to `to` when set, else to the
 * paged user's address. The Message-ID derives from the idempotency key (a retried delivery has
 * the same one, so mail systems can drop the copy), and messages of one incident thread together.
 * SMTP 4xx and connection trouble are retryable; 5xx and a refused login are not.
 */

const smtpUrl = z.string().refine((value) => {
  try {
    const protocol = new URL(value).protocol;
    return protocol === 'smtp:' || protocol === 'smtps:';
  } catch {
    return false;
  }
}, 'expected smtp://[user:password@]host[:port] or smtps://…');

const address = z
  .string()
  .min(3)
  .max(320)
  .regex(/^[^\s<>"]+@[^\s<>"]+$/, 'expected an email address');

const settingsSchema = z.strictObject({
  smtp: smtpUrl,
  /** The sender: `hindsight@example.com` or `Hindsight <hindsight@example.com>`. */
  from: z.string().min(3).max(320),
  /** Fixed recipients; without them, the paged user's address. */
  to: z.array(address).min(1).optional(),
  /** Refuse to send unless the server upgrades to TLS (STARTTLS). */
  requireTls: z.boolean().default(false),
});

type Settings = z.output<typeof settingsSchema>;

const SUBJECT_LIMIT = 200;

const COLOR: Readonly<Record<Severity, string>> = {
  critical: '#d32f2f',
  error: '#f57c00',
  warning: '#b28704',
  info: '#1976d2',
};

export interface EmailMessage {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly messageId: string;
  readonly references: readonly string[];
}

export function emailMessage(notification: Notification): EmailMessage {
  const references =
    notification.kind === 'test' || notification.kind === 'digest'
      ? []
      : [threadId(notification.incident.id)];
  return {
    subject: truncate(oneLine(headline(notification)), SUBJECT_LIMIT),
    text: plainText(notification),
    html: emailHtml(notification),
    messageId: `<${hash(notification.idempotencyKey)}@hindsight>`,
    references,
  };
}

function emailHtml(notification: Notification): string {
  const h = escapeHtml;
  const color = notification.kind === 'resolved' ? '#388e3c' : COLOR[notificationSeverity(notification)];
  const parts = [`<h2 style="color:${color};margin:0 0 12px">${h(headline(notification))}</h2>`];
  switch (notification.kind) {
    case 'test':
      parts.push(
        `<p>${h(testText(notification.channel, notification.requestedBy))}</p>`,
        `<p>Sent at ${h(utcTime(notification.at))}.</p>`,
      );
      break;
    case 'digest': {
      const listed = notification.incidents.slice(0, DIGEST_LISTED);
      parts.push(
        `<ul>${listed.map((incident) => `<li><a href="${h(incident.url)}">${h(digestLine(incident))}</a></li>`).join('')}</ul>`,
      );
      const rest = digestRest(notification, listed.length);
      if (rest !== null) parts.push(`<p>${h(rest)}</p>`);
      break;
    }
    case 'triggered':
    case 'escalated':
    case 'acknowledged':
    case 'resolved': {
      parts.push(`<p style="font-size:15px;white-space:pre-wrap">${h(notification.incident.summary)}</p>`);
      parts.push(
        `<p>${incidentFacts(notification.incident)
          .map(([name, value]) => `${h(name)}: <b>${h(value)}</b>`)
          .join(' · ')}</p>`,
      );
      const links: string[] = [];
      const link = primaryLink(notification);
      if (link !== null) links.push(`<a href="${h(link)}">Open incident</a>`);
      const ack = acknowledgeUrl(notification);
      if (ack !== null && notification.acknowledge !== null) {
        links.push(
          `<a href="${h(ack)}">Acknowledge</a> (until ${h(utcTime(notification.acknowledge.expiresAt))})`,
        );
      }
      if (links.length > 0) parts.push(`<p>${links.join(' · ')}</p>`);
      break;
    }
  }
  return `<!doctype html><html><body style="font-family:system-ui,sans-serif">${parts.join('')}</body></html>`;
}

/** Every message about one incident refers to this id, so mail clients thread them. */
function threadId(incidentId: string): string {
  return `<incident-${hash(incidentId)}@hindsight>`;
}

function hash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 32);
}

/** Read through a call: TypeScript keeps `aborted` narrowed to false after the first check. */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

function recipients(settings: Settings, notification: Notification): readonly string[] | null {
  if (settings.to !== undefined) return settings.to;
  const email = notification.recipient?.user?.email ?? null;
  return email === null ? null : [email];
}

interface SmtpFailure {
  readonly code?: unknown;
  readonly responseCode?: unknown;
  readonly response?: unknown;
  readonly message?: unknown;
}

/** What an SMTP failure means for retrying, in words without the URL or password. */
function smtpFailure(error: unknown, host: string, secrets: readonly string[]): DeliveryResult {
  const failure: SmtpFailure = typeof error === 'object' && error !== null ? error : {};
  const code = typeof failure.code === 'string' ? failure.code : null;
  const responseCode = typeof failure.responseCode === 'number' ? failure.responseCode : null;
  const said =
    typeof failure.response === 'string'
      ? failure.response
      : typeof failure.message === 'string'
        ? failure.message
        : String(error);
  const detail = escapeControlCharacters(scrubSecrets(oneLine(truncate(said, 200)), secrets));
  if (code === 'EAUTH')
    return deliveryFailed(
      `${host} refused the SMTP login: ${detail} — check the user and password in the channel's smtp URL`,
      { retryable: false },
    );
  if (responseCode !== null && responseCode >= 500) {
    return deliveryFailed(
      `${host} refused the message (SMTP ${responseCode}): ${detail} — check the sender and recipients`,
      { retryable: false },
    );
  }
  if (responseCode !== null && responseCode >= 400)
    return deliveryFailed(`${host} deferred the message (SMTP ${responseCode}): ${detail}`, {
      retryable: true,
    });
  if (code === 'ETLS')
    return deliveryFailed(
      `TLS with ${host} failed: ${detail} — check the smtp URL (smtps:// or smtp:// with STARTTLS)`,
      { retryable: false },
    );
  return deliveryFailed(`could not deliver to ${host}${code === null ? '' : ` (${code})`}: ${detail}`, {
    retryable: true,
  });
}

export const emailNotifier = defineNotifier({
  type: 'email',
  settingsSchema,
  secretSettings: ['smtp'],
  describe: (settings) => `email via ${hostOf(settings.smtp)}`,
  send: async ({ settings, notification, signal, context, secrets }) => {
    const to = recipients(settings, notification);
    if (to === null) {
      return deliveryFailed('no email address: the paged user has none and the channel sets no `to`', {
        retryable: false,
      });
    }
    if (signal.aborted) return deliveryFailed('sending was cancelled (shutting down)', { retryable: true });
    const url = new URL(settings.smtp);
    const host = url.host;
    const transport = nodemailer.createTransport({
      host: url.hostname,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
      secure: url.protocol === 'smtps:',
      requireTLS: settings.requireTls,
      ...(url.username === ''
        ? {}
        : { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }),
      connectionTimeout: context.timeoutMs,
      greetingTimeout: context.timeoutMs,
      socketTimeout: context.timeoutMs,
      dnsTimeout: context.timeoutMs,
    });
    const message = emailMessage(notification);
    const stop = AbortSignal.any([signal, AbortSignal.timeout(context.timeoutMs)]);
    const stopped = new Promise<'stopped'>((resolve) => {
      if (stop.aborted) resolve('stopped');
      stop.addEventListener(
        'abort',
        () => {
          resolve('stopped');
        },
        { once: true },
      );
    });
    try {
      const sending = transport.sendMail({
        from: settings.from,
        to: [...to],
        subject: message.subject,
        text: message.text,
        html: message.html,
        messageId: message.messageId,
        ...(message.references.length === 0
          ? {}
          : { references: [...message.references], inReplyTo: message.references[0] }),
        headers: { 'X-Hindsight-Idempotency-Key': notification.idempotencyKey },
      });
      // A send abandoned on abort still settles later; its rejection must not go unhandled.
      sending.catch(() => undefined);
      const outcome = await Promise.race([sending.then(() => 'sent' as const), stopped]);
      if (outcome === 'sent') return delivered;
      if (isAborted(signal))
        return deliveryFailed('sending was cancelled (shutting down)', { retryable: true });
      return deliveryFailed(`no answer from ${host} within ${context.timeoutMs / 1000} s`, {
        retryable: true,
        maybeDelivered: true,
      });
    } catch (error) {
      return smtpFailure(error, host, secrets);
    } finally {
      transport.close();
    }
  },
});
