import { describe, expect, it } from 'vitest';
import { ingestReplySchema } from '../../../src/api/schemas/finding-schemas.js';
import type { DeadlockFinding, Finding } from '../../../src/core/finding.js';
import { createApiHarness, errorOf } from '../../support/api-harness.js';

const deadlock = (id: string, at: number): DeadlockFinding => ({
  kind: 'deadlock',
  id,
  target: 'shop-db',
  at,
  source: 'log',
  victimPid: 4242,
  processes: [
    {
      pid: 4242,
      waitsForMode: 'ShareLock',
      waitsForObject: 'transaction 746',
      relation: 'public.inventory',
      blockedBy: 4243,
      query: 'UPDATE inventory SET qty = qty - $1 WHERE id = $2',
    },
    {
      pid: 4243,
      waitsForMode: 'ShareLock',
      waitsForObject: 'transaction 745',
      relation: 'public.products',
      blockedBy: 4242,
      query: 'UPDATE products SET stock = $1 WHERE id = $2',
    },
  ],
  count: 1,
  database: 'shop',
});

const blocking: Finding = {
  kind: 'blocking_episode',
  id: 'be-1',
  target: 'shop-db',
  phase: 'open',
  startedAt: 1_000,
  endedAt: null,
  roots: [
    {
      pid: 1,
      state: 'idle in transaction',
      query: 'SELECT 1',
      user: 'app',
      application: 'shop',
      client: null,
      xactAgeMs: 90_000,
      stateAgeMs: 88_000,
      blockedCount: 2,
    },
  ],
  victims: [
    {
      pid: 2,
      query: 'UPDATE t SET x = $1',
      waitedMs: 5_000,
      lockMode: 'RowExclusiveLock',
      relation: 'public.t',
      blockedBy: [1],
      rootPids: [1],
      depth: 1,
    },
  ],
  maxDepth: 1,
  maxWaiters: 1,
  longestWaitMs: 5_000,
  edges: [{ waiter: 2, blocker: 1 }],
};

