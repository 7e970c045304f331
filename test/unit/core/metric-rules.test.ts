import { describe, expect, it } from 'vitest';
import { applyRuleOverrides } from '../../../src/core/alert-rule.js';
import {
  HOST_CPU_METRIC,
  METRIC_RULE_DEFAULTS,
  measureActiveSessions,
  measureConnections,
  measureHostCpu,
  measureRollbacks,
  metricBaselineEnd,
} from '../../../src/core/metric-rules.js';
import type { SeriesPoint, SeriesValues, StatementPoint } from '../../../src/core/metrics-series.js';
import type { RuleState } from '../../../src/core/rule-state.js';
import { initialRuleState, stepRule } from '../../../src/core/rule-step.js';
import {
  measureStatementLatency,
  statementOfKey,
  statementStateKey,
} from '../../../src/core/statement-latency-rule.js';
import { deployOnset } from '../../../src/core/deploy-onset.js';

const SEC = 1_000;
const MIN = 60 * SEC;
const RES = 10 * SEC;
const T0 = 1_800_000_000_000; // a multiple of 10 s

/** 10 s points of shop-db from `from` to `until` (exclusive), each with `values(at)`. */
const points = (from: number, until: number, values: (at: number) => SeriesValues): SeriesPoint[] => {
  const out: SeriesPoint[] = [];
  for (let at = from; at < until; at += RES)
    out.push({ target: 'shop-db', at, resolutionMs: RES, samples: 10, values: values(at) });
  return out;
};

const statements = (
  from: number,
  until: number,
  row: (at: number) => { calls: number; meanMs: number },
): StatementPoint[] => {
  const out: StatementPoint[] = [];
  for (let at = from; at < until; at += RES) {
    const { calls, meanMs } = row(at);
    out.push({
      target: 'shop-db',
      at,
      resolutionMs: RES,
      queryId: '-4242',
      query: 'SELECT * FROM orders WHERE customer_id = $1',
      calls,
      totalExecMs: calls * meanMs,
      rows: calls,
    });
  }
  return out;
};

const ok = (rule: string, now: number): RuleState =>
  initialRuleState({ rule, target: 'shop-db', service: 'shop', now });

describe('connections_near_max', () => {
  const rule = METRIC_RULE_DEFAULTS.connections_near_max;
  const at = (now: number, used: number) =>
    measureConnections(
      rule,
      points(now - 2 * MIN, now, () => ({ connections: used, max_connections: 100 })),
      {
        target: 'shop-db',
        now,
        baselineUntil: 0,
      },
    );

  it('fires once the share held at ≥ 90% for 1 min, and resolves at 80% or less', () => {
    let state = ok(rule.name, T0);
    let now = T0;
    const events: string[] = [];
    for (const used of [95, 95, 95, 95, 85, 70]) {
      const m = at(now, used);
      const step = stepRule(state, m, rule, now);
      events.push(step.event);
      state = step.state;
      now += 30 * SEC;
    }
    expect(events).toEqual(['pending', 'none', 'fire', 'firing', 'firing', 'resolve']);
    expect(at(T0, 95).summary).toBe('95% of max_connections in use on shop-db (95 of 100, 30 s)');
  });

  it('says nothing without max_connections (an older agent)', () => {
    const m = measureConnections(
      rule,
      points(T0 - MIN, T0, () => ({ connections: 500 })),
      {
        target: 'shop-db',
        now: T0,
        baselineUntil: 0,
      },
    );
    expect(m.value).toBe(0);
  });
});

