import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { eventBatchReplySchema, deploySchema } from '../../../src/api/schemas/event-schemas.js';
import { createApiHarness as createHarness, errorOf, openIncident } from '../../support/api-harness.js';

/** The API harness with an ingest token (what an app's SDK holds) besides one per other role. */
async function createApiHarness(options: Parameters<typeof createHarness>[0] = {}) {
  const h = await createHarness(options);
  return { ...h, ingest: (await h.tokens.create({ name: 'ian', role: 'ingest' })).secret };
}

const checkout = (over: Record<string, unknown> = {}) => ({
  kind: 'request',
  at: Date.parse('2026-11-30T15:38:01.123Z'),
  method: 'post',
  route: '/checkout',
  status: 500,
  durationMs: 12.5,
  user: '9f2c',
  errorClass: 'DatabaseError',
  release: 'v2',
  sqlFailures: [
    {
      sqlstate: '40P01',
      query: 'UPDATE inventory SET stock = stock - $1 WHERE product_id = $2',
      callSite: 'demo/shop/checkout.ts:88',
    },
  ],
  ...over,
});

const restock = {
  kind: 'query_failure',
  at: Date.parse('2026-11-30T15:38:02Z'),
  job: 'restock',
  release: 'v2',
  failure: {
    sqlstate: '40P01',
    query: 'UPDATE products SET n = n + $1',
    callSite: 'demo/shop/restock.ts:20',
  },
};

