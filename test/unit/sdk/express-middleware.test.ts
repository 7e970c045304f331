import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHindsight } from '../../../src/sdk/index.js';
import type { Hindsight } from '../../../src/sdk/index.js';
import type { WireRequestEvent } from '../../../src/sdk/wire-event.js';
import { startEventReceiver } from '../../support/sdk-event-receiver.js';
import type { EventReceiver } from '../../support/sdk-event-receiver.js';
import { createPgStub } from './pg-stub.js';

class CheckoutError extends Error {}

let receiver: EventReceiver;
let hindsight: Hindsight;
let server: Server;
let base: string;
const pg = createPgStub();

beforeAll(async () => {
  receiver = await startEventReceiver();
  hindsight = createHindsight({
    service: 'shop',
    release: 'v1',
    endpoint: receiver.url,
    token: 'tok-123',
    flushIntervalMs: 50,
  });
  hindsight.instrumentPg(pg.module);
  const app = express();
  app.use(hindsight.express());
  app.use(express.json());
  const api = express.Router();
  api.get('/orders/:id', (req, res) => {
    hindsight.identify(`user-${req.params.id}`);
    res.json({ id: req.params.id });
  });
  api.post('/checkout', async (req, res) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    hindsight.identify((req.body as { user: string }).user); // after body parsing and a timer: still in the request's scope
    throw new CheckoutError('no stock');
    res.end();
  });
  api.put('/stock/:sku', async (_req, res) => {
    await pg.client.query('SELECT 1');
    await pg.client.query('UPDATE stock FAIL 40P01');
    res.end();
  });
  app.use('/api', api);
  app.use(hindsight.expressErrors());
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await hindsight.close();
  await new Promise((resolve) => server.close(resolve));
  await receiver.close();
});

const requests = (): WireRequestEvent[] =>
  receiver.events().filter((e): e is WireRequestEvent => e.kind === 'request');

describe('hindsight.express() on a real Express 5 server', () => {
  it('records method, route template (with the router mount), status, duration, hashed user and release', async () => {
    expect((await fetch(`${base}/api/orders/42`)).status).toBe(200);
    expect((await fetch(`${base}/api/orders/43`)).status).toBe(200);
    const events = await receiver.waitFor((e) => e.length >= 2);
    const [first, second] = events as WireRequestEvent[];
    expect(first).toMatchObject({
      kind: 'request',
      method: 'GET',
      route: '/api/orders/:id',
      status: 200,
      errorClass: null,
      release: 'v1',
      sqlFailures: [],
    });
    expect(first!.durationMs).toBeGreaterThan(0);
    expect(first!.durationMs).toBeLessThan(5000);
    expect(first!.user).toMatch(/^[0-9a-f]{32}$/);
    expect(first!.user).not.toBe(second!.user);
    expect(JSON.stringify(receiver.batches)).not.toContain('user-42');
  });

  it('names the error class of a request that threw, and keeps the scope across body parsing', async () => {
    const before = requests().length;
    const res = await fetch(`${base}/api/checkout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'alice' }),
    });
    expect(res.status).toBe(500);
    await receiver.waitFor(() => requests().length > before);
    const event = requests().at(-1)!;
    expect(event).toMatchObject({
      method: 'POST',
      route: '/api/checkout',
      status: 500,
      errorClass: 'CheckoutError',
    });
    expect(event.user).toMatch(/^[0-9a-f]{32}$/);
  });

  it('links the request’s failed statements to it, and tags each statement with its route template', async () => {
    const before = requests().length;
    expect((await fetch(`${base}/api/stock/abc`, { method: 'PUT' })).status).toBe(500);
    await receiver.waitFor(() => requests().length > before);
    expect(requests().at(-1)).toMatchObject({
      route: '/api/stock/:sku',
      status: 500,
      errorClass: 'DatabaseError',
      sqlFailures: [{ sqlstate: '40P01' }],
    });
    expect(pg.statements.at(-2)).toMatch(
      /^\/\*callsite='[^']+',release='v1',route='PUT%20%2Fapi%2Fstock%2F%3Asku',service='shop'\*\/ SELECT 1$/,
    );
  });

  it('calls a request no route matched (unmatched), not its raw path', async () => {
    const before = requests().length;
    expect((await fetch(`${base}/nope/123`)).status).toBe(404);
    await receiver.waitFor(() => requests().length > before);
    expect(requests().at(-1)).toMatchObject({ route: '(unmatched)', status: 404, user: null });
  });

  it('posts gzipped JSON batches with the bearer token to /api/v1/events', async () => {
    await hindsight.flush();
    const [request] = receiver.requests;
    expect(request).toMatchObject({ path: '/api/v1/events' });
    expect(request!.headers).toMatchObject({
      authorization: 'Bearer tok-123',
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(receiver.batches[0]).toMatchObject({ service: 'shop', sdk: 'hindsight-node/0.1.0', dropped: 0 });
    expect(hindsight.stats()).toMatchObject({ dropped: 0, failedSends: 0, buffered: 0 });
    expect(hindsight.stats().sent).toBe(receiver.events().length);
  });
});
