import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FindingPushClient, type FindingPushOptions } from '../../../src/agent/push/finding-push-client.js';
import { HindsightError } from '../../../src/core/errors.js';
import type { Finding } from '../../../src/core/finding.js';

/** A stand-in for the server's ingest route: a real HTTP server that records what it is sent. */
class IngestServer {
  readonly requests: {
    auth: string | undefined;
    body: { agent: string; findings: Finding[]; health: unknown[] };
  }[] = [];
  /** Answers each request; 202 by default. */
  answer: (req: IncomingMessage) => { status: number; body?: unknown } = () => ({ status: 202 });
  #server: Server | null = null;
  port = 0;

  get findingIds(): string[] {
    return this.requests.flatMap((r) => r.body.findings.map((f) => f.id));
  }

  async start(port = 0): Promise<this> {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        const { status, body } = this.answer(req);
        if (status < 300)
          this.requests.push({
            auth: req.headers.authorization,
            body: JSON.parse(text) as IngestServer['requests'][number]['body'],
          });
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify(body ?? { accepted: 0 }));
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.#server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  }
}

const finding = (n: number): Finding => ({
  kind: 'target_unreachable',
  id: `f${n}`,
  target: 'shop-db',
  at: 1_000 + n,
  reason: 'test',
});

const logs: string[] = [];
const logger = {
  info: (_obj: unknown, msg?: string) => logs.push(`info ${msg ?? ''}`),
  warn: (_obj: unknown, msg?: string) => logs.push(`warn ${msg ?? ''}`),
  error: (_obj: unknown, msg?: string) => logs.push(`error ${msg ?? ''}`),
} as unknown as FindingPushOptions['logger'];

const running: { controller: AbortController; done: Promise<void> }[] = [];
const servers: IngestServer[] = [];

function start(
  port: number,
  options: Partial<FindingPushOptions> = {},
): { client: FindingPushClient; done: Promise<void>; controller: AbortController } {
  const client = new FindingPushClient({
    server: `http://127.0.0.1:${port}`,
    token: 'agent-token',
    agent: 'db-host-1',
    logger,
    flushIntervalMs: 20,
    backoff: { initialMs: 20, maxMs: 80 },
    drainMs: 1000,
    ...options,
  });
  const controller = new AbortController();
  const done = client.run(controller.signal);
  running.push({ controller, done: done.catch(() => undefined) });
  return { client, done, controller };
}

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function freePort(): Promise<number> {
  const probe = await new IngestServer().start();
  const { port } = probe;
  await probe.stop();
  return port;
}

afterEach(async () => {
  for (const r of running.splice(0)) {
    r.controller.abort();
    await r.done;
  }
  for (const s of servers.splice(0)) await s.stop();
  logs.length = 0;
});

describe('FindingPushClient against a real HTTP server', () => {
  it('sends batches of at most batchSize with the bearer token, the agent name and target health', async () => {
    const server = await new IngestServer().start();
    servers.push(server);
    const { client } = start(server.port, { batchSize: 3 });
    client.reportHealth({
      target: 'shop-db',
      reachable: true,
      problem: null,
      lastSampleAt: 5,
      agent: 'db-host-1',
      reportedAt: 6,
    });
    for (let n = 0; n < 7; n += 1) client.publish(finding(n));
    await until(() => client.stats.sent === 7);
    expect(server.findingIds).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6']);
    expect(Math.max(...server.requests.map((r) => r.body.findings.length))).toBeLessThanOrEqual(3);
    expect(server.requests[0]?.auth).toBe('Bearer agent-token');
    expect(server.requests[0]?.body.agent).toBe('db-host-1');
    expect(server.requests[0]?.body.health).toEqual([
      {
        target: 'shop-db',
        reachable: true,
        problem: null,
        lastSampleAt: 5,
        agent: 'db-host-1',
        reportedAt: 6,
      },
    ]);
    expect(client.stats).toMatchObject({ sent: 7, dropped: 0, buffered: 0 });
  });

  it('buffers through an outage and delivers everything, in order, once the server is back', async () => {
    const port = await freePort();
    const { client } = start(port);
    for (let n = 0; n < 5; n += 1) client.publish(finding(n));
    await until(() => logs.some((l) => l.startsWith('warn cannot deliver findings')));
    for (let n = 5; n < 10; n += 1) client.publish(finding(n));
    const server = await new IngestServer().start(port);
    servers.push(server);
    await until(() => server.findingIds.length === 10);
    expect(server.findingIds).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', 'f9']);
    await until(() => logs.some((l) => l.startsWith('info') && l.includes('reachable again')));
    expect(client.stats.dropped).toBe(0);
  });

  it('keeps at most maxBuffered findings while the server is down, dropping the oldest and counting them', async () => {
    const port = await freePort();
    const { client } = start(port, { maxBuffered: 5 });
    for (let n = 0; n < 12; n += 1) client.publish(finding(n));
    expect(client.stats).toMatchObject({ buffered: 5, dropped: 7 });
    expect(logs.filter((l) => l.includes('buffer full'))).toHaveLength(1);
    const server = await new IngestServer().start(port);
    servers.push(server);
    await until(() => server.findingIds.length === 5);
    expect(server.findingIds).toEqual(['f7', 'f8', 'f9', 'f10', 'f11']);
    await until(() => logs.some((l) => l.includes('7 findings were dropped')), 3000).catch(() => {
      throw new Error(logs.join('\n'));
    });
  });

  it('retries after 503s with backoff and then delivers', async () => {
    const server = await new IngestServer().start();
    servers.push(server);
    let refusals = 2;
    server.answer = () =>
      refusals-- > 0
        ? { status: 503, body: { code: 'STORE_DOWN', message: 'store unavailable' } }
        : { status: 202 };
    const { client } = start(server.port);
    client.publish(finding(1));
    await until(() => server.findingIds.length === 1);
    expect(refusals).toBeLessThan(0);
    expect(logs.some((l) => l.includes('HTTP 503: store unavailable'))).toBe(true);
  });

  it('stops with a user error saying what to do when the server refuses the token', async () => {
    const server = await new IngestServer().start();
    servers.push(server);
    server.answer = () => ({ status: 401, body: { code: 'UNAUTHORIZED', message: 'unknown token' } });
    const { client, done } = start(server.port);
    client.publish(finding(1));
    const error = await done.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HindsightError);
    expect((error as HindsightError).kind).toBe('user');
    expect((error as HindsightError).message).toMatch(
      /refused the agent's token \(401: unknown token\).*--token/,
    );
  });

  it('drops a batch the server calls invalid instead of retrying it forever', async () => {
    const server = await new IngestServer().start();
    servers.push(server);
    let first = true;
    server.answer = () =>
      first
        ? ((first = false),
          { status: 400, body: { code: 'BAD_REQUEST', message: 'findings[0].kind: invalid' } })
        : { status: 202 };
    const { client } = start(server.port);
    client.publish(finding(1));
    await until(() => client.stats.rejected === 1);
    client.publish(finding(2));
    await until(() => server.findingIds.length === 1);
    expect(server.findingIds).toEqual(['f2']);
  });

  it('delivers what is buffered when it is stopped', async () => {
    const server = await new IngestServer().start();
    servers.push(server);
    const { client, controller, done } = start(server.port, { flushIntervalMs: 60_000 });
    client.publish(finding(1));
    client.publish(finding(2));
    controller.abort();
    await done;
    expect(server.findingIds).toEqual(['f1', 'f2']);
  });
});
