import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryResult, NotificationChannel } from '../../../src/core/notification.js';
import { createNotifierRegistry } from '../../../src/notify/notifier-registry.js';
import { FakeClock } from '../../support/fake-clock.js';
import { T0, triggered } from './notification-samples.js';
import { startRecordingServer, type RecordingServer } from './recording-server.js';

// How an HTTP channel reports a receiver's answer: retryable or not, when to retry, and never a secret.

let server: RecordingServer;
const clock = new FakeClock(T0);
const registry = createNotifierRegistry({ clock, timeoutMs: 300 });
const TOKEN = 'T0KEN-sup3rs3cr3t-0123456789';

beforeAll(async () => {
  server = await startRecordingServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.requests.length = 0;
});

function slack(url = `${server.url}/services/T1/B2/${TOKEN}`): NotificationChannel {
  return { name: 'ops-slack', type: 'slack', settings: { url } };
}

async function send(
  channel: NotificationChannel = slack(),
  signal = new AbortController().signal,
): Promise<DeliveryResult> {
  return registry.notifierFor(channel.type)!.send(channel, triggered(), signal);
}

function expectNoSecret(result: DeliveryResult): void {
  const text = JSON.stringify(result);
  expect(text).not.toContain(TOKEN);
  expect(text).not.toContain('/services/T1/B2');
}

describe('HTTP answers', () => {
  it('429 is retryable after its Retry-After seconds', async () => {
    server.reply({ status: 429, headers: { 'retry-after': '7' }, body: 'rate_limited' });
    const result = await send();
    expect(result).toEqual({
      outcome: 'failed',
      retryable: true,
      retryAfterMs: 7000,
      reason: `${new URL(server.url).host} answered HTTP 429: rate_limited`,
    });
  });

  it('503 is retryable, with a Retry-After given as an HTTP date', async () => {
    server.reply({ status: 503, headers: { 'retry-after': new Date(T0 + 90_000).toUTCString() } });
    expect(await send()).toMatchObject({ outcome: 'failed', retryable: true, retryAfterMs: 90_000 });
  });

  it('500 without Retry-After is retryable with no delay given', async () => {
    server.reply({ status: 500, body: 'oops' });
    const result = await send();
    expect(result).toMatchObject({ outcome: 'failed', retryable: true });
    expect(result).not.toHaveProperty('retryAfterMs');
  });

  it('400 is not retryable, and says what the receiver said', async () => {
    server.reply({ status: 400, body: 'invalid_payload' });
    const result = await send();
    expect(result).toMatchObject({ outcome: 'failed', retryable: false });
    expect(result.outcome === 'failed' && result.reason).toContain('HTTP 400: invalid_payload');
  });

  it('404 (a deleted webhook) is not retryable and says to update the channel', async () => {
    server.reply({ status: 404, body: 'no_service' });
    const result = await send();
    expect(result).toMatchObject({ outcome: 'failed', retryable: false });
    expect(result.outcome === 'failed' && result.reason).toContain('update the channel');
  });

  it('a redirect is not followed', async () => {
    server.reply({ status: 301, headers: { location: `${server.url}/elsewhere` } });
    const result = await send();
    expect(result).toMatchObject({ outcome: 'failed', retryable: false });
    expect(server.requests.map((request) => request.path)).toEqual([`/services/T1/B2/${TOKEN}`]);
  });

  it('a receiver that echoes the URL and token does not get them into the reason', async () => {
    server.reply({
      status: 400,
      body: `bad request to ${server.url}/services/T1/B2/${TOKEN} (token ${TOKEN})`,
    });
    const result = await send();
    expect(result).toMatchObject({ outcome: 'failed', retryable: false });
    expectNoSecret(result);
  });
});

describe('no answer', () => {
  it('a server that never answers times out, retryable', async () => {
    server.reply({ status: 200, hang: true });
    const started = performance.now();
    const result = await send();
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(result).toMatchObject({
      outcome: 'failed',
      retryable: true,
      maybeDelivered: true,
      reason: expect.stringContaining('no answer from 127.0.0.1') as unknown,
    });
    expectNoSecret(result);
  });

  it('a refused connection is retryable and names the system error', async () => {
    const closed = await startRecordingServer();
    const url = `${closed.url}/services/T1/B2/${TOKEN}`;
    await closed.close();
    const result = await send(slack(url));
    expect(result).toMatchObject({
      outcome: 'failed',
      retryable: true,
      reason: expect.stringContaining('ECONNREFUSED') as unknown,
    });
    // Refused before anything was sent: certainly not delivered.
    expect(result).not.toHaveProperty('maybeDelivered');
    expectNoSecret(result);
  });

  it('an aborted signal resolves as a retryable cancellation, without sending', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await send(slack(), controller.signal)).toMatchObject({
      outcome: 'failed',
      retryable: true,
      reason: expect.stringContaining('cancelled') as unknown,
    });
    expect(server.requests).toHaveLength(0);
  });
});

describe('invalid settings', () => {
  it('are a failure that is not retryable and names the setting, not its value', async () => {
    const result = await send({
      name: 'ops-slack',
      type: 'slack',
      settings: { url: `ftp://hooks.example.com/${TOKEN}` },
    });
    expect(result).toMatchObject({
      outcome: 'failed',
      retryable: false,
      reason: expect.stringContaining('url:') as unknown,
    });
    expectNoSecret(result);
  });
});
