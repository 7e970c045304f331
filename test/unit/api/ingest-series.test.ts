import { describe, expect, it } from 'vitest';
import { FindingPushClient } from '../../../src/agent/push/finding-push-client.js';
import { seriesAccumulator } from '../../../src/core/metrics-series.js';
import { createApiHarness } from '../../support/api-harness.js';
import { sample, session } from '../../support/sample-builder.js';

describe('agent push of database metrics (POST /api/v1/ingest/findings with series)', () => {
  it("accepts an older agent's body without series, and stores the points and statements a newer one sends", async () => {
    const h = await createApiHarness();
    const token = h.secrets.responder;
    const old = await h.call('POST', '/api/v1/ingest/findings', {
      token,
      body: { agent: 'old-agent', findings: [], health: [] },
    });
    expect(old.status).toBe(202);
    const at = Math.floor(h.clock.now() / 10_000) * 10_000 - 60_000;
    const reply = await h.call('POST', '/api/v1/ingest/findings', {
      token,
      body: {
        agent: 'a1',
        findings: [],
        series: {
          points: [
            {
              target: 'shop-db',
              at,
              resolutionMs: 10_000,
              samples: 10,
              values: { sessions_active: 2, not_a_metric: 5 },
            },
          ],
          statements: [
            {
              target: 'shop-db',
              at,
              resolutionMs: 10_000,
              queryId: '-42',
              query: 'SELECT $1',
              calls: 3,
              totalExecMs: 1.5,
              rows: 3,
            },
          ],
        },
      },
    });
    expect(reply.status).toBe(202);
    const window = { resolutionMs: 10_000, from: at, until: at + 10_000, target: 'shop-db' };
    expect(await h.store.metrics.points(window)).toEqual([
      { target: 'shop-db', at, resolutionMs: 10_000, samples: 10, values: { sessions_active: 2 } },
    ]);
    expect((await h.store.metrics.statements(window)).map((s) => [s.queryId, s.calls])).toEqual([['-42', 3]]);
    const bad = await h.call('POST', '/api/v1/ingest/findings', {
      token,
      body: {
        agent: 'a1',
        findings: [],
        series: {
          points: [{ target: 'shop db', at, resolutionMs: 10, samples: 0, values: {} }],
          statements: [],
        },
      },
    });
    expect(bad.status).toBe(400);
    // A query id beyond int8 (the store's type) is refused by name, not failed in the store.
    const huge = await h.call('POST', '/api/v1/ingest/findings', {
      token,
      body: {
        agent: 'a1',
        findings: [],
        series: {
          points: [],
          statements: [
            {
              target: 'shop-db',
              at,
              resolutionMs: 60_000,
              queryId: '9223372036854775808',
              query: 'SELECT 1',
              calls: 1,
              totalExecMs: 1,
              rows: 1,
            },
          ],
        },
      },
    });
    expect(huge.status).toBe(400);
    expect(JSON.stringify(huge.body)).toContain('64-bit signed integer');
  });

  it("the agent's push client sends the intervals it closed with its next push", async () => {
    const h = await createApiHarness();
    const client = new FindingPushClient({
      server: 'http://hindsight.test',
      token: h.secrets.responder,
      agent: 'a1',
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      flushIntervalMs: 10,
      fetch: ((input: string | URL | Request, init?: RequestInit) =>
        h.app.request(input, init)) as typeof fetch,
    });
    const acc = seriesAccumulator({ target: 'shop-db', statementsResolutionMs: 10_000 });
    const t = Math.floor(h.clock.now() / 10_000) * 10_000 - 60_000;
    acc.add({
      ...sample(t, { sessions: [session(1)] }),
      target: 'shop-db',
      statements: [{ queryId: '7', query: 'SELECT 7', calls: 2, totalExecMs: 4, rows: 2 }],
    });
    const closed = acc.add({ ...sample(t + 10_000), target: 'shop-db' });
    if (closed === null) throw new Error('no interval closed');
    client.publishSeries([closed.point], closed.statements);
    const stop = new AbortController();
    const running = client.run(stop.signal);
    const window = { resolutionMs: 10_000, from: t, until: t + 10_000, target: 'shop-db' };
    for (let i = 0; i < 100 && (await h.store.metrics.points(window)).length === 0; i += 1)
      await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    await running;
    expect((await h.store.metrics.points(window))[0]?.values).toMatchObject({
      sessions_active: 1,
      active_cpu: 1,
    });
    expect((await h.store.metrics.statements(window)).map((s) => [s.queryId, s.query, s.calls])).toEqual([
      ['7', 'SELECT 7', 2],
    ]);
  });
});
