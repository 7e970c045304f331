import { describe, expect, it } from 'vitest';
import { BUILT_IN_RULES, applyRuleOverrides, effectiveRules } from '../../../src/core/alert-rule.js';
import { measureRule } from '../../../src/core/rule-measure.js';
import {
  deadlock,
  episode,
  idleInTransaction,
  longTransaction,
  recovered,
  root,
  storm,
  unreachable,
} from '../../support/finding-builder.js';

const T = 10_000_000;
const ctx = { target: 'shop-db', now: T };

describe('measureRule: deadlocks', () => {
  it('sums the counts of deadlock findings in the window, ignoring older ones and other targets', () => {
    const m = measureRule(
      BUILT_IN_RULES.deadlocks,
      [
        deadlock('old', T - 6 * 60_000),
        deadlock('d1', T - 60_000),
        deadlock('c1', T - 30_000, { source: 'counter', processes: [], count: 3 }),
        deadlock('other', T - 1_000, { target: 'other-db' }),
      ],
      ctx,
    );
    expect(m).toEqual({
      value: 4,
      evidence: ['d1', 'c1'],
      summary: '4 deadlocks in 5 min on shop-db',
      latestEvidenceAt: T - 30_000,
    });
  });

  it('never counts a counter finding below zero (a stats reset), and counts a finding saved twice once', () => {
    const m = measureRule(
      BUILT_IN_RULES.deadlocks,
      [
        deadlock('reset', T - 1_000, { source: 'counter', count: -40 }),
        deadlock('d1', T - 2_000),
        deadlock('d1', T - 2_000),
      ],
      ctx,
    );
    expect(m.value).toBe(1);
    expect(m.evidence).toEqual(['d1']);
  });
});

describe('measureRule: blocking', () => {
  it('measures an ongoing episode up to now and a closed one to its end', () => {
    const ongoing = measureRule(BUILT_IN_RULES.blocking, [episode('e1', T - 45_000)], ctx);
    expect(ongoing.value).toBe(45);
    expect(ongoing.summary).toBe(
      'blocking for 45 s on shop-db (ongoing): root pid 4242 idle in transaction (last `UPDATE orders …`), 3 waiting',
    );
    const closed = measureRule(
      BUILT_IN_RULES.blocking,
      [episode('e1', T - 100_000, { phase: 'closed', endedAt: T - 60_000 })],
      ctx,
    );
    expect(closed.value).toBe(40);
  });

  it('forgets an episode that ended before the window', () => {
    const m = measureRule(
      BUILT_IN_RULES.blocking,
      [episode('e1', T - 900_000, { phase: 'closed', endedAt: T - 600_000 })],
      ctx,
    );
    expect(m.value).toBe(0);
  });
});

describe('measureRule: idle_in_transaction_blocker', () => {
  it("takes the idle time of an open episode's root from its idle_in_transaction report, extrapolated to now", () => {
    const m = measureRule(
      BUILT_IN_RULES.idle_in_transaction_blocker,
      [
        episode('e1', T - 20_000, { roots: [root(4242, { stateAgeMs: 5_000 })] }),
        idleInTransaction('i1', T - 10_000, { idleMs: 31_000 }),
      ],
      ctx,
    );
    expect(m.value).toBe(41);
    expect(m.evidence).toEqual(['e1', 'i1']);
    expect(m.summary).toBe('root blocker pid 4242 idle in transaction for 41 s on shop-db, 3 waiting');
  });

  it("uses the root's state age when no idle report exists, and ignores active roots", () => {
    const idle = measureRule(BUILT_IN_RULES.idle_in_transaction_blocker, [episode('e1', T - 20_000)], ctx);
    expect(idle.value).toBe(40);
    const active = measureRule(
      BUILT_IN_RULES.idle_in_transaction_blocker,
      [episode('e1', T - 20_000, { roots: [root(4242, { state: 'active' })] })],
      ctx,
    );
    expect(active.value).toBe(0);
  });

  it('does not take an idle report of the same pid from before the episode when the root was active', () => {
    const m = measureRule(
      BUILT_IN_RULES.idle_in_transaction_blocker,
      [
        idleInTransaction('i0', T - 200_000),
        episode('e1', T - 20_000, { roots: [root(4242, { state: 'active' })] }),
      ],
      ctx,
    );
    expect(m.value).toBe(0);
  });
});

describe('measureRule: storms, outages, long transactions', () => {
  it('takes the largest storm in the window', () => {
    const m = measureRule(
      BUILT_IN_RULES.lock_wait_storm,
      [
        storm('s1', T - 1_000, { waiters: 12 }),
        storm('s2', T - 500, { waiters: 30, relation: 'public.items' }),
      ],
      ctx,
    );
    expect(m).toMatchObject({
      value: 30,
      evidence: ['s1', 's2'],
      summary: '30 sessions waiting on locks of public.items on shop-db',
    });
  });

  it('counts the time since the last outage began, and zero once recovered', () => {
    const down = measureRule(BUILT_IN_RULES.target_unreachable, [unreachable('u1', T - 45_000)], ctx);
    expect(down).toMatchObject({
      value: 45,
      evidence: ['u1'],
      summary: 'shop-db unreachable for 45 s: connection refused',
    });
    const back = measureRule(
      BUILT_IN_RULES.target_unreachable,
      [unreachable('u1', T - 45_000), recovered('r1', T - 5_000)],
      ctx,
    );
    expect(back.value).toBe(0);
    const sameInstant = measureRule(
      BUILT_IN_RULES.target_unreachable,
      [recovered('r1', T - 5_000), unreachable('u1', T - 5_000)],
      ctx,
    );
    expect(sameInstant.value).toBe(0);
  });

  it("extrapolates a long transaction's age from its report", () => {
    const m = measureRule(BUILT_IN_RULES.long_transaction, [longTransaction('l1', T - 60_000)], ctx);
    expect(m.value).toBe(361);
    expect(m.summary).toBe('transaction of pid 77 open for 6 min on shop-db (`SELECT … FROM events`)');
  });
});

describe('rule overrides', () => {
  it('applies overrides in order, later ones winning, and pulls the resolve threshold under a lowered threshold', () => {
    const r = applyRuleOverrides(BUILT_IN_RULES.blocking, [
      { threshold: 60, severity: 'critical' },
      undefined,
      { threshold: 5 },
    ]);
    expect(r).toMatchObject({
      threshold: 5,
      resolveThreshold: 5,
      severity: 'critical',
      windowMs: BUILT_IN_RULES.blocking.windowMs,
    });
  });

  it('lists every built-in rule with overrides by name', () => {
    const rules = effectiveRules([{ deadlocks: { enabled: false } }, { deadlocks: { windowMs: 60_000 } }]);
    expect(rules.map((r) => r.name)).toEqual([
      'deadlocks',
      'blocking',
      'idle_in_transaction_blocker',
      'lock_wait_storm',
      'target_unreachable',
      'long_transaction',
    ]);
    expect(rules[0]).toMatchObject({ enabled: false, windowMs: 60_000 });
  });
});