describe('rollback_ratio', () => {
  const rule = METRIC_RULE_DEFAULTS.rollback_ratio;
  /** 1 % rollbacks for 30 min, then `spike` from `onset` on; `perPoint` transactions every 10 s. */
  const series = (onset: number, spike: number, perPoint = 50): SeriesPoint[] =>
    points(T0 - 40 * MIN, T0 + 10 * MIN, (at) => {
      const r = at >= onset ? spike : 0.01;
      return { commits: perPoint * (1 - r), rollbacks: perPoint * r };
    });

  it('fires on a spike well over its baseline, with enough transactions', () => {
    const all = series(T0, 0.3);
    const now = T0 + MIN;
    const m = measureRollbacks(rule, all, {
      target: 'shop-db',
      now,
      baselineUntil: metricBaselineEnd(rule, null, now),
    });
    expect(m.baseline).toBeCloseTo(0.01);
    expect(m.value).toBeCloseTo(0.3 - 0.02);
    expect(stepRule(ok(rule.name, now), m, rule, now).event).toBe('fire');
    expect(m.summary).toBe('30% of transactions rolled back on shop-db in 1 min (90 of 300; baseline 1%)');
  });

  it('does not fire under the volume minimum (fewer than 100 transactions in the window)', () => {
    const all = series(T0, 0.9, 10); // 60 transactions a minute
    const now = T0 + MIN;
    const m = measureRollbacks(rule, all, {
      target: 'shop-db',
      now,
      baselineUntil: metricBaselineEnd(rule, null, now),
    });
    expect(m.transactions).toBe(60);
    expect(m.value).toBe(0);
    expect(m.summary).toContain('too few to judge');
  });

  it('a ratio that was always high is its own normal: 30% against a baseline of 20% does not fire', () => {
    const all = points(T0 - 40 * MIN, T0 + MIN, () => ({ commits: 40, rollbacks: 10 }));
    const now = T0 + MIN;
    const m = measureRollbacks(rule, all, {
      target: 'shop-db',
      now,
      baselineUntil: metricBaselineEnd(rule, null, now),
    });
    expect(m.value).toBe(0);
  });

  it('keeps the baseline frozen at the onset while firing, so a long spike does not resolve itself; resolves when it ends', () => {
    const onset = T0;
    const ends = T0 + 45 * MIN;
    const all = points(T0 - 40 * MIN, T0 + 50 * MIN, (at) => {
      const r = at >= onset && at < ends ? 0.3 : 0.01;
      return { commits: 50 * (1 - r), rollbacks: 50 * r };
    });
    let state = ok(rule.name, T0);
    const events: string[] = [];
    for (let now = T0 + MIN; now <= T0 + 48 * MIN; now += MIN) {
      const until = metricBaselineEnd(rule, state, now);
      const m = measureRollbacks(rule, all, { target: 'shop-db', now, baselineUntil: until });
      // 40 minutes into the spike, an unfrozen baseline would be the spike itself.
      if (now === T0 + 40 * MIN) {
        expect(m.baseline).toBeCloseTo(0.01);
        expect(
          measureRollbacks(rule, all, {
            target: 'shop-db',
            now,
            baselineUntil: metricBaselineEnd(rule, null, now),
          }).baseline,
        ).toBeCloseTo(0.3);
      }
      const step = stepRule(state, m, rule, now);
      events.push(step.event);
      state = step.state;
    }
    expect(events.filter((e) => e === 'fire')).toHaveLength(1);
    expect(events.indexOf('resolve')).toBe(45); // the first minute without the spike: T0 + 46 min
    expect(events.slice(1, 45).every((e) => e === 'firing')).toBe(true);
  });
});