describe('agent ingest: POST /api/v1/ingest/findings', () => {
  it("keeps every field a watch puts on a finding: lock objects, the sides of a deadlock, the app's sqlcommenter tags", async () => {
    const h = await createApiHarness();
    const at = h.clock.now() - 1_000;
    const base = deadlock('dl-rich', at);
    const rich: DeadlockFinding = {
      ...base,
      processes: [
        {
          ...base.processes[0]!,
          lockObject: {
            kind: 'transaction',
            transactionId: '746',
            holderPid: 4243,
            row: { kind: 'row', relation: 'public.inventory', relationOid: 16385, ctid: '(0,7)' },
          },
          user: 'shop',
          application: 'checkout',
          tags: {
            callsite: 'demo/shop/checkout.ts:88',
            release: 'v2',
            route: 'POST /checkout',
            service: 'shop',
          },
        },
        {
          ...base.processes[1]!,
          lockObject: { kind: 'advisory', key: '1,2' },
          user: null,
          application: 'restock',
        },
      ],
    };
    const episode: Finding = {
      ...blocking,
      id: 'be-rich',
      roots: blocking.roots.map((r) => ({
        ...r,
        tags: { job: 'restock', callsite: 'demo/shop/restock.ts:20' },
      })),
      victims: blocking.victims.map((v) => ({
        ...v,
        lockObject: { kind: 'relation' as const, relation: 'public.t', relationOid: 16390 },
        tags: { route: 'GET /orders/:id' },
      })),
    };
    const idle: Finding = {
      kind: 'idle_in_transaction',
      id: 'it-rich',
      target: 'shop-db',
      at,
      pid: 7,
      idleMs: 60_000,
      query: 'SELECT $1',
      application: 'shop',
      tags: { route: 'POST /cart' },
    };
    const reply = await h.call('POST', '/api/v1/ingest/findings', {
      token: h.secrets.responder,
      body: { agent: 'a', findings: [rich, episode, idle], health: [] },
    });
    expect(reply.status).toBe(202);
    expect(await h.store.findings.get(['dl-rich', 'be-rich', 'it-rich'])).toEqual([rich, episode, idle]);
  });

  it('accepts findings (a retried push kept once) and records target health', async () => {
    const h = await createApiHarness();
    const at = h.clock.now() - 1_000;
    const body = {
      agent: 'agent-7',
      findings: [deadlock('dl-1', at), deadlock('dl-2', at + 10), blocking],
      health: [{ target: 'shop-db', reachable: true, problem: null, lastSampleAt: at, sampleLatencyMs: 12 }],
    };
    const reply = await h.call('POST', '/api/v1/ingest/findings', { token: h.secrets.responder, body });
    expect(reply.status).toBe(202);
    expect(ingestReplySchema.parse(reply.body)).toEqual({ accepted: 3 });
    expect(
      (await h.call('POST', '/api/v1/ingest/findings', { token: h.secrets.responder, body })).status,
    ).toBe(202);

    const saved = await h.store.findings.list({ since: 0 });
    expect(saved.map((f) => f.id).sort()).toEqual(['be-1', 'dl-1', 'dl-2']);
    expect(saved.find((f) => f.id === 'dl-1')).toEqual(deadlock('dl-1', at));
    expect(saved.find((f) => f.id === 'be-1')).toEqual(blocking);
    expect(await h.store.targets.health()).toEqual([
      {
        target: 'shop-db',
        reachable: true,
        problem: null,
        lastSampleAt: at,
        agent: 'agent-7',
        reportedAt: h.clock.now(),
      },
    ]);
    const metrics = await h.call('GET', '/metrics', { token: h.secrets.viewer });
    expect(metrics.text).toMatch(/hindsight_agent_sample_latency_seconds_count\{target="shop-db"\} 2/);
  });

  it('turns garbage away with a 400 naming the field, and stores nothing of that push', async () => {
    const h = await createApiHarness();
    const good = deadlock('dl-good', h.clock.now());
    const cases: [unknown, RegExp][] = [
      [
        { agent: 'a', findings: [good, { kind: 'meteor', id: 'x', target: 'shop-db', at: 1 }] },
        /^body\.findings\[1\]\.kind: /,
      ],
      [{ agent: 'a', findings: [{ ...good, at: 'yesterday' }] }, /^body\.findings\[0\]\.at: /],
      [
        { agent: 'a', findings: [{ ...good, processes: [{ pid: 'one' }] }] },
        /^body\.findings\[0\]\.processes\[0\]\./,
      ],
      [{ findings: [good] }, /^body\.agent: /],
      [
        {
          agent: 'a',
          findings: [good],
          health: [{ target: 'shop-db', reachable: 'yes', problem: null, lastSampleAt: null }],
        },
        /^body\.health\[0\]\.reachable: /,
      ],
      [[good], /^body: /],
    ];
    for (const [body, field] of cases) {
      const reply = await h.call('POST', '/api/v1/ingest/findings', { token: h.secrets.responder, body });
      expect(reply.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(errorOf(reply).message).toMatch(field);
    }
    expect(await h.store.findings.list({ since: 0 })).toEqual([]);
    expect(await h.store.targets.health()).toEqual([]);
  });

  it('answers 413 to a push over the ingest limit and stores nothing', async () => {
    const h = await createApiHarness({ api: { maxIngestBodyBytes: 4096 } });
    const findings = Array.from({ length: 20 }, (_, i) => deadlock(`dl-${i}`, h.clock.now()));
    const reply = await h.call('POST', '/api/v1/ingest/findings', {
      token: h.secrets.responder,
      body: { agent: 'a', findings, health: [] },
    });
    expect(reply.status).toBe(413);
    expect(errorOf(reply).code).toBe('PAYLOAD_TOO_LARGE');
    expect(await h.store.findings.list({ since: 0 })).toEqual([]);
  });
});

describe('operations', () => {
  it('healthz answers; readyz follows the store', async () => {
    let up = true;
    const h = await createApiHarness({
      status: { ping: () => Promise.resolve(up), counts: () => Promise.reject(new Error('unused')) },
    });
    expect((await h.call('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await h.call('GET', '/readyz')).status).toBe(200);
    up = false;
    const down = await h.call('GET', '/readyz');
    expect(down.status).toBe(503);
    expect(down.body).toEqual({ status: 'unavailable' });
    expect((await h.call('GET', '/healthz')).status).toBe(200);
  });

  it('serves Prometheus text with a viewer token, or without one when public', async () => {
    const h = await createApiHarness();
    h.metrics.observeRuleCycle(0.004);
    await h.call('GET', '/api/v1/incidents', { token: h.secrets.viewer });
    const reply = await h.call('GET', '/metrics', { token: h.secrets.viewer });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const line of [
      '# TYPE hindsight_alerts_firing gauge',
      'hindsight_alerts_firing 0',
      'hindsight_incidents_open{state="triggered"} 0',
      'hindsight_incidents_open{state="mitigated"} 0',
      '# TYPE hindsight_rule_cycle_duration_seconds histogram',
      'hindsight_rule_cycle_duration_seconds_bucket{le="0.005"} 1',
      'hindsight_rule_cycle_duration_seconds_count 1',
      '# TYPE hindsight_agent_sample_latency_seconds histogram',
      'hindsight_inbound_alerts_total{integration="alertmanager"} 0',
      'hindsight_http_requests_total{method="GET",route="/api/v1/incidents",status="200"} 1',
    ]) {
      expect(reply.text).toContain(line);
    }
    const open = await createApiHarness({ api: { metricsPublic: true } });
    expect((await open.call('GET', '/metrics')).status).toBe(200);
  });

  it('counts open incidents by state in /metrics', async () => {
    const h = await createApiHarness();
    await h.call('POST', '/v2/enqueue', {
      body: {
        routing_key: 'pd-routing-key-0123456789abcdef',
        event_action: 'trigger',
        dedup_key: 'k',
        payload: { summary: 's', source: 'x', severity: 'error' },
      },
    });
    const reply = await h.call('GET', '/metrics', { token: h.secrets.viewer });
    expect(reply.text).toContain('hindsight_incidents_open{state="triggered"} 1');
    expect(reply.text).toContain('hindsight_alerts_firing 1');
  });

  it('answers a failure it did not expect with a 500 that has no stack, and logs it', async () => {
    const h = await createApiHarness({
      status: {
        ping: () => Promise.resolve(true),
        counts: () => Promise.reject(new Error('boom at /secret/path.ts:12')),
      },
    });
    const reply = await h.call('GET', '/metrics', { token: h.secrets.viewer });
    expect(reply.status).toBe(500);
    expect(errorOf(reply)).toEqual({
      code: 'INTERNAL',
      message: 'internal error; the server log has the details',
      details: {},
    });
    expect(reply.text).not.toContain('boom');
    expect(h.logLines.join('')).toContain('boom');
  });
});
