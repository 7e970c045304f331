import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUILT_IN_RULES } from '../../../src/core/alert-rule.js';
import type { AlertRule } from '../../../src/core/alert-rule.js';
import type { RuleMeasurement } from '../../../src/core/rule-measure.js';
import type { RuleState } from '../../../src/core/rule-state.js';
import { initialRuleState, stepRule } from '../../../src/core/rule-step.js';
import type { RuleEvent } from '../../../src/core/rule-step.js';

const measured = (value: number): RuleMeasurement => ({
  value,
  evidence: [],
  summary: `${value}`,
  latestEvidenceAt: 0,
});
const rule: AlertRule = { ...BUILT_IN_RULES.lock_wait_storm, threshold: 10, resolveThreshold: 5, forMs: 0 };
const start = (): RuleState =>
  initialRuleState({ rule: rule.name, target: 'shop-db', service: 'shop', now: 0 });

const run = (r: AlertRule, values: readonly number[], stepMs = 1_000): RuleEvent[] => {
  let state = start();
  const events: RuleEvent[] = [];
  values.forEach((value, i) => {
    const next = stepRule(state, measured(value), r, (i + 1) * stepMs);
    events.push(next.event);
    state = next.state;
  });
  return events;
};

describe('stepRule', () => {
  it('fires at the threshold and resolves only at or below the resolve threshold', () => {
    expect(run(rule, [3, 10, 8, 6, 5, 9, 12])).toEqual([
      'none',
      'fire',
      'firing',
      'firing',
      'resolve',
      'none',
      'fire',
    ]);
  });

  it('waits out `for` in pending, and drops back to ok when the value falls before it has passed', () => {
    const slow = { ...rule, forMs: 2_000 };
    expect(run(slow, [10, 10, 10, 10])).toEqual(['pending', 'none', 'fire', 'firing']);
    expect(run(slow, [10, 4, 10, 10, 10])).toEqual(['pending', 'none', 'pending', 'none', 'fire']);
  });

  it('resolves a firing rule that was disabled', () => {
    const first = stepRule(start(), measured(20), rule, 1_000);
    const off = stepRule({ ...first.state, alertId: 'a1' }, measured(20), { ...rule, enabled: false }, 2_000);
    expect(off.event).toBe('resolve');
    expect(off.state).toMatchObject({ phase: 'ok', alertId: null });
  });

  it('never flaps when resolve threshold equals the threshold', () => {
    const tight = { ...rule, resolveThreshold: 10 };
    expect(run(tight, [10, 10, 10])).toEqual(['fire', 'firing', 'firing']);
  });
});

describe('stepRule (properties)', () => {
  it('a value oscillating between the thresholds fires and resolves at most once per full crossing', () => {
    const values = fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 60 });
    fc.assert(
      fc.property(values, fc.integer({ min: 0, max: 3_000 }), (vals, forMs) => {
        const r = { ...rule, forMs };
        const events = run(r, vals);
        // Full crossings: a value at or above the threshold after one at or below the resolve threshold
        // (or the start), and the reverse.
        let ups = 0;
        let downs = 0;
        let low = true;
        for (const v of vals) {
          if (low && v >= r.threshold) {
            ups += 1;
            low = false;
          } else if (!low && v <= r.resolveThreshold) {
            downs += 1;
            low = true;
          }
        }
        const fires = events.filter((e) => e === 'fire').length;
        const resolves = events.filter((e) => e === 'resolve').length;
        expect(fires).toBeLessThanOrEqual(ups);
        expect(resolves).toBeLessThanOrEqual(downs);
        // Fires and resolves alternate, starting with a fire.
        const changes = events.filter((e) => e === 'fire' || e === 'resolve');
        changes.forEach((e, i) => {
          expect(e).toBe(i % 2 === 0 ? 'fire' : 'resolve');
        });
        // Every event happens on the right side of its threshold.
        events.forEach((e, i) => {
          if (e === 'fire') expect(vals[i]).toBeGreaterThanOrEqual(r.threshold);
          if (e === 'resolve') expect(vals[i]).toBeLessThanOrEqual(r.resolveThreshold);
        });
      }),
    );
  });

  it('with `for` of 0, a value staying strictly between the thresholds after firing never resolves', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 6, max: 9 }), { minLength: 1, maxLength: 40 }), (between) => {
        const events = run(rule, [10, ...between]);
        expect(events[0]).toBe('fire');
        expect(events.slice(1).every((e) => e === 'firing')).toBe(true);
      }),
    );
  });
});
