import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { measureImpact } from '../../../src/core/app-impact.js';
import { deployOnset } from '../../../src/core/deploy-onset.js';
import { attributeFailures } from '../../../src/core/failure-attribution.js';
import { appSideClauses, appSideOf, appSideSpan } from '../../../src/core/incident-app-side.js';
import { formatMinutes, formatPercent } from '../../../src/core/share-format.js';
import { incident } from '../../support/finding-builder.js';
import { cause, deploy, rollup } from '../../support/rollup-builder.js';

const MIN = 60_000;
const T = 1_000 * MIN;
const span = { service: 'shop', from: T, until: T + 5 * MIN };
const users = (prefix: string, n: number): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);

describe('measureImpact', () => {
  it('counts distinct users with a failure against the union of active users, every route', () => {
    const rollups = [
      rollup(T, { route: '/products', method: 'GET', users: users('u', 150) }),
      rollup(T + MIN, { users: users('u', 60), failedUsers: users('u', 30) }),
      rollup(T + 2 * MIN, {
        users: [...users('u', 20), ...users('v', 50)],
        failedUsers: [...users('u', 20), ...users('v', 31)],
      }),
      // Outside the span or another service: not counted.
      rollup(T - 10_000, { users: users('x', 100), failedUsers: users('x', 100) }),
      rollup(T, { service: 'billing', users: users('y', 100), failedUsers: users('y', 100) }),
    ];
    expect(measureImpact(rollups, span)).toEqual({
      affectedUsers: 61,
      activeUsers: 200,
      share: 0.305,
      windowMs: 5 * MIN,
      truncated: false,
    });
  });

  it('says when a user set was cut, and is null when no request named a user', () => {
    expect(
      measureImpact([rollup(T, { users: ['a'], failedUsers: ['a'], usersTruncated: true })], span)?.truncated,
    ).toBe(true);
    expect(measureImpact([rollup(T, { failures: 10 })], span)).toBeNull();
  });

  it('never exceeds 100 %: a failed user is an active one (property)', () => {
    const ids = fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { maxLength: 5 });
    fc.assert(
      fc.property(fc.array(fc.record({ users: ids, failedUsers: ids }), { maxLength: 10 }), (rows) => {
        const impact = measureImpact(
          rows.map((r, i) => rollup(T + i * 10_000, r)),
          span,
        );
        if (impact === null) return;
        expect(impact.affectedUsers).toBeLessThanOrEqual(impact.activeUsers);
        expect(impact.share).toBeGreaterThanOrEqual(0);
        expect(impact.share).toBeLessThanOrEqual(1);
      }),
    );
  });
});

describe('attributeFailures', () => {
  it("gives each cause its share of its route's failures, largest first", () => {
    const rollups = [
      rollup(T, {
        failures: 60,
        causes: [
          cause(56),
          cause(4, { sqlstate: '57014', callSite: 'demo/shop/checkout.ts:40', query: 'SELECT 1' }),
        ],
      }),
      rollup(T + 10_000, {
        failures: 40,
        causes: [cause(38), { sqlstate: null, callSite: null, query: null, errorClass: null, count: 2 }],
      }),
      rollup(T, {
        method: 'JOB',
        route: 'restock',
        requests: 12,
        failures: 12,
        causes: [cause(12, { callSite: 'demo/shop/restock.ts:20', query: 'UPDATE products …' })],
      }),
    ];
    const list = attributeFailures(rollups, span);
    expect(list.map((a) => [a.route, a.sqlstate, a.callSite, a.failures, a.share])).toEqual([
      ['POST /checkout', '40P01', 'demo/shop/checkout.ts:88', 94, 0.94],
      ['job restock', '40P01', 'demo/shop/restock.ts:20', 12, 1],
      ['POST /checkout', '57014', 'demo/shop/checkout.ts:40', 4, 0.04],
    ]);
  });

  it('shares of one route add up to at most 1 (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.constantFrom('40P01', '55P03', '23505')), {
          maxLength: 12,
        }),
        (rows) => {
          const rollups = rows.map(([n, s], i) =>
            rollup(T + i * 10_000, { failures: n + 1, causes: [cause(n, { sqlstate: s })] }),
          );
          const total = attributeFailures(rollups, span, 100).reduce((sum, a) => sum + a.share, 0);
          expect(total).toBeLessThanOrEqual(1 + 1e-9);
        },
      ),
    );
  });
});

describe('deployOnset', () => {
  it('names the last deploy before the onset within two hours', () => {
    expect(deployOnset(deploy('v2', T - 24_000), T)).toEqual({
      version: 'v2',
      commit: null,
      at: T - 24_000,
      minutesBeforeOnset: 0.4,
    });
    expect(deployOnset(deploy('v2', T - 121 * MIN), T)).toBeNull();
    expect(deployOnset(deploy('v2', T + 1), T)).toBeNull();
    expect(deployOnset(null, T)).toBeNull();
  });
});

describe('the app side of an incident', () => {
  it('spans from a minute before the onset to the resolution, and says it in clauses', () => {
    const opened = incident({ service: 'shop', createdAt: T, resolvedAt: T + 4 * MIN, state: 'resolved' });
    expect(appSideSpan(opened, T + 60 * MIN)).toEqual({ service: 'shop', from: T - MIN, until: T + 4 * MIN });
    expect(appSideSpan({ ...opened, resolvedAt: null, state: 'triggered' }, T + 2 * MIN).until).toBe(
      T + 2 * MIN,
    );
    const rollups = [
      rollup(T, { failures: 100, causes: [cause(94)], users: users('u', 200), failedUsers: users('u', 61) }),
      rollup(T + 5 * MIN, {
        failures: 100,
        causes: [cause(100, { sqlstate: '23505' })],
        users: users('w', 10),
        failedUsers: users('w', 10),
      }),
    ];
    const side = appSideOf(opened, { rollups, deploy: deploy('v2', T - 24_000), now: T + 60 * MIN });
    expect(appSideClauses(side)).toEqual([
      '94% of failures on POST /checkout are 40P01 at demo/shop/checkout.ts:88',
      '31% of users affected (61 of 200)',
      'began 24 s after deploy v2',
    ]);
  });

  it('names a route before a job with more failures: routes are what users met', () => {
    const job = {
      route: 'job restock',
      sqlstate: '40P01',
      callSite: 'restock.ts:20',
      query: null,
      errorClass: null,
      share: 1,
      failures: 500,
    };
    const route = { ...job, route: 'POST /checkout', callSite: 'checkout.ts:88', share: 0.9, failures: 90 };
    expect(appSideClauses({ impact: null, onsetDeploy: null, attribution: [job, route] })).toEqual([
      '90% of failures on POST /checkout are 40P01 at checkout.ts:88',
    ]);
    expect(appSideClauses({ impact: null, onsetDeploy: null, attribution: [job] })).toEqual([
      '100% of failures on job restock are 40P01 at restock.ts:20',
    ]);
  });

  it('formats shares and gaps people can read', () => {
    expect([0, 0.0004, 0.004, 0.305, 0.996, 1].map(formatPercent)).toEqual([
      '0%',
      '0.1%',
      '0.4%',
      '31%',
      '99%',
      '100%',
    ]);
    expect([0, 300, 2_600, 24_000, 90_000, 12 * MIN, 150 * MIN].map(formatMinutes)).toEqual([
      'under a second',
      'under a second',
      '3 s',
      '24 s',
      '1.5 min',
      '12 min',
      '3 h',
    ]);
    expect(deployOnset(deploy('v2', T - 2_600), T)?.minutesBeforeOnset).toBe(0.04);
  });
});
