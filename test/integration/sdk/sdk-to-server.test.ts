import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { serve } from '@hono/node-server';
import type { ServerType } from '@hono/node-server';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventBatchSchema } from '../../../src/api/schemas/event-schemas.js';
import { createHindsight } from '../../../src/sdk/index.js';
import type { Hindsight } from '../../../src/sdk/index.js';
import { createApiHarness } from '../../support/api-harness.js';
import type { ApiHarness } from '../../support/api-harness.js';
import { createTestDatabase } from '../../support/database.js';
import type { TestDatabase } from '../../support/database.js';

/**
 * The SDK against the real `POST /api/v1/events` (the API as serve wires it, on the memory store,
 * served over HTTP): what the SDK sends passes the server's schema item by item and lands in the
 * rollups with its SQLSTATE and call site; each body, as it arrived, also passes the documented batch
 * schema whole.
 */
let db: TestDatabase;
let h: ApiHarness;
let api: ServerType;
let app: Server;
let hindsight: Hindsight;
let pool: pg.Pool;
const bodies: unknown[] = [];

beforeAll(async () => {
  db = await createTestDatabase('sdk_srv');
  h = await createApiHarness();
  await new Promise<void>((resolve) => {
    api = serve(
      {
        fetch: async (request: Request) => {
          if (request.method === 'POST')
            bodies.push(
              JSON.parse(gunzipSync(Buffer.from(await request.clone().arrayBuffer())).toString('utf8')),
            );
          return h.app.fetch(request);
        },
        port: 0,
        hostname: '127.0.0.1',
      },
      () => {
        resolve();
      },
    );
  });
  hindsight = createHindsight({
    service: 'shop',
    release: 'v2',
    token: (await h.tokens.create({ name: 'shop-sdk', role: 'ingest' })).secret,
    endpoint: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
    appRoot: join(import.meta.dirname, '../../..'),
    now: () => h.clock.now(), // the harness's fake clock: the server refuses events from its future
  });
  hindsight.instrumentPg(pg);
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  await pool.query('CREATE TABLE orders (id int PRIMARY KEY)');
  await pool.query('INSERT INTO orders VALUES (1)');
  app = createServer(
    hindsight.http(async (req: IncomingMessage, res: ServerResponse) => {
      hindsight.identify('user-7');
      try {
        const id = req.url === '/orders/1' ? 1 : Math.floor(Math.random() * 1e9) + 2;
        await pool.query('INSERT INTO orders VALUES ($1)', [id]); // site: insert
        res.writeHead(201).end();
      } catch {
        res.writeHead(500).end();
      }
    }),
  );
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await hindsight.close();
  await new Promise((resolve) => app.close(resolve));
  await new Promise((resolve) => api.close(resolve));
  await pool.end();
  await db.drop();
});

describe('SDK → POST /api/v1/events (the real route)', () => {
  it('every event is accepted and lands in the rollups with its SQLSTATE and call site', async () => {
    const base = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    for (const path of ['/orders/2', '/orders/3', '/orders/1'])
      await (await fetch(`${base}${path}`, { method: 'PUT' })).text();
    await hindsight.job('restock', () => pool.query('SELECT 1 / 0').catch(() => null));
    await hindsight.flush();
    expect(hindsight.stats()).toMatchObject({
      sent: 4,
      rejected: 0,
      failedSends: 0,
      dropped: 0,
      buffered: 0,
    });

    const rollups = await h.store.signals.list({ since: 0 });
    const put = rollups.find((r) => r.method === 'PUT');
    expect(put).toMatchObject({
      service: 'shop',
      route: '/orders/:id',
      requests: 3,
      failures: 1,
      releases: ['v2'],
    });
    expect(put!.users).toHaveLength(1);
    expect(put!.causes[0]).toMatchObject({
      sqlstate: '23505',
      query: 'INSERT INTO orders VALUES ($1)',
      count: 1,
    });
    expect(put!.causes[0]!.callSite).toMatch(/^test\/integration\/sdk\/sdk-to-server\.test\.ts:\d+$/);
    expect(rollups.find((r) => r.method === 'JOB')).toMatchObject({ route: 'restock', failures: 1 });

    expect(bodies).toHaveLength(1);
    const parsed = eventBatchSchema.safeParse(bodies[0]);
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
  });
});