describe('active_sessions', () => {
  const rule = METRIC_RULE_DEFAULTS.active_sessions;
  const series = (normal: number, spike: number): SeriesPoint[] =>
    points(T0 - 40 * MIN, T0 + 10 * MIN, (at) => ({ sessions_active: at >= T0 ? spike : normal }));

  it('fires at 3× the learned baseline held for 1 min, and resolves at 2× or less', () => {
    const all = points(T0 - 40 * MIN, T0 + 10 * MIN, (at) => ({
      sessions_active: at >= T0 && at < T0 + 4 * MIN ? 24 : 4,
    }));
    let state = ok(rule.name, T0);
    const events: string[] = [];
    for (let now = T0 + MIN; now <= T0 + 7 * MIN; now += MIN) {
      const m = measureActiveSessions(rule, all, {
        target: 'shop-db',
        now,
        baselineUntil: metricBaselineEnd(rule, state, now),
      });
      if (now === T0 + MIN) {
        expect(m.baseline).toBe(4);
        expect(m.value).toBe(6);
        expect(m.summary).toBe('24 active sessions on shop-db in 1 min, 6× the baseline 4');
      }
      const step = stepRule(state, m, rule, now);
      events.push(step.event);
      state = step.state;
    }
    expect(events).toEqual(['pending', 'fire', 'firing', 'firing', 'resolve', 'none', 'none']);
  });

  it('does not fire under the volume minimum (4 active where 1 was: under 5 sessions)', () => {
    const now = T0 + MIN;
    const m = measureActiveSessions(rule, series(1, 4), {
      target: 'shop-db',
      now,
      baselineUntil: metricBaselineEnd(rule, null, now),
    });
    expect(m.value).toBe(0);
  });

  it('keeps its baseline frozen at the onset while pending and firing: 40 minutes of 24 sessions stay 6× the 4 before', () => {
    const all = points(T0 - 40 * MIN, T0 + 50 * MIN, (at) => ({ sessions_active: at >= T0 ? 24 : 4 }));
    let state = ok(rule.name, T0);
    const events: string[] = [];
    for (let now = T0 + MIN; now <= T0 + 45 * MIN; now += MIN) {
      const m = measureActiveSessions(rule, all, {
        target: 'shop-db',
        now,
        baselineUntil: metricBaselineEnd(rule, state, now),
      });
      if (now === T0 + 40 * MIN) {
        expect(m.baseline).toBe(4);
        // Unfrozen, the storm would be its own normal by now.
        const loose = measureActiveSessions(rule, all, {
          target: 'shop-db',
          now,
          baselineUntil: metricBaselineEnd(rule, null, now),
        });
        expect(loose.value).toBe(1);
      }
      const step = stepRule(state, m, rule, now);
      events.push(step.event);
      state = step.state;
    }
    expect(events.slice(0, 2)).toEqual(['pending', 'fire']);
    expect(events.slice(2).every((e) => e === 'firing')).toBe(true);
  });

  it('says nothing without a baseline (fewer than 3 minutes of history)', () => {
    const all = points(T0 - 2 * MIN, T0 + MIN, (at) => ({ sessions_active: at >= T0 ? 30 : 2 }));
    const now = T0 + MIN;
    const m = measureActiveSessions(rule, all, {
      target: 'shop-db',
      now,
      baselineUntil: metricBaselineEnd(rule, null, now),
    });
    expect(m.baseline).toBeNull();
    expect(m.value).toBe(0);
  });
});

describe('host_cpu', () => {
  const rule = METRIC_RULE_DEFAULTS.host_cpu;

  it('fires at 90% held for 1 min, naming the statements taking the time; resolves at 75%', () => {
    const busy = (share: number) => points(T0 - MIN, T0 + 5 * MIN, () => ({ [HOST_CPU_METRIC]: share }));
    const top = [
      { queryId: '1', query: 'SELECT sum(x) FROM big', calls: 10, totalExecMs: 900, rows: 10 },
      { queryId: '2', query: 'SELECT 1', calls: 100, totalExecMs: 100, rows: 100 },
    ];
    const m = measureHostCpu(rule, busy(0.93), {
      target: 'shop-db',
      now: T0,
      baselineUntil: 0,
      statements: top,
      backends: [{ pid: 4242, cores: 0.97, query: 'SELECT sum(x) FROM big' }],
    });
    expect(m.value).toBeCloseTo(0.93);
    expect(m.summary).toBe(
      'host CPU 93% on shop-db over 1 min; top statements: `SELECT … FROM big` (90% of time), `SELECT 1` (10% of time); busiest backends: pid 4242 (0.97 cores, `SELECT … FROM big`)',
    );
    let state = ok(rule.name, T0);
    const events: string[] = [];
    for (const [dt, share] of [
      [0, 0.93],
      [MIN, 0.95],
      [2 * MIN, 0.8],
      [3 * MIN, 0.5],
    ] as const) {
      const step = stepRule(state, { value: share }, rule, T0 + dt);
      events.push(step.event);
      state = step.state;
    }
    expect(events).toEqual(['pending', 'fire', 'firing', 'resolve']);
  });

  it('says nothing when the host is not read', () => {
    const m = measureHostCpu(
      rule,
      points(T0 - MIN, T0, () => ({ sessions_active: 3 })),
      {
        target: 'shop-db',
        now: T0,
        baselineUntil: 0,
      },
    );
    expect(m.value).toBe(0);
  });
});

