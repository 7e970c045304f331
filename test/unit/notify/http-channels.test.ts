import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Notification, NotificationChannel } from '../../../src/core/notification.js';
import { createNotifierRegistry } from '../../../src/notify/notifier-registry.js';
import { verifyWebhookSignature } from '../../../src/notify/webhook-signature.js';
import { FakeClock } from '../../support/fake-clock.js';
import { acknowledged, digest, resolved, T0, testMessage, triggered } from './notification-samples.js';
import { startRecordingServer, type RecordingServer } from './recording-server.js';

// Each HTTP channel sends to a real local server; the test reads the bytes that arrived.

let server: RecordingServer;
const clock = new FakeClock(T0 + 5_000);
const registry = createNotifierRegistry({ clock, timeoutMs: 2_000 });

beforeAll(async () => {
  server = await startRecordingServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.requests.length = 0;
});

function channel(type: string, settings: Record<string, unknown>): NotificationChannel {
  const parsed = registry.parseChannel({ name: `test-${type}`, type, ...settings });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.channel;
}

async function send(target: NotificationChannel, notification: Notification) {
  const notifier = registry.notifierFor(target.type);
  if (notifier === undefined) throw new Error(`no notifier for ${target.type}`);
  return notifier.send(target, notification, new AbortController().signal);
}

function only() {
  expect(server.requests).toHaveLength(1);
  const request = server.requests[0]!;
  return {
    ...request,
    get json(): unknown {
      return JSON.parse(request.body) as unknown;
    },
  };
}

