import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHindsight } from '../../../src/sdk/index.js';
import type { Hindsight } from '../../../src/sdk/index.js';
import type { WireRequestEvent } from '../../../src/sdk/wire-event.js';
import { startEventReceiver } from '../../support/sdk-event-receiver.js';
import type { EventReceiver } from '../../support/sdk-event-receiver.js';
import { createPgStub } from './pg-stub.js';

class PaymentDeclined extends Error {}

let receiver: EventReceiver;
let hindsight: Hindsight;
let app: FastifyInstance;
let base: string;
const pg = createPgStub();

beforeAll(async () => {
  receiver = await startEventReceiver();
  hindsight = createHindsight({
    service: 'shop',
    release: 'v3',
    endpoint: receiver.url,
    token: 't',
    flushIntervalMs: 50,
  });
  hindsight.instrumentPg(pg.module);
  app = Fastify();
  await app.register(hindsight.fastify());
  await app.register(
    (child, _opts, done) => {
      child.get('/orders/:id', (request, reply) => {
        hindsight.identify((request.params as { id: string }).id);
        return reply.send({ ok: true });
      });
      child.post('/pay', async (request) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        hindsight.identify((request.body as { user: string }).user);
        throw new PaymentDeclined('declined');
      });
      child.put('/stock/:sku', async (_request, reply) => {
        await pg.client.query('SELECT 1');
        await pg.client.query('UPDATE stock FAIL 40P01').catch(() => null);
        return reply.code(503).send();
      });
      done();
    },
    { prefix: '/api' },
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  base = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await hindsight.close();
  await app.close();
  await receiver.close();
});

const requests = (): WireRequestEvent[] =>
  receiver.events().filter((e): e is WireRequestEvent => e.kind === 'request');

describe('hindsight.fastify() on a real Fastify 5 server', () => {
  it('records the route template (with the encapsulated prefix), status, duration, hashed user and release', async () => {
    expect((await fetch(`${base}/api/orders/7`)).status).toBe(200);
    await receiver.waitFor(() => requests().length >= 1);
    const event = requests()[0]!;
    expect(event).toMatchObject({
      method: 'GET',
      route: '/api/orders/:id',
      status: 200,
      errorClass: null,
      release: 'v3',
      sqlFailures: [],
    });
    expect(event.user).toMatch(/^[0-9a-f]{32}$/);
    expect(event.durationMs).toBeGreaterThan(0);
  });

  it('names the error class from onError; the handler after body parsing still runs in the request scope', async () => {
    const res = await fetch(`${base}/api/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'bob' }),
    });
    expect(res.status).toBe(500);
    await receiver.waitFor(() => requests().length >= 2);
    const event = requests()[1]!;
    expect(event).toMatchObject({
      method: 'POST',
      route: '/api/pay',
      status: 500,
      errorClass: 'PaymentDeclined',
    });
    expect(event.user).toMatch(/^[0-9a-f]{32}$/);
  });

  it('calls a 404 (unmatched)', async () => {
    expect((await fetch(`${base}/missing/1`)).status).toBe(404);
    await receiver.waitFor(() => requests().length >= 3);
    expect(requests()[2]).toMatchObject({ route: '(unmatched)', status: 404 });
  });

  it('links the request’s failed statements to it, and tags each statement with its route template', async () => {
    expect((await fetch(`${base}/api/stock/abc`, { method: 'PUT' })).status).toBe(503);
    await receiver.waitFor(() => requests().length >= 4);
    expect(requests()[3]).toMatchObject({
      route: '/api/stock/:sku',
      status: 503,
      errorClass: 'DatabaseError',
      sqlFailures: [{ sqlstate: '40P01' }],
    });
    expect(pg.statements.at(-2)).toContain("route='PUT%20%2Fapi%2Fstock%2F%3Asku'");
  });
});
