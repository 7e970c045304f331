import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashUserId } from '../../../../src/api/integrations/otlp/otlp-span-converter.js';
import type { QueryFailure, RequestOutcome } from '../../../../src/core/app-signal.js';
import { normalizeQuery } from '../../../../src/core/query-normalizer.js';
import { systemClock } from '../../../../src/platform/system-clock.js';
import { createApiHarness } from '../../../support/api-harness.js';
import { createTestDatabase, type TestDatabase } from '../../../support/database.js';
import { otelAppCallSite, startOtelApp } from '../../../support/otel-app-process.js';
import { createOtlpReceiver, listenOtlpReceiver } from '../../../support/otlp-receiver.js';

/**
 * The OpenTelemetry path end to end: a node:http app instrumented with the real OTel Node SDK (http
 * and pg instrumentations, the OTLP/HTTP exporters) deadlocks inside a request on the real
 * PostgreSQL and exports to `/v1/traces` on a listening server; the events handed to the receiver
 * carry the 500, the 40P01, the normalized statement and its call site — once per exporter.
 */

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('otlp');
  const c = await db.connect();
  await c.query('CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)');
  await c.query('INSERT INTO accounts VALUES (1, 100), (2, 100)');
  await c.end();
});

afterAll(async () => {
  await db.drop();
});

describe.each([
  {
    protocol: 'proto',
    label: 'protobuf exporter, gzip',
    contentType: 'application/x-protobuf',
    compression: 'gzip',
  },
  { protocol: 'json', label: 'JSON exporter', contentType: 'application/json', compression: 'none' },
])('OTLP from the real OpenTelemetry Node SDK ($label)', ({ protocol, contentType, compression }) => {
  it('turns a deadlocked request into a 500 with the 40P01, its statement and its call site; a failed job statement into a query failure', async () => {
    const receiver = await createOtlpReceiver();
    // The spans carry real times; the receiver refuses those over an hour ahead of its clock.
    receiver.clock.set(systemClock.now());
    const server = await listenOtlpReceiver(receiver.app);
    try {
      const app = await startOtelApp({
        DATABASE_URL: db.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: server.url,
        HINDSIGHT_TOKEN: receiver.secrets.ingest,
        OTEL_EXPORTER_OTLP_COMPRESSION: compression,
        OTLP_PROTOCOL: protocol,
      });
      const checkout = await fetch(`${app.url}/checkout`, {
        method: 'POST',
        headers: { 'x-user': 'user-17' },
      });
      expect(checkout.status, app.stderr()).toBe(500);
      const job = await fetch(`${app.url}/jobs/restock`, { method: 'POST' });
      expect(await job.text()).toBe('23505');
      expect(await app.stop(), app.stderr()).toBe(0);

      expect(receiver.seen.length).toBeGreaterThan(0);
      for (const request of receiver.seen) {
        expect(request).toEqual({
          contentType,
          contentEncoding: compression === 'gzip' ? 'gzip' : undefined,
        });
      }
      const events = receiver.received.events;
      const requests = events.filter((e): e is RequestOutcome => e.kind === 'request');
      const checkoutOutcome = requests.find((r) => r.route === '/checkout');
      expect(checkoutOutcome).toMatchObject({
        service: 'shop',
        release: 'v2',
        method: 'POST',
        status: 500,
        user: hashUserId('shop', 'user-17'),
        errorClass: null,
      });
      expect(checkoutOutcome?.sqlFailures).toEqual([
        {
          sqlstate: '40P01',
          query: normalizeQuery('UPDATE accounts SET balance = balance - 1 WHERE id = $1'),
          callSite: otelAppCallSite('// deadlock-victim-line'),
        },
      ]);
      expect(checkoutOutcome?.sqlFailures[0]?.query).toMatch(
        /^UPDATE accounts SET balance = balance - \$1 WHERE id = \$2$/,
      );
      expect(checkoutOutcome?.durationMs).toBeGreaterThan(100);
      expect(requests.find((r) => r.route === '/jobs/restock')).toMatchObject({
        status: 202,
        sqlFailures: [],
      });

      const failures = events.filter((e): e is QueryFailure => e.kind === 'query_failure');
      expect(failures).toEqual([
        {
          kind: 'query_failure',
          service: 'shop',
          at: expect.any(Number) as number,
          job: 'restock',
          release: 'v2',
          failure: {
            sqlstate: '23505',
            query: 'INSERT INTO accounts (id, balance) VALUES ($1, $2)',
            callSite: otelAppCallSite("/*job='restock'*/"),
          },
        },
      ]);
      // Only the deadlock victim and the duplicate key failed: the restock job's own statements did not.
      expect(
        events
          .flatMap((e) => (e.kind === 'request' ? e.sqlFailures : [e.failure]))
          .map((f) => f.sqlstate)
          .sort(),
      ).toEqual(['23505', '40P01']);
    } finally {
      await server.close();
    }
  });
});

describe('OTLP from the real OpenTelemetry Node SDK into the API as serve wires it', () => {
  it("lands in the rollups as the SDK's events do: the failure of POST /checkout under 40P01 at its call site, the user among the failed, the job under JOB", async () => {
    const h = await createApiHarness();
    h.clock.set(systemClock.now());
    const token = (await h.tokens.create({ name: 'shop-otel', role: 'ingest' })).secret;
    const server = await listenOtlpReceiver(h.app);
    try {
      const app = await startOtelApp({
        DATABASE_URL: db.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: server.url,
        HINDSIGHT_TOKEN: token,
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
        OTLP_PROTOCOL: 'proto',
      });
      expect(
        (await fetch(`${app.url}/checkout`, { method: 'POST', headers: { 'x-user': 'user-17' } })).status,
      ).toBe(500);
      expect(await (await fetch(`${app.url}/jobs/restock`, { method: 'POST' })).text()).toBe('23505');
      expect(await app.stop(), app.stderr()).toBe(0);

      const rollups = await h.store.signals.list({ since: 0 });
      const checkout = rollups.find((r) => r.route === '/checkout');
      expect(checkout).toMatchObject({
        service: 'shop',
        method: 'POST',
        requests: 1,
        failures: 1,
        failedUsers: [hashUserId('shop', 'user-17')],
        releases: ['v2'],
      });
      expect(checkout?.causes).toEqual([
        {
          sqlstate: '40P01',
          callSite: otelAppCallSite('// deadlock-victim-line'),
          query: 'UPDATE accounts SET balance = balance - $1 WHERE id = $2',
          errorClass: null,
          count: 1,
        },
      ]);
      expect(rollups.find((r) => r.method === 'JOB')).toMatchObject({
        service: 'shop',
        route: 'restock',
        failures: 1,
        causes: [expect.objectContaining({ sqlstate: '23505' })],
      });
    } finally {
      await server.close();
    }
  });
});
