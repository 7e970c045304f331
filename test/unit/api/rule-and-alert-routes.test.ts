import { describe, expect, it } from 'vitest';
import { RuleCycle } from '../../../src/app/rule-cycle.js';
import { alertListSchema, incidentDetailSchema } from '../../../src/api/schemas/incident-schemas.js';
import type { DeadlockFinding } from '../../../src/core/finding.js';
import { createApiHarness, errorOf } from '../../support/api-harness.js';

interface RuleView {
  name: string;
  threshold: number;
  severity: string;
}

describe('rules and alerts', () => {
  it('shows the built-in rules, and a service’s and target’s overrides when named', async () => {
    const h = await createApiHarness();
    const builtIn = (await h.call('GET', '/api/v1/rules', { token: h.secrets.viewer })).body as {
      rules: RuleView[];
    };
    const deadlocks = builtIn.rules.find((r) => r.name === 'deadlocks')!;
    expect(deadlocks.threshold).toBe(1);
    expect(builtIn.rules.map((r) => r.name)).toContain('blocking');

    await h.call('PUT', '/api/v1/services/shop', {
      token: h.secrets.admin,
      body: { rules: { deadlocks: { threshold: 5 } } },
    });
    await h.call('PUT', '/api/v1/targets/shop-db', {
      token: h.secrets.admin,
      body: { url: 'postgres://db/shop', service: 'shop', rules: { deadlocks: { severity: 'warning' } } },
    });
    const forService = (await h.call('GET', '/api/v1/rules?service=shop', { token: h.secrets.viewer }))
      .body as { rules: RuleView[] };
    expect(forService.rules.find((r) => r.name === 'deadlocks')).toMatchObject({
      threshold: 5,
      severity: 'critical',
    });
    const forTarget = (
      await h.call('GET', '/api/v1/rules?service=shop&target=shop-db', { token: h.secrets.viewer })
    ).body as { rules: RuleView[] };
    expect(forTarget.rules.find((r) => r.name === 'deadlocks')).toMatchObject({
      threshold: 5,
      severity: 'warning',
    });
    expect(
      errorOf(await h.call('GET', '/api/v1/rules?service=no%20such', { token: h.secrets.viewer })).message,
    ).toMatch(/^query\.service: /);
  });

  it("shows the app's error_rate rule with its baseline settings, and a service's override of it", async () => {
    const h = await createApiHarness();
    const builtIn = (await h.call('GET', '/api/v1/rules', { token: h.secrets.viewer })).body as {
      rules: RuleView[];
    };
    expect(builtIn.rules.find((r) => r.name === 'error_rate')).toMatchObject({
      unit: 'ratio',
      threshold: 0.1,
      resolveThreshold: 0.05,
      windowMs: 60_000,
      baselineMs: 1_800_000,
      baselineFactor: 2,
      minRequests: 20,
    });
    await h.call('PUT', '/api/v1/services/shop', {
      token: h.secrets.admin,
      body: { rules: { error_rate: { threshold: 0.3, severity: 'critical' } } },
    });
    const forService = (await h.call('GET', '/api/v1/rules?service=shop', { token: h.secrets.viewer }))
      .body as { rules: RuleView[] };
    expect(forService.rules.find((r) => r.name === 'error_rate')).toMatchObject({
      threshold: 0.3,
      resolveThreshold: 0.05,
      severity: 'critical',
    });
  });

  it('shows the database metric rules (issue 12) with their baselines and volume minimums, and a target override', async () => {
    const h = await createApiHarness();
    const builtIn = (await h.call('GET', '/api/v1/rules', { token: h.secrets.viewer })).body as {
      rules: RuleView[];
    };
    expect(builtIn.rules.map((r) => r.name)).toEqual(
      expect.arrayContaining([
        'connections_near_max',
        'rollback_ratio',
        'active_sessions',
        'host_cpu',
        'statement_latency',
      ]),
    );
    expect(builtIn.rules.find((r) => r.name === 'statement_latency')).toMatchObject({
      unit: 'times baseline',
      threshold: 3,
      resolveThreshold: 1.5,
      baselineMs: 1_800_000,
      minVolume: 20,
      floor: 5,
    });
    await h.call('PUT', '/api/v1/targets/shop-db', {
      token: h.secrets.admin,
      body: {
        url: 'postgres://db/shop',
        service: 'shop',
        rules: { connections_near_max: { threshold: 0.8 } },
      },
    });
    const forTarget = (
      await h.call('GET', '/api/v1/rules?service=shop&target=shop-db', { token: h.secrets.viewer })
    ).body as { rules: RuleView[] };
    expect(forTarget.rules.find((r) => r.name === 'connections_near_max')).toMatchObject({
      threshold: 0.8,
      resolveThreshold: 0.8,
      forMs: 60_000,
    });
  });

  it('from a pushed deadlock to a firing rule alert, an incident with its evidence, and the rule state', async () => {
    const h = await createApiHarness();
    await h.call('PUT', '/api/v1/targets/shop-db', {
      token: h.secrets.admin,
      body: { url: 'postgres://db/shop', service: 'shop' },
    });
    const finding: DeadlockFinding = {
      kind: 'deadlock',
      id: 'dl-1',
      target: 'shop-db',
      at: h.clock.now() - 200,
      source: 'log',
      victimPid: 1,
      processes: [
        {
          pid: 1,
          waitsForMode: 'ShareLock',
          waitsForObject: 'transaction 2',
          relation: 'public.inventory',
          blockedBy: 2,
          query: 'UPDATE inventory SET qty = $1',
        },
        {
          pid: 2,
          waitsForMode: 'ShareLock',
          waitsForObject: 'transaction 1',
          relation: 'public.products',
          blockedBy: 1,
          query: 'UPDATE products SET stock = $1',
        },
      ],
      count: 1,
      database: 'shop',
    };
    expect(
      (
        await h.call('POST', '/api/v1/ingest/findings', {
          token: h.secrets.responder,
          body: { agent: 'a', findings: [finding], health: [] },
        })
      ).status,
    ).toBe(202);
    await new RuleCycle({ store: h.store, clock: h.clock, ids: h.ids }).run(h.clock.now());

    const firing = alertListSchema.parse(
      (await h.call('GET', '/api/v1/alerts?status=firing&service=shop', { token: h.secrets.viewer })).body,
    ).alerts;
    expect(firing).toHaveLength(1);
    expect(firing[0]).toMatchObject({
      source: 'rule',
      rule: 'deadlocks',
      target: 'shop-db',
      evidence: ['dl-1'],
    });
    expect(
      alertListSchema.parse(
        (await h.call('GET', '/api/v1/alerts?status=resolved', { token: h.secrets.viewer })).body,
      ).alerts,
    ).toEqual([]);
    expect(
      alertListSchema.parse(
        (await h.call('GET', '/api/v1/alerts?service=billing', { token: h.secrets.viewer })).body,
      ).alerts,
    ).toEqual([]);

    const detail = incidentDetailSchema.parse(
      (await h.call('GET', `/api/v1/incidents/${firing[0]!.incidentId!}`, { token: h.secrets.viewer })).body,
    );
    expect(detail.evidence).toEqual([finding]);

    const states = (await h.call('GET', '/api/v1/rules/states', { token: h.secrets.viewer })).body as {
      states: { key: string; phase: string }[];
    };
    expect(states.states.find((s) => s.key === 'deadlocks:shop-db')?.phase).toBe('firing');
  });
});
