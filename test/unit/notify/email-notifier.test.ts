import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryResult, Notification, NotificationChannel } from '../../../src/core/notification.js';
import { createNotifierRegistry } from '../../../src/notify/notifier-registry.js';
import { FakeClock } from '../../support/fake-clock.js';
import { parseMime, type MimeMessage } from './mime-message.js';
import { HOSTILE_SUMMARY, resolved, sampleIncident, T0, triggered } from './notification-samples.js';

// The email channel against a real SMTP server (the smtp-server package) on 127.0.0.1.

interface Received {
  readonly from: string | false;
  readonly to: readonly string[];
  readonly user: unknown;
  readonly message: MimeMessage;
}

const PASSWORD = 'p@ss:w0rd-s3cr3t';
const received: Received[] = [];
let server: SMTPServer;
let port: number;
const registry = createNotifierRegistry({ clock: new FakeClock(T0), timeoutMs: 2_000 });

function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

beforeAll(async () => {
  server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'hindsight' && auth.password === PASSWORD) callback(null, { user: 'hindsight' });
      else callback(smtpError('Invalid username or password', 535));
    },
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      if (address.address.startsWith('gone@')) callback(smtpError('Mailbox unavailable', 550));
      else if (address.address.startsWith('busy@')) callback(smtpError('Try again later', 451));
      else callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom === false ? false : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          user: session.user,
          message: parseMime(Buffer.concat(chunks).toString('utf8')),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
});

beforeEach(() => {
  received.length = 0;
});

function mail(settings: Record<string, unknown> = {}): NotificationChannel {
  const parsed = registry.parseChannel({
    name: 'mail',
    type: 'email',
    smtp: `smtp://hindsight:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`,
    from: 'Hindsight <hindsight@example.com>',
    ...settings,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.channel;
}

function send(channel: NotificationChannel, notification: Notification): Promise<DeliveryResult> {
  return registry.notifierFor('email')!.send(channel, notification, new AbortController().signal);
}

function part(message: MimeMessage, type: string): string {
  const found = message.parts.find((p) => (p.headers['content-type'] ?? '').startsWith(type));
  if (found === undefined) throw new Error(`no ${type} part`);
  return found.text;
}

describe('email over SMTP', () => {
  it('delivers text and HTML parts to the paged user, logged in, with a stable Message-ID', async () => {
    expect(await send(mail(), triggered())).toEqual({ outcome: 'sent' });
    expect(received).toHaveLength(1);
    const { from, to, user, message } = received[0]!;
    expect(from).toBe('hindsight@example.com');
    expect(to).toEqual(['alice@example.com']);
    expect(user).toBe('hindsight');
    expect(message.headers.subject).toBe('[CRITICAL] Triggered: Deadlocks on shop-db');
    expect(message.headers['content-type']).toMatch(/^multipart\/alternative/);
    expect(message.headers['x-hindsight-idempotency-key']).toBe('outbox_1:0');
    expect(message.headers['message-id']).toMatch(/^<[0-9a-f]{32}@hindsight>$/);
    expect(part(message, 'text/plain')).toBe(
      [
        '[CRITICAL] Triggered: Deadlocks on shop-db',
        '',
        triggered().incident.summary,
        '',
        'Service: shop · Severity: critical · State: triggered',
        'Incident: https://hindsight.example.com/incidents/inc_01',
        'Acknowledge (until 2026-11-30 16:30 UTC): https://hindsight.example.com/ack/inc_01?sig=abc123',
      ].join('\n'),
    );
    const html = part(message, 'text/html');
    expect(html).toContain(
      '<a href="https://hindsight.example.com/ack/inc_01?sig=abc123">Acknowledge</a> (until 2026-11-30 16:30 UTC)',
    );
    expect(html).toContain('<a href="https://hindsight.example.com/incidents/inc_01">Open incident</a>');

    // The same delivery retried has the same Message-ID; a resolve threads under the incident.
    await send(mail(), triggered());
    await send(mail({ to: ['db-team@example.com', 'ops@example.com'] }), resolved());
    const [first, again, resolve] = received.map((r) => r.message.headers);
    expect(again!['message-id']).toBe(first!['message-id']);
    expect(resolve!['message-id']).not.toBe(first!['message-id']);
    expect(resolve!.references).toBe(first!.references);
    expect(received[2]!.to).toEqual(['db-team@example.com', 'ops@example.com']);
  });

  it('escapes HTML from the monitored world in the HTML part and keeps it verbatim in the text part', async () => {
    await send(
      mail(),
      triggered({
        incident: sampleIncident({ summary: HOSTILE_SUMMARY, title: 'Deadlocks on <b>shop-db</b>' }),
      }),
    );
    const { message } = received[0]!;
    const html = part(message, 'text/html');
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<b>shop-db</b>');
    expect(html).toContain(
      '&lt;script&gt;alert(1)&lt;/script&gt; *bold* _it_ @here @everyone &lt;!channel&gt;',
    );
    expect(html).toContain('Deadlocks on &lt;b&gt;shop-db&lt;/b&gt;');
    expect(part(message, 'text/plain')).toContain(HOSTILE_SUMMARY);
  });

  it('a refused login is not retryable and the reason holds no password', async () => {
    const result = await send(
      mail({ smtp: `smtp://hindsight:${encodeURIComponent('wrong-passw0rd')}@127.0.0.1:${port}` }),
      triggered(),
    );
    expect(result).toMatchObject({
      outcome: 'failed',
      retryable: false,
      reason: expect.stringContaining('refused the SMTP login') as unknown,
    });
    expect(JSON.stringify(result)).not.toContain('wrong-passw0rd');
    expect(received).toHaveLength(0);
  });

  it('SMTP 5xx for a recipient is not retryable; 4xx is', async () => {
    expect(await send(mail({ to: ['gone@example.com'] }), triggered())).toMatchObject({
      outcome: 'failed',
      retryable: false,
    });
    expect(await send(mail({ to: ['busy@example.com'] }), triggered())).toMatchObject({
      outcome: 'failed',
      retryable: true,
    });
    expect(received).toHaveLength(0);
  });

  it('no address to send to is not retryable', async () => {
    const nobody = triggered({ recipient: { target: 'user:bob', user: { name: 'bob', email: null } } });
    expect(await send(mail(), nobody)).toMatchObject({
      outcome: 'failed',
      retryable: false,
      reason: expect.stringContaining('no email address') as unknown,
    });
  });

  it('a server that is not there is retryable, and the reason holds no password', async () => {
    const closed = new SMTPServer({ logger: false });
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => {
      closed.close(() => {
        resolve();
      });
    });
    const result = await send(
      mail({ smtp: `smtp://hindsight:${encodeURIComponent(PASSWORD)}@127.0.0.1:${closedPort}` }),
      triggered(),
    );
    expect(result).toMatchObject({ outcome: 'failed', retryable: true });
    expect(JSON.stringify(result)).not.toContain(PASSWORD);
    expect(JSON.stringify(result)).not.toContain(encodeURIComponent(PASSWORD));
  });
});
