import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EventQueue } from '../../../src/sdk/event-queue.js';
import { EventSender } from '../../../src/sdk/event-sender.js';
import { createHindsight } from '../../../src/sdk/index.js';
import type { HindsightSdkError } from '../../../src/sdk/index.js';
import type { WireEvent } from '../../../src/sdk/wire-event.js';
import { startEventReceiver } from '../../support/sdk-event-receiver.js';
import type { EventReceiver } from '../../support/sdk-event-receiver.js';

const event = (n: number): WireEvent => ({
  kind: 'request',
  at: 1_764_527_000_000 + n,
  method: 'GET',
  route: '/n',
  status: 200,
  durationMs: n,
  user: null,
  errorClass: null,
  release: null,
  sqlFailures: [],
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const receiverOn = async (port = 0): Promise<EventReceiver> => {
  const receiver = await startEventReceiver(port);
  cleanups.push(() => receiver.close());
  return receiver;
};

/** A port nothing listens on (a receiver started and closed). */
const deadPort = async (): Promise<number> => {
  const receiver = await startEventReceiver();
  const port = Number(new URL(receiver.url).port);
  await receiver.close();
  return port;
};

const sender = (
  url: string,
  options: Partial<ConstructorParameters<typeof EventSender>[0]> = {},
): { sender: EventSender; problems: HindsightSdkError[] } => {
  const problems: HindsightSdkError[] = [];
  const s = new EventSender({
    url: `${url}/api/v1/events`,
    token: 'tok',
    service: 'shop',
    maxBatch: 500,
    maxBuffer: 10_000,
    flushIntervalMs: 60_000,
    requestTimeoutMs: 2000,
    report: (p) => problems.push(p),
    now: () => performance.timeOrigin + performance.now(),
    ...options,
  });
  cleanups.push(() => s.close());
  return { sender: s, problems };
};

describe('EventQueue', () => {
  it('keeps the newest max items, counts the dropped ones and puts an undelivered batch back in front', () => {
    const q = new EventQueue<number>(3);
    for (let i = 1; i <= 5; i++) q.push(i);
    expect(q.size).toBe(3);
    expect(q.droppedTotal).toBe(2);
    const batch = q.take(2);
    expect(batch).toEqual([3, 4]);
    q.push(6);
    q.putBack(batch); // room for one: the oldest (3) goes
    expect(q.take(10)).toEqual([4, 5, 6]);
    expect(q.droppedTotal).toBe(3);
    q.reported(3);
    expect(q.droppedUnreported).toBe(0);
  });
});

describe('EventSender against a real local receiver', () => {
  it('sends a full batch at once and the rest on flush, in order', async () => {
    const receiver = await receiverOn();
    const { sender: s } = sender(receiver.url, { maxBatch: 10 });
    for (let i = 0; i < 25; i++) s.push(event(i));
    await receiver.waitFor((e) => e.length >= 20);
    expect(receiver.batches.map((b) => b.events.length)).toEqual([10, 10]);
    await s.flush();
    expect(receiver.events().map((e) => e.at - 1_764_527_000_000)).toEqual([...Array(25).keys()]);
    expect(s.stats()).toMatchObject({ sent: 25, buffered: 0, dropped: 0, failedSends: 0 });
  });

  it('sends on the interval without being asked', async () => {
    const receiver = await receiverOn();
    const { sender: s } = sender(receiver.url, { flushIntervalMs: 30 });
    s.push(event(1));
    await receiver.waitFor((e) => e.length === 1, 3000);
    expect(s.stats().buffered).toBe(0);
  });

  it('while the server is down: bounded buffer, oldest dropped, one warning each; the count arrives with the next batch', async () => {
    const port = await deadPort();
    const { sender: s, problems } = sender(`http://127.0.0.1:${port}`, { maxBuffer: 100 });
    for (let i = 0; i < 250; i++) s.push(event(i));
    await s.flush();
    await s.flush();
    expect(s.stats()).toMatchObject({ buffered: 100, dropped: 150, sent: 0, failedSends: 2 });
    expect(problems.map((p) => p.code)).toEqual(['SDK_BUFFER_FULL', 'SDK_UNREACHABLE']);
    expect(problems[1]!.message).toMatch(
      /cannot reach http:\/\/127\.0\.0\.1:\d+\/api\/v1\/events \(ECONNREFUSED\)/,
    );

    const receiver = await receiverOn(port);
    await s.flush();
    expect(receiver.batches).toHaveLength(1);
    expect(receiver.batches[0]).toMatchObject({ dropped: 150 });
    expect(receiver.events().map((e) => e.at - 1_764_527_000_000)).toEqual(
      [...Array(100).keys()].map((i) => i + 150),
    );
    expect(s.stats()).toMatchObject({ buffered: 0, dropped: 150, sent: 100 });
    s.push(event(999));
    await s.flush();
    expect(receiver.batches[1]).toMatchObject({ dropped: 0 });
  });

  it('a refused token: one clear warning, events kept (bounded) and delivered once the token works', async () => {
    const receiver = await receiverOn();
    receiver.mode = { kind: 'status', status: 401 };
    const { sender: s, problems } = sender(receiver.url, { maxBuffer: 50 });
    for (let i = 0; i < 60; i++) s.push(event(i));
    await s.flush();
    await s.flush();
    await s.flush();
    expect(problems.map((p) => p.code)).toEqual(['SDK_BUFFER_FULL', 'SDK_TOKEN_REFUSED']);
    expect(problems[1]!.message).toContain('role ingest');
    expect(s.stats()).toMatchObject({ buffered: 50, dropped: 10, failedSends: 3 });
    receiver.mode = { kind: 'accept' };
    await s.flush();
    expect(receiver.events()).toHaveLength(50);
  });

  it('a batch the server refuses as malformed (400) is counted as rejected and not retried', async () => {
    const receiver = await receiverOn();
    receiver.mode = { kind: 'status', status: 400 };
    const { sender: s, problems } = sender(receiver.url);
    s.push(event(1));
    await s.flush();
    await s.flush();
    expect(s.stats()).toMatchObject({ rejected: 1, buffered: 0, failedSends: 0 });
    expect(receiver.requests).toHaveLength(1);
    expect(problems.map((p) => p.code)).toEqual(['SDK_REJECTED']);
  });

  it('a server that never answers: the request times out and the events wait', async () => {
    const receiver = await receiverOn();
    receiver.mode = { kind: 'hang' };
    const { sender: s, problems } = sender(receiver.url, { requestTimeoutMs: 200 });
    s.push(event(1));
    await s.flush();
    expect(s.stats()).toMatchObject({ buffered: 1, failedSends: 1 });
    expect(problems[0]!.message).toContain('timed out');
  });
});

describe('an app on the SDK while the server is down', () => {
  it('keeps answering at its usual speed with a bounded buffer; drops are counted and reported when the server is back', async () => {
    const receiver = await receiverOn();
    const problems: string[] = [];
    const hindsight = createHindsight({
      service: 'shop',
      endpoint: receiver.url,
      token: 't',
      maxBuffer: 500,
      maxBatch: 100,
      flushIntervalMs: 20,
      requestTimeoutMs: 60_000,
      onError: (p) => problems.push(p.code),
    });
    const server: Server = createServer(
      hindsight.http((_req: IncomingMessage, res: ServerResponse) => {
        res.end('ok');
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      await hindsight.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const timed = async (n: number): Promise<number[]> => {
      const ms: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await (await fetch(`${base}/items/${i}`)).text();
        ms.push(performance.now() - t0);
      }
      return ms.sort((a, b) => a - b);
    };
    const median = (xs: number[]): number => xs[Math.floor(xs.length / 2)]!;

    const up = median(await timed(200));
    receiver.mode = { kind: 'hang' }; // accepts the connection, never answers: the worst case for a sender
    const down = await timed(1000);
    const stats = hindsight.stats();
    // One batch of 100 hangs in flight; at most 500 wait; everything else was dropped and counted.
    expect(stats.buffered).toBeLessThanOrEqual(500);
    expect(stats.dropped).toBeGreaterThanOrEqual(1000 - 500 - 100);
    expect(problems).toContain('SDK_BUFFER_FULL');
    // Sending is off the request path: no request waited for the hanging server.
    expect(down.at(-1)!).toBeLessThan(1000);
    expect(median(down)).toBeLessThan(up * 3 + 2);

    receiver.mode = { kind: 'accept' };
    await receiver.close();
    const back = await receiverOn(Number(new URL(receiver.url).port));
    await hindsight.flush();
    const reported = back.batches.reduce((sum, b) => sum + b.dropped, 0);
    expect(reported).toBe(hindsight.stats().dropped);
    expect(reported).toBeGreaterThan(0);
  }, 60_000);
});