describe('generic webhook', () => {
  const secret = 'whsec_0123456789abcdef';

  it('posts the JSON body with the idempotency key, signed over timestamp + "." + body', async () => {
    const result = await send(
      channel('webhook', { url: `${server.url}/hook?token=abc`, secret }),
      triggered(),
    );
    expect(result).toEqual({ outcome: 'sent' });
    const request = only();
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/hook?token=abc');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['x-hindsight-idempotency-key']).toBe('outbox_1:0');
    expect(request.headers['x-hindsight-timestamp']).toBe(String((T0 + 5_000) / 1000));
    expect(request.json).toEqual({
      version: 1,
      id: 'outbox_1:0',
      kind: 'triggered',
      at: '2026-11-30T16:00:00.000Z',
      headline: '[CRITICAL] Triggered: Deadlocks on shop-db',
      severity: 'critical',
      recipient: { target: 'schedule:primary', user: { name: 'alice', email: 'alice@example.com' } },
      incident: {
        id: 'inc_01',
        title: 'Deadlocks on shop-db',
        summary: triggered().incident.summary,
        severity: 'critical',
        service: 'shop',
        state: 'triggered',
        createdAt: '2026-11-30T15:59:00.000Z',
        url: 'https://hindsight.example.com/incidents/inc_01',
      },
      acknowledgeUrl: 'https://hindsight.example.com/ack/inc_01?sig=abc123',
      acknowledgeExpiresAt: '2026-11-30T16:30:00.000Z',
      step: { index: 0, round: 0 },
      actor: null,
    });

    const check = (overrides: {
      body?: Buffer | string;
      now?: number;
      secret?: string;
      signature?: string;
    }) =>
      verifyWebhookSignature({
        secret: overrides.secret ?? secret,
        body: overrides.body ?? request.rawBody,
        timestamp: request.headers['x-hindsight-timestamp'] as string,
        signature: overrides.signature ?? (request.headers['x-hindsight-signature'] as string),
        now: overrides.now ?? T0 + 6_000,
      });
    expect(request.headers['x-hindsight-signature']).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(check({})).toEqual({ ok: true });
    // The same request replayed ten minutes later is refused, as is any change to the body or key.
    expect(check({ now: T0 + 10 * 60_000 })).toEqual({ ok: false, reason: 'stale' });
    expect(check({ body: request.body.replace('critical', 'info') })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(check({ secret: 'another-secret' })).toEqual({ ok: false, reason: 'mismatch' });
    // A rotating receiver may list several signatures: one match is enough.
    expect(
      check({ signature: `v1=${'0'.repeat(64)}, ${request.headers['x-hindsight-signature'] as string}` }),
    ).toEqual({ ok: true });
  });

  it('sends no signature without a secret, and the configured headers', async () => {
    await send(
      channel('webhook', { url: `${server.url}/plain`, headers: { Authorization: 'Bearer t0k3n-abcdef' } }),
      resolved(),
    );
    const request = only();
    expect(request.headers['x-hindsight-signature']).toBeUndefined();
    expect(request.headers['x-hindsight-timestamp']).toBeUndefined();
    expect(request.headers.authorization).toBe('Bearer t0k3n-abcdef');
    expect(request.json).toMatchObject({
      kind: 'resolved',
      actor: 'dora',
      recipient: null,
      acknowledgeUrl: null,
    });
  });
});

describe('verifyWebhookSignature', () => {
  it('reports missing and malformed headers', () => {
    const base = { secret: 's3cret-value', body: '{}', now: T0 };
    expect(verifyWebhookSignature({ ...base, timestamp: null, signature: 'v1=00' })).toEqual({
      ok: false,
      reason: 'missing',
    });
    expect(
      verifyWebhookSignature({ ...base, timestamp: 'yesterday', signature: `v1=${'0'.repeat(64)}` }),
    ).toEqual({ ok: false, reason: 'malformed' });
    expect(
      verifyWebhookSignature({ ...base, timestamp: String(T0 / 1000), signature: 'sha256=abc' }),
    ).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('Slack', () => {
  it('posts Block Kit with plain_text blocks, buttons and a non-mrkdwn fallback', async () => {
    const result = await send(
      channel('slack', { url: `${server.url}/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX` }),
      triggered(),
    );
    expect(result).toEqual({ outcome: 'sent' });
    const request = only();
    expect(request.path).toBe('/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX');
    expect(request.headers['content-type']).toBe('application/json');
    const text = (value: string) => ({ type: 'plain_text', text: value, emoji: false });
    const summary = triggered().incident.summary;
    expect(request.json).toEqual({
      text: `[CRITICAL] Triggered: Deadlocks on shop-db\n${summary}`,
      mrkdwn: false,
      blocks: [
        { type: 'header', text: text('[CRITICAL] Triggered: Deadlocks on shop-db') },
        { type: 'section', text: text(summary) },
        {
          type: 'section',
          fields: [text('Service: shop'), text('Severity: critical'), text('State: triggered')],
        },
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              text: text('Open incident'),
              url: 'https://hindsight.example.com/incidents/inc_01',
              action_id: 'open',
            },
            {
              type: 'button',
              text: text('Acknowledge'),
              url: 'https://hindsight.example.com/ack/inc_01?sig=abc123',
              action_id: 'acknowledge',
              style: 'primary',
            },
          ],
        },
        { type: 'context', elements: [text('The acknowledge link works until 2026-11-30 16:30 UTC.')] },
      ],
    });
  });

  it('lists a digest, ten incidents and "and N more"', async () => {
    await send(channel('slack', { url: `${server.url}/services/digest` }), digest(14));
    const blocks = (
      only().json as { blocks: { type: string; text?: { text: string }; elements?: { text: string }[] }[] }
    ).blocks;
    expect(blocks[0]!.text!.text).toBe('[CRITICAL] 14 incidents need attention');
    expect(blocks.filter((block) => block.type === 'section')).toHaveLength(10);
    expect(blocks.at(-1)).toEqual({
      type: 'context',
      elements: [{ type: 'plain_text', text: 'and 4 more', emoji: false }],
    });
  });
});

describe('Discord', () => {
  it('posts one embed with no mentions allowed', async () => {
    const result = await send(
      channel('discord', { url: `${server.url}/api/webhooks/123/tok`, username: 'Hindsight' }),
      triggered(),
    );
    expect(result).toEqual({ outcome: 'sent' });
    expect(only().json).toEqual({
      username: 'Hindsight',
      allowed_mentions: { parse: [] },
      embeds: [
        {
          title: '\\[CRITICAL\\] Triggered: Deadlocks on shop-db',
          description:
            'POST /checkout failing for 31% of users; 94% of failures are SQLSTATE 40P01; 212 deadlocks between \\`UPDATE inventory …\\` (checkout.ts:88) and \\`UPDATE products …\\` (restock.ts:41)',
          url: 'https://hindsight.example.com/incidents/inc_01',
          color: 0xd32f2f,
          fields: [
            { name: 'Service', value: 'shop', inline: true },
            { name: 'Severity', value: 'critical', inline: true },
            { name: 'State', value: 'triggered', inline: true },
            {
              name: 'Acknowledge',
              value:
                '[Acknowledge in one click](https://hindsight.example.com/ack/inc_01?sig=abc123) (until 2026-11-30 16:30 UTC)',
              inline: false,
            },
          ],
          timestamp: '2026-11-30T16:00:00.000Z',
          footer: { text: 'Hindsight' },
        },
      ],
    });
  });

  it('honours 429 retry_after from the body', async () => {
    server.reply({
      status: 429,
      headers: { 'content-type': 'application/json', 'retry-after': '3' },
      body: JSON.stringify({ message: 'You are being rate limited.', retry_after: 1.25, global: false }),
    });
    const result = await send(channel('discord', { url: `${server.url}/api/webhooks/123/tok` }), triggered());
    expect(result).toMatchObject({ outcome: 'failed', retryable: true, retryAfterMs: 1250 });
  });
});

describe('Microsoft Teams', () => {
  it('posts an Adaptive Card in the Workflows message envelope', async () => {
    server.reply({ status: 202 });
    const result = await send(
      channel('teams', { url: `${server.url}/workflows/abc/triggers/manual/paths/invoke?sig=xyz` }),
      triggered(),
    );
    expect(result).toEqual({ outcome: 'sent' });
    const run = (text: string, extra: Record<string, string> = {}) => ({ type: 'TextRun', text, ...extra });
    const block = (...inlines: unknown[]) => ({ type: 'RichTextBlock', inlines });
    expect(only().json).toEqual({
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            body: [
              block(
                run('[CRITICAL] Triggered: Deadlocks on shop-db', {
                  weight: 'bolder',
                  size: 'large',
                  color: 'attention',
                }),
              ),
              block(run(triggered().incident.summary)),
              block(run('Service: ', { weight: 'bolder' }), run('shop')),
              block(run('Severity: ', { weight: 'bolder' }), run('critical')),
              block(run('State: ', { weight: 'bolder' }), run('triggered')),
              block(run('The acknowledge link works until 2026-11-30 16:30 UTC.')),
            ],
            actions: [
              {
                type: 'Action.OpenUrl',
                title: 'Open incident',
                url: 'https://hindsight.example.com/incidents/inc_01',
              },
              {
                type: 'Action.OpenUrl',
                title: 'Acknowledge',
                url: 'https://hindsight.example.com/ack/inc_01?sig=abc123',
                style: 'positive',
              },
            ],
            msteams: { width: 'Full' },
          },
        },
      ],
    });
  });
});

