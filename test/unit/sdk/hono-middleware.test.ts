import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHindsight } from '../../../src/sdk/index.js';
import type { Hindsight } from '../../../src/sdk/index.js';
import type { WireRequestEvent } from '../../../src/sdk/wire-event.js';
import { startEventReceiver } from '../../support/sdk-event-receiver.js';
import type { EventReceiver } from '../../support/sdk-event-receiver.js';
import { createPgStub } from './pg-stub.js';

class StockError extends Error {}

let receiver: EventReceiver;
let hindsight: Hindsight;
let server: ServerType;
let base: string;
const pg = createPgStub();

beforeAll(async () => {
  receiver = await startEventReceiver();
  hindsight = createHindsight({ service: 'shop', endpoint: receiver.url, token: 't', flushIntervalMs: 50 });
  hindsight.instrumentPg(pg.module);
  const app = new Hono();
  app.use(hindsight.hono());
  const api = new Hono();
  api.get('/orders/:id', (c) => {
    hindsight.identify(c.req.param('id'));
    return c.json({ ok: true });
  });
  api.post('/cart/:id/items', async (c) => {
    const body = await c.req.json<{ user: string }>();
    hindsight.identify(body.user);
    throw new StockError('out of stock');
  });
  api.get('/teapot', () => {
    throw new HTTPException(418, { message: 'short and stout' });
  });
  api.put('/stock/:sku', async (c) => {
    await pg.client.query('SELECT 1');
    await pg.client.query('UPDATE stock FAIL 40P01');
    return c.body(null, 204);
  });
  app.route('/api', api);
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => {
      resolve();
    });
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await hindsight.close();
  await new Promise((resolve) => server.close(resolve));
  await receiver.close();
});

const requests = (): WireRequestEvent[] =>
  receiver.events().filter((e): e is WireRequestEvent => e.kind === 'request');

describe('hindsight.hono() on a real Hono server (@hono/node-server)', () => {
  it('records the matched handler’s route template, status, duration and hashed user', async () => {
    expect((await fetch(`${base}/api/orders/99`)).status).toBe(200);
    await receiver.waitFor(() => requests().length >= 1);
    const event = requests()[0]!;
    expect(event).toMatchObject({
      method: 'GET',
      route: '/api/orders/:id',
      status: 200,
      errorClass: null,
      release: null,
    });
    expect(event.user).toMatch(/^[0-9a-f]{32}$/);
    expect(event.durationMs).toBeGreaterThan(0);
  });

  it('names the error class Hono caught (c.error), the user identified after reading the body', async () => {
    const res = await fetch(`${base}/api/cart/5/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'carol' }),
    });
    expect(res.status).toBe(500);
    await receiver.waitFor(() => requests().length >= 2);
    const event = requests()[1]!;
    expect(event).toMatchObject({
      method: 'POST',
      route: '/api/cart/:id/items',
      status: 500,
      errorClass: 'StockError',
    });
    expect(event.user).toMatch(/^[0-9a-f]{32}$/);
  });

  it('keeps the status an HTTPException chose', async () => {
    expect((await fetch(`${base}/api/teapot`)).status).toBe(418);
    await receiver.waitFor(() => requests().length >= 3);
    expect(requests()[2]).toMatchObject({ route: '/api/teapot', status: 418, errorClass: 'HTTPException' });
  });

  it('links the request’s failed statements to it, and tags each statement with the handler’s route template', async () => {
    const before = requests().length;
    expect((await fetch(`${base}/api/stock/abc`, { method: 'PUT' })).status).toBe(500);
    await receiver.waitFor(() => requests().length > before);
    expect(requests().at(-1)).toMatchObject({
      route: '/api/stock/:sku',
      status: 500,
      errorClass: 'DatabaseError',
      sqlFailures: [{ sqlstate: '40P01' }],
    });
    expect(pg.statements.at(-2)).toContain("route='PUT%20%2Fapi%2Fstock%2F%3Asku'");
  });

  it('calls a request no handler matched (unmatched)', async () => {
    expect((await fetch(`${base}/nothing/here`)).status).toBe(404);
    await receiver.waitFor(() => requests().some((r) => r.status === 404));
    expect(requests().find((r) => r.status === 404)).toMatchObject({
      route: '(unmatched)',
      status: 404,
      errorClass: null,
    });
  });
});
