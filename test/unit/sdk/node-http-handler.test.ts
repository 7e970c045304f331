import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHindsight, routeFromPath } from '../../../src/sdk/index.js';
import type { Hindsight } from '../../../src/sdk/index.js';
import type { WireRequestEvent } from '../../../src/sdk/wire-event.js';
import { startEventReceiver } from '../../support/sdk-event-receiver.js';
import type { EventReceiver } from '../../support/sdk-event-receiver.js';
import { createPgStub } from './pg-stub.js';

class InventoryError extends Error {}

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

let receiver: EventReceiver;
let hindsight: Hindsight;
const servers: Server[] = [];
const pg = createPgStub();

beforeAll(async () => {
  receiver = await startEventReceiver();
  hindsight = createHindsight({
    service: 'shop',
    release: 'v2',
    endpoint: receiver.url,
    token: 't',
    flushIntervalMs: 50,
  });
  hindsight.instrumentPg(pg.module);
});

afterAll(async () => {
  await hindsight.close();
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  await receiver.close();
});

const requests = (): WireRequestEvent[] =>
  receiver.events().filter((e): e is WireRequestEvent => e.kind === 'request');

describe('routeFromPath (the default template for plain node:http)', () => {
  it('drops the query and turns numbers, UUIDs and long hex with a digit into :id', () => {
    expect(routeFromPath('/orders/42?expand=1')).toBe('/orders/:id');
    expect(routeFromPath('/u/3f2a9c1e-7b4d-4e8a-9c2b-1d2e3f4a5b6c/cart')).toBe('/u/:id/cart');
    expect(routeFromPath('/objects/65a1f0c2e4b0a1b2c3d4e5f6')).toBe('/objects/:id');
    expect(routeFromPath('/products/deadbeef/v2')).toBe('/products/deadbeef/v2');
    expect(routeFromPath('/health')).toBe('/health');
    expect(routeFromPath('/v1/orders/42/')).toBe('/v1/orders/:id/');
    expect(routeFromPath('/U/3F2A9C1E-7B4D-4E8A-9C2B-1D2E3F4A5B6C')).toBe('/U/:id');
    expect(routeFromPath('/a/1-2-3')).toBe('/a/1-2-3');
    expect(routeFromPath('/7')).toBe('/:id');
    expect(routeFromPath(undefined)).toBe('/');
  });
});

describe('hindsight.http(handler) on a real node:http server', () => {
  it('records a templated route, status, duration, user and release; the handler sees its own req/res', async () => {
    const server = createServer(
      hindsight.http((req: IncomingMessage, res: ServerResponse) => {
        hindsight.identify(42);
        res.writeHead(201).end(req.url);
      }),
    );
    servers.push(server);
    const base = await listen(server);
    const res = await fetch(`${base}/orders/17?x=1`, { method: 'POST' });
    expect(res.status).toBe(201);
    expect(await res.text()).toBe('/orders/17?x=1');
    await receiver.waitFor(() => requests().length >= 1);
    const event = requests()[0]!;
    expect(event).toMatchObject({
      method: 'POST',
      route: '/orders/:id',
      status: 201,
      errorClass: null,
      release: 'v2',
    });
    expect(event.user).toMatch(/^[0-9a-f]{32}$/);
    expect(event.durationMs).toBeGreaterThan(0);
  });

  it('takes the route from routeOf, and the error class of a rejected async handler (the rejection still reaches the caller)', async () => {
    let rejected: unknown = null;
    const handler = hindsight.http(
      async (_req: IncomingMessage, _res: ServerResponse) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        throw new InventoryError('gone');
      },
      { routeOf: () => '/inventory/:sku' },
    );
    const server = createServer((req, res) => {
      (handler(req, res) as Promise<void>).catch((error: unknown) => {
        rejected = error;
        res.writeHead(500).end();
      });
    });
    servers.push(server);
    const base = await listen(server);
    expect((await fetch(`${base}/inventory/abc`)).status).toBe(500);
    expect(rejected).toBeInstanceOf(InventoryError);
    await receiver.waitFor(() => requests().length >= 2);
    expect(requests()[1]).toMatchObject({
      method: 'GET',
      route: '/inventory/:sku',
      status: 500,
      errorClass: 'InventoryError',
    });
  });

  it('links the request’s failed statements to it (AsyncLocalStorage across awaits), tagged with the route', async () => {
    const server = createServer(
      hindsight.http(async (_req: IncomingMessage, res: ServerResponse) => {
        await pg.client.query('SELECT 1');
        const failed = await pg.client.query('UPDATE stock FAIL 40001').catch(() => null);
        res.writeHead(failed === null ? 409 : 200).end();
      }),
    );
    servers.push(server);
    const base = await listen(server);
    expect((await fetch(`${base}/stock/123`, { method: 'PATCH' })).status).toBe(409);
    await receiver.waitFor(() => requests().length >= 3);
    expect(requests()[2]).toMatchObject({
      route: '/stock/:id',
      status: 409,
      errorClass: null,
      sqlFailures: [{ sqlstate: '40001', query: 'UPDATE stock FAIL $1' }],
    });
    expect(pg.statements.at(-2)).toContain("route='PATCH%20%2Fstock%2F%3Aid'");
  });
});
