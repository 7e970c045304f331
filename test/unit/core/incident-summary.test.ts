import { describe, expect, it } from 'vitest';
import { summarizeIncident } from '../../../src/core/incident-summary.js';
import {
  alert,
  deadlock,
  episode,
  idleInTransaction,
  storm,
  unreachable,
  victim,
} from '../../support/finding-builder.js';

const T = 1_000_000;

describe('summarizeIncident', () => {
  it('names the deadlock count and both statements, then the idle root blocker and its victims', () => {
    const findings = [
      ...Array.from({ length: 211 }, (_, i) => deadlock(`d${i}`, T + i)),
      deadlock('c', T + 500, { source: 'counter', processes: [], count: 1 }),
      episode('e1', T, {
        victims: [
          victim(5001),
          victim(5002, { query: 'SELECT total FROM carts WHERE id = $1', waitedMs: 3_000 }),
        ],
      }),
      idleInTransaction('i1', T + 50_000, { idleMs: 94_000 }),
    ];
    expect(summarizeIncident({ findings, alerts: [] })).toBe(
      '212 deadlocks between `UPDATE inventory …` and `UPDATE products …` on shop-db; ' +
        'blocking root pid 4242 idle in transaction for 94 s; ' +
        'victims, not causes: `SELECT … FROM orders …` (waited 12 s) and `SELECT … FROM carts …` (waited 3 s)',
    );
  });

  it('is the same whatever order the evidence comes in, and grows as evidence arrives', () => {
    const a = [deadlock('d1', T), storm('s1', T + 1)];
    const b = [...a].reverse();
    expect(summarizeIncident({ findings: a, alerts: [] })).toBe(
      summarizeIncident({ findings: b, alerts: [] }),
    );
    expect(summarizeIncident({ findings: [deadlock('d1', T)], alerts: [] })).toBe(
      '1 deadlock between `UPDATE inventory …` and `UPDATE products …` on shop-db',
    );
    expect(summarizeIncident({ findings: a, alerts: [] })).toBe(
      '1 deadlock between `UPDATE inventory …` and `UPDATE products …` on shop-db; lock-wait storm on public.orders (12 waiters)',
    );
  });

  it('names an active root by its statement, and each target once', () => {
    const active = episode('e1', T, {
      roots: [{ ...episode('x', T).roots[0]!, state: 'active', stateAgeMs: 1_000 }],
      victims: [],
    });
    expect(
      summarizeIncident({ findings: [active, unreachable('u1', T, { target: 'other-db' })], alerts: [] }),
    ).toBe(
      'other-db unreachable (connection refused); blocking root pid 4242 (`UPDATE orders …`) held up 3 sessions for 12 s on shop-db',
    );
  });

  it('names the three targets with the most evidence, then counts the rest', () => {
    const findings = ['a-db', 'b-db', 'c-db', 'd-db', 'e-db'].flatMap((target, i) =>
      Array.from({ length: i + 1 }, (_, k) => deadlock(`${target}-${k}`, T + k, { target, processes: [] })),
    );
    expect(summarizeIncident({ findings, alerts: [] })).toBe(
      '5 deadlocks on e-db; 4 deadlocks on d-db; 3 deadlocks on c-db; also 2 more targets',
    );
  });

  it('falls back to the alerts of other stacks', () => {
    const am = (id: string, summary: string) =>
      alert({ id, source: 'alertmanager', rule: null, target: null, summary });
    expect(
      summarizeIncident({ findings: [], alerts: [am('a1', 'HighErrorRate: 31% of POST /checkout fail')] }),
    ).toBe('HighErrorRate: 31% of POST /checkout fail');
    expect(summarizeIncident({ findings: [], alerts: [am('a1', 'x'), am('a2', 'y'), am('a3', 'z')] })).toBe(
      'x; y; 1 more alert',
    );
  });
});

describe('summarizeIncident with the app side (issue 10)', () => {
  const tagged = (id: string, at: number) =>
    deadlock(id, at, {
      processes: [
        {
          ...deadlock('x', 0).processes[0]!,
          tags: { route: 'POST /checkout', callsite: 'demo/shop/checkout.ts:88', release: 'v2' },
        },
        { ...deadlock('x', 0).processes[1]!, tags: { job: 'restock', callsite: 'demo/shop/restock.ts:20' } },
      ],
    });

  it('names both deadlocking statements by their routes or jobs and call sites when tagged', () => {
    // One untagged sighting (a counter or an old agent) does not hide the tags of the others.
    const findings = [tagged('d1', T), tagged('d2', T + 1), deadlock('d3', T + 2)];
    expect(summarizeIncident({ findings, alerts: [] })).toBe(
      '3 deadlocks between POST /checkout (demo/shop/checkout.ts:88: `UPDATE inventory …`) and job restock (demo/shop/restock.ts:20: `UPDATE products …`) on shop-db',
    );
  });

  it('then the error rates, the largest cause, the users affected and the onset deploy', () => {
    const errorRate = alert({
      id: 'a2',
      fingerprint: 'rule:error_rate:shop:POST /checkout',
      rule: 'error_rate',
      target: null,
      summary: '31% of POST /checkout requests failed on shop in 1 min (142 of 458; baseline 0%)',
    });
    const stale = { ...errorRate, id: 'a1', status: 'resolved' as const, summary: 'old' };
    const app = {
      impact: { affectedUsers: 61, activeUsers: 200, share: 0.305, windowMs: 300_000, truncated: false },
      attribution: [
        {
          route: 'POST /checkout',
          sqlstate: '40P01',
          callSite: 'checkout.ts:88',
          query: 'UPDATE inventory …',
          errorClass: null,
          share: 0.94,
          failures: 120,
        },
      ],
      onsetDeploy: { version: 'v2', commit: null, at: T, minutesBeforeOnset: 0.4 },
    };
    expect(summarizeIncident({ findings: [tagged('d1', T)], alerts: [stale, errorRate], app })).toBe(
      '1 deadlock between POST /checkout (demo/shop/checkout.ts:88: `UPDATE inventory …`) and job restock (demo/shop/restock.ts:20: `UPDATE products …`) on shop-db; ' +
        '31% of POST /checkout requests failed on shop in 1 min (142 of 458; baseline 0%); ' +
        '94% of failures on POST /checkout are 40P01 at checkout.ts:88; 31% of users affected (61 of 200); began 24 s after deploy v2',
    );
    // An incident the app alone opened.
    expect(summarizeIncident({ findings: [], alerts: [errorRate], app: { ...app, attribution: [] } })).toBe(
      '31% of POST /checkout requests failed on shop in 1 min (142 of 458; baseline 0%); 31% of users affected (61 of 200); began 24 s after deploy v2',
    );
  });
});