describe('POST /api/v1/events', () => {
  it('stores valid events and lists each invalid one with its index and problem', async () => {
    const h = await createApiHarness();
    const reply = await h.call('POST', '/api/v1/events', {
      token: h.ingest,
      body: {
        service: 'shop',
        sdk: 'hindsight-node/0.1.0',
        dropped: 7,
        events: [
          checkout(),
          checkout({ status: 700 }),
          restock,
          { kind: 'page_view' },
          checkout({ user: null, status: 200, errorClass: null, sqlFailures: [] }),
        ],
      },
    });
    expect(reply.status).toBe(202);
    expect(eventBatchReplySchema.parse(reply.body)).toEqual({
      accepted: 3,
      rejected: [
        { index: 1, problem: 'events[1].status: expected an integer 100–599' },
        { index: 3, problem: 'events[3].kind: expected kind "request" or "query_failure"' },
      ],
    });
    const rollups = await h.store.signals.list({ since: 0 });
    expect(rollups.map((r) => [r.service, r.method, r.route, r.requests, r.failures])).toEqual([
      ['shop', 'JOB', 'restock', 1, 1],
      ['shop', 'POST', '/checkout', 2, 1],
    ]);
    expect(rollups[1]?.causes[0]).toMatchObject({
      sqlstate: '40P01',
      callSite: 'demo/shop/checkout.ts:88',
      count: 1,
    });
    const metrics = await h.call('GET', '/metrics', { token: h.secrets.viewer });
    expect(metrics.text).toContain('hindsight_app_events_total{outcome="accepted"} 3');
    expect(metrics.text).toContain('hindsight_app_events_total{outcome="rejected"} 2');
    expect(metrics.text).toContain('hindsight_app_events_total{outcome="dropped"} 7');
  });

  it('rejects an event far ahead of the server clock, and text with NUL characters', async () => {
    const h = await createApiHarness();
    const reply = await h.call('POST', '/api/v1/events', {
      token: h.ingest,
      body: {
        service: 'shop',
        events: [checkout({ at: h.clock.now() + 2 * 3_600_000 }), checkout({ route: '/a\u0000b' })],
      },
    });
    const body = eventBatchReplySchema.parse(reply.body);
    expect(body.accepted).toBe(0);
    expect(body.rejected.map((r) => r.problem)).toEqual([
      expect.stringMatching(/^events\[0\]\.at: .* ahead of the server's clock/),
      'events[1].route: must not contain NUL characters',
    ]);
  });

  it('answers 400 for a body that is not a batch, 401 without a token, 403 for a viewer', async () => {
    const h = await createApiHarness();
    const bad = await h.call('POST', '/api/v1/events', { token: h.ingest, body: { events: [checkout()] } });
    expect(bad.status).toBe(400);
    expect(errorOf(bad).message).toMatch(/^body\.service: /);
    const tooMany = await h.call('POST', '/api/v1/events', {
      token: h.ingest,
      body: { service: 'shop', events: Array.from({ length: 5_001 }, () => checkout()) },
    });
    expect(errorOf(tooMany).message).toContain('at most 5000 events');
    expect((await h.call('POST', '/api/v1/events', { token: h.ingest, raw: '{not json' })).status).toBe(400);
    expect(
      (await h.call('POST', '/api/v1/events', { body: { service: 'shop', events: [checkout()] } })).status,
    ).toBe(401);
    expect(
      (
        await h.call('POST', '/api/v1/events', {
          token: h.secrets.viewer,
          body: { service: 'shop', events: [checkout()] },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await h.call('POST', '/api/v1/events', {
          token: h.secrets.responder,
          body: { service: 'shop', events: [checkout()] },
        })
      ).status,
    ).toBe(202);
  });

  it('reads a gzip body, and answers 413 when it inflates past the limit (a gzip bomb), 415 for another encoding', async () => {
    const h = await createApiHarness({ api: { maxIngestBodyBytes: 64 * 1024 } });
    const batch = JSON.stringify({
      service: 'shop',
      events: Array.from({ length: 100 }, (_, i) => checkout({ user: `u${i}` })),
    });
    const gz = (text: string) => new Uint8Array(gzipSync(text));
    const ok = await h.call('POST', '/api/v1/events', {
      token: h.ingest,
      raw: gz(batch),
      headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' },
    });
    expect(ok.status).toBe(202);
    expect(eventBatchReplySchema.parse(ok.body).accepted).toBe(100);
    // 10 MB of spaces: about 10 KB compressed, under the limit on the wire, far over it inflated.
    const bomb = gz(`${' '.repeat(10_000_000)}{}`);
    expect(bomb.length).toBeLessThan(64 * 1024);
    const big = await h.call('POST', '/api/v1/events', {
      token: h.ingest,
      raw: bomb,
      headers: { 'content-encoding': 'gzip' },
    });
    expect(big.status).toBe(413);
    expect(errorOf(big).code).toBe('PAYLOAD_TOO_LARGE');
    const plainBig = await h.call('POST', '/api/v1/events', { token: h.ingest, raw: ' '.repeat(70 * 1024) });
    expect(plainBig.status).toBe(413);
    const br = await h.call('POST', '/api/v1/events', {
      token: h.ingest,
      raw: batch,
      headers: { 'content-encoding': 'br' },
    });
    expect(br.status).toBe(415);
    const notGzip = await h.call('POST', '/api/v1/events', {
      token: h.ingest,
      raw: batch,
      headers: { 'content-encoding': 'gzip' },
    });
    expect(errorOf(notGzip).code).toBe('INVALID_GZIP');
  });

  it('lets an ingest token send (events, deploys, agent pushes) and read nothing', async () => {
    const h = await createApiHarness();
    expect((await h.call('GET', '/api/v1/incidents', { token: h.ingest })).status).toBe(403);
    expect((await h.call('GET', '/api/v1/deploys', { token: h.ingest })).status).toBe(403);
    expect(
      (await h.call('POST', '/api/v1/tokens', { token: h.ingest, body: { name: 'x', role: 'admin' } }))
        .status,
    ).toBe(403);
    expect(
      (
        await h.call('POST', '/api/v1/ingest/findings', {
          token: h.ingest,
          body: { agent: 'a', findings: [], health: [] },
        })
      ).status,
    ).toBe(202);
    expect(
      (await h.call('POST', '/api/v1/deploys', { token: h.ingest, body: { service: 'shop', version: 'v2' } }))
        .status,
    ).toBe(201);
    const created = await h.call('POST', '/api/v1/tokens', {
      token: h.secrets.admin,
      body: { name: 'shop-sdk', role: 'ingest' },
    });
    expect(created.status).toBe(201);
  });
});

describe('/api/v1/deploys', () => {
  it('records a deploy, notes it on the open incidents of its service, and lists deploys newest first', async () => {
    const h = await createApiHarness();
    const incidentId = await openIncident(h);
    const first = await h.call('POST', '/api/v1/deploys', {
      token: h.ingest,
      body: { service: 'shop', version: 'v2', commit: 'abc123def4567890', at: 1_000 },
    });
    expect(first.status).toBe(201);
    expect(deploySchema.parse(first.body)).toMatchObject({
      service: 'shop',
      version: 'v2',
      commit: 'abc123def4567890',
      at: 1_000,
      actor: 'ian',
    });
    h.clock.advance(5_000);
    const second = deploySchema.parse(
      (
        await h.call('POST', '/api/v1/deploys', {
          token: h.secrets.admin,
          body: { service: 'shop', version: 'v2.1' },
        })
      ).body,
    );
    expect(second).toMatchObject({ commit: null, at: h.clock.now(), actor: 'alice' });
    await h.call('POST', '/api/v1/deploys', {
      token: h.secrets.admin,
      body: { service: 'billing', version: 'b9' },
    });

    const timeline = await h.store.timeline.list(incidentId);
    expect(timeline.filter((e) => e.kind === 'deploy').map((e) => [e.text, e.actor])).toEqual([
      ['deploy v2 (abc123def456) of shop', 'token:ian'],
      ['deploy v2.1 of shop', 'token:alice'],
    ]);

    const listed = await h.call('GET', '/api/v1/deploys?service=shop&limit=20', { token: h.secrets.viewer });
    expect((listed.body as { deploys: { version: string }[] }).deploys.map((d) => d.version)).toEqual([
      'v2.1',
      'v2',
    ]);
    const bad = await h.call('POST', '/api/v1/deploys', {
      token: h.secrets.admin,
      body: { service: 'shop', version: '' },
    });
    expect(errorOf(bad).message).toContain('body.version: expected the version deployed');
  });
});