describe('PagerDuty Events v2', () => {
  const settings = () => ({
    routingKey: 'R0UTINGKEY0000000000000000000000',
    url: `${server.url}/v2/enqueue`,
  });

  it('triggers with the incident id as dedup_key, then forwards acknowledge and resolve', async () => {
    server.reply({
      status: 202,
      body: '{"status":"success","message":"Event processed","dedup_key":"inc_01"}',
    });
    expect(await send(channel('pagerduty', settings()), triggered())).toEqual({ outcome: 'sent' });
    await send(channel('pagerduty', settings()), acknowledged());
    await send(channel('pagerduty', settings()), resolved());
    const [trigger, ack, resolve] = server.requests.map((request) => ({
      path: request.path,
      json: JSON.parse(request.body) as unknown,
    }));
    expect(trigger).toEqual({
      path: '/v2/enqueue',
      json: {
        routing_key: 'R0UTINGKEY0000000000000000000000',
        event_action: 'trigger',
        dedup_key: 'inc_01',
        payload: {
          summary: `Deadlocks on shop-db: ${triggered().incident.summary}`,
          severity: 'critical',
          source: 'shop',
          component: 'shop',
          timestamp: '2026-11-30T16:00:00.000Z',
          custom_details: {
            incident_id: 'inc_01',
            title: 'Deadlocks on shop-db',
            summary: triggered().incident.summary,
            service: 'shop',
            state: 'triggered',
            escalation_step: 1,
          },
        },
        links: [
          { href: 'https://hindsight.example.com/incidents/inc_01', text: 'Incident in Hindsight' },
          { href: 'https://hindsight.example.com/ack/inc_01?sig=abc123', text: 'Acknowledge in Hindsight' },
        ],
        client: 'Hindsight',
        client_url: 'https://hindsight.example.com/incidents/inc_01',
      },
    });
    expect(ack).toEqual({
      path: '/v2/enqueue',
      json: {
        routing_key: 'R0UTINGKEY0000000000000000000000',
        event_action: 'acknowledge',
        dedup_key: 'inc_01',
      },
    });
    expect(resolve).toEqual({
      path: '/v2/enqueue',
      json: { routing_key: 'R0UTINGKEY0000000000000000000000', event_action: 'resolve', dedup_key: 'inc_01' },
    });
  });

  it('sends a test as a change event, which pages nobody', async () => {
    await send(channel('pagerduty', settings()), testMessage());
    expect(only()).toMatchObject({
      path: '/v2/change/enqueue',
      json: {
        routing_key: 'R0UTINGKEY0000000000000000000000',
        payload: {
          summary: 'Test message from Hindsight to channel ops',
          timestamp: '2026-11-30T16:00:00.000Z',
          source: 'hindsight',
          custom_details: { message: 'If you can read this, channel ops delivers (requested by admin).' },
        },
      },
    });
  });

  it('cuts payload.summary at 1024 characters with an ellipsis', async () => {
    const long = triggered({ incident: { ...triggered().incident, summary: 'x'.repeat(5_000) } });
    await send(channel('pagerduty', settings()), long);
    const summary = (only().json as { payload: { summary: string } }).payload.summary;
    expect(summary).toHaveLength(1024);
    expect(summary.endsWith('x…')).toBe(true);
  });
});