describe('statement_latency', () => {
  const rule = METRIC_RULE_DEFAULTS.statement_latency;
  const ref = { target: 'shop-db', queryId: '-4242' };

  it('fires when a statement’s mean time is 3× its own baseline, and names the deploy before the onset', () => {
    const rows = statements(T0 - 40 * MIN, T0 + 2 * MIN, (at) => ({ calls: 10, meanMs: at >= T0 ? 48 : 8 }));
    const now = T0 + MIN;
    const deploy = deployOnset(
      { id: 'd1', service: 'shop', version: 'v2', commit: null, at: T0 - 30 * SEC, actor: 'ci' },
      now,
    );
    const m = measureStatementLatency(rule, ref, rows, {
      target: 'shop-db',
      now,
      baselineUntil: metricBaselineEnd(rule, null, now),
      deploy,
    });
    expect(m.baselineMs).toBe(8);
    expect(m.value).toBe(6);
    expect(stepRule(ok(rule.name, now), m, rule, now).event).toBe('fire');
    expect(m.summary).toBe(
      '`SELECT … FROM orders …` on shop-db: mean 48 ms over 1 min, 6× its baseline 8 ms (60 calls), after deploy v2 (1.5 min before)',
    );
  });

  it('does not fire under the volume minimum (fewer than 20 calls in the window) or under the 5 ms floor', () => {
    const now = T0 + MIN;
    const until = metricBaselineEnd(rule, null, now);
    const few = statements(T0 - 40 * MIN, T0 + MIN, (at) => ({
      calls: at >= T0 ? 3 : 10,
      meanMs: at >= T0 ? 80 : 8,
    }));
    expect(
      measureStatementLatency(rule, ref, few, { target: 'shop-db', now, baselineUntil: until }).value,
    ).toBe(0);
    const fast = statements(T0 - 40 * MIN, T0 + MIN, (at) => ({ calls: 10, meanMs: at >= T0 ? 4 : 0.1 }));
    expect(
      measureStatementLatency(rule, ref, fast, { target: 'shop-db', now, baselineUntil: until }).value,
    ).toBe(0);
  });

  it('keeps its baseline frozen at the onset while firing, and resolves once the mean is back under 1.5×', () => {
    const rows = statements(T0 - 40 * MIN, T0 + 60 * MIN, (at) => ({
      calls: 10,
      meanMs: at >= T0 && at < T0 + 40 * MIN ? 50 : 8,
    }));
    let state = ok(rule.name, T0);
    const events: string[] = [];
    for (let now = T0 + MIN; now <= T0 + 43 * MIN; now += MIN) {
      const m = measureStatementLatency(rule, ref, rows, {
        target: 'shop-db',
        now,
        baselineUntil: metricBaselineEnd(rule, state, now),
      });
      if (now === T0 + 35 * MIN) expect(m.baselineMs).toBe(8);
      const step = stepRule(state, m, rule, now);
      events.push(step.event);
      state = step.state;
    }
    expect(events[0]).toBe('fire');
    expect(events.slice(1, 40).every((e) => e === 'firing')).toBe(true);
    expect(events[40]).toBe('resolve'); // T0 + 41 min: the window holds only fast calls
  });

  it('keys a state by target and query id, and reads them back', () => {
    expect(statementStateKey(ref)).toBe('statement_latency:shop-db:-4242');
    expect(statementOfKey('statement_latency:shop-db:-4242')).toEqual(ref);
    expect(statementOfKey('rollback_ratio:shop-db')).toBeNull();
  });
});

describe('overrides', () => {
  it('apply to metric rules like to every rule (threshold, window, for, severity)', () => {
    const rule = applyRuleOverrides(METRIC_RULE_DEFAULTS.connections_near_max, [
      { threshold: 0.75, forMs: 0 },
      { severity: 'critical', windowMs: MIN },
    ]);
    expect(rule).toMatchObject({
      threshold: 0.75,
      resolveThreshold: 0.75,
      forMs: 0,
      severity: 'critical',
      windowMs: MIN,
    });
  });
});