describe('ntfy', () => {
  it('publishes plain text with Title, Priority, Tags, Click, Actions and the token', async () => {
    const result = await send(
      channel('ntfy', { url: `${server.url}/shop-oncall-4f9c`, token: 'tk_abcdefghijklmnop' }),
      triggered(),
    );
    expect(result).toEqual({ outcome: 'sent' });
    const request = only();
    expect(request.path).toBe('/shop-oncall-4f9c');
    expect(request.headers).toMatchObject({
      'content-type': 'text/plain; charset=utf-8',
      title: '[CRITICAL] Triggered: Deadlocks on shop-db',
      priority: '5',
      tags: 'rotating_light',
      click: 'https://hindsight.example.com/incidents/inc_01',
      actions:
        'view, Open incident, https://hindsight.example.com/incidents/inc_01; view, Acknowledge, https://hindsight.example.com/ack/inc_01?sig=abc123, clear=true',
      authorization: 'Bearer tk_abcdefghijklmnop',
    });
    expect(request.body).toBe(
      [
        triggered().incident.summary,
        '',
        'Service: shop · Severity: critical · State: triggered',
        'Incident: https://hindsight.example.com/incidents/inc_01',
        'Acknowledge (until 2026-11-30 16:30 UTC): https://hindsight.example.com/ack/inc_01?sig=abc123',
      ].join('\n'),
    );
  });

  it('encodes a title that is not ASCII (RFC 2047), lowers priority for a resolve', async () => {
    const title = 'Verklemmungen auf shop-db — Lager';
    await send(channel('ntfy', { url: `${server.url}/topic-xyz` }), {
      ...resolved(),
      incident: { ...resolved().incident, title },
    });
    const request = only();
    expect(request.headers.authorization).toBeUndefined();
    expect(request.headers.priority).toBe('2');
    expect(request.headers.tags).toBe('white_check_mark');
    const encoded = /^=\?UTF-8\?B\?(.+)\?=$/.exec(request.headers.title as string);
    expect(Buffer.from(encoded![1]!, 'base64').toString('utf8')).toBe(`[RESOLVED] ${title} by dora`);
  });

  it('cuts the body at 4096 bytes of UTF-8', async () => {
    await send(
      channel('ntfy', { url: `${server.url}/topic-xyz` }),
      triggered({ incident: { ...triggered().incident, summary: 'ü'.repeat(5_000) } }),
    );
    const request = only();
    expect(request.rawBody.length).toBeLessThanOrEqual(4096);
    expect(request.body.endsWith('ü…')).toBe(true);
  });
});

describe('every kind on every HTTP channel', () => {
  const kinds: Notification[] = [
    triggered(),
    triggered({ kind: 'escalated', idempotencyKey: 'outbox_9:0', step: { index: 1, round: 1 } }),
    acknowledged(),
    resolved(),
    testMessage(),
    digest(3),
  ];
  const settings: Record<string, () => Record<string, unknown>> = {
    webhook: () => ({ url: `${server.url}/hook`, secret: 'whsec_0123456789' }),
    slack: () => ({ url: `${server.url}/services/x` }),
    discord: () => ({ url: `${server.url}/api/webhooks/1/t` }),
    teams: () => ({ url: `${server.url}/workflows/x` }),
    pagerduty: () => ({ routingKey: 'R0UTINGKEY00000', url: `${server.url}/v2/enqueue` }),
    ntfy: () => ({ url: `${server.url}/topic-0123456789` }),
  };

  it.each(Object.keys(settings))(
    '%s delivers triggered, escalated, acknowledged, resolved, test and digest',
    async (type) => {
      for (const notification of kinds)
        expect(await send(channel(type, settings[type]!()), notification)).toEqual({ outcome: 'sent' });
      expect(server.requests).toHaveLength(kinds.length);
      const everything = server.requests
        .map((request) => `${JSON.stringify(request.headers)}\n${request.body}`)
        .join('\n');
      if (type === 'pagerduty') {
        // PagerDuty's summary is the incident's own; the step is a detail.
        expect(everything).toContain('"escalation_step":2');
      } else {
        expect(everything).toContain('Escalated (step 2, repeat 1)');
      }
      expect(everything).toContain('3 incidents need attention');
    },
  );
});
