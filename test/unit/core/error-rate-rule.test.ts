import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RouteRollup } from '../../../src/core/app-signal.js';
import type { ErrorRateRule, RouteRef } from '../../../src/core/error-rate-rule.js';
import {
  ERROR_RATE_DEFAULTS,
  activeRoutes,
  baselineEnd,
  errorRateFingerprint,
  errorRateStateKey,
  measureErrorRate,
} from '../../../src/core/error-rate-rule.js';
import type { RuleState } from '../../../src/core/rule-state.js';
import { initialRuleState, ruleStateKey, stepRule } from '../../../src/core/rule-step.js';
import { rollup, series } from '../../support/rollup-builder.js';

const MIN = 60_000;
const NOW = 100 * MIN; // bucket-aligned
const checkout: RouteRef = { service: 'shop', method: 'POST', route: '/checkout' };
const rule = ERROR_RATE_DEFAULTS;

const measure = (rollups: readonly RouteRollup[], r: ErrorRateRule = rule, now = NOW) =>
  measureErrorRate(r, checkout, rollups, { now, baselineUntil: baselineEnd(r, null, now) });

/** 30 min of history at `base` failures per 10 requests, then the last minute at `spike`. */
const history = (base: number, spike: number, requests = 10): RouteRollup[] => [
  ...series(NOW - 31 * MIN + 10_000, NOW - MIN + 10_000, { requests, failures: base }),
  ...series(NOW - MIN + 10_000, NOW + 10_000, { requests, failures: spike }),
];

describe('measureErrorRate', () => {
  it('measures the ratio over the window against the median of the look-back', () => {
    const m = measure(history(0, 3));
    expect(m.requests).toBe(60);
    expect(m.failures).toBe(18);
    expect(m.ratio).toBeCloseTo(0.3);
    expect(m.baseline).toBe(0);
    expect(m.value).toBeCloseTo(0.3);
    expect(m.summary).toBe('30% of POST /checkout requests failed on shop in 1 min (18 of 60; baseline 0%)');
  });

  it('a route that always fails a little does not page; the same route spiking does', () => {
    // 10 % failing all along: the window at 10 % is its normal.
    expect(measure(history(1, 1)).value).toBe(0);
    // 30 %, against twice a 10 % baseline: 0.1 over, at the threshold.
    expect(measure(history(1, 3)).value).toBeCloseTo(0.1);
    expect(measure(history(1, 5)).value).toBeCloseTo(0.3);
  });

  it('needs the minimum volume in the window', () => {
    const few = [rollup(NOW, { requests: 19, failures: 19 })];
    expect(measure(few).value).toBe(0);
    expect(measure(few).summary).toBe(
      'POST /checkout on shop: 19 requests in 1 min, too few to judge (fewer than 20)',
    );
    expect(measure([rollup(NOW, { requests: 20, failures: 20 })]).value).toBe(1);
  });

  it('the median ignores an earlier spike in the look-back', () => {
    const earlier = series(NOW - 20 * MIN, NOW - 15 * MIN, { requests: 10, failures: 10 });
    const rollups = [
      ...history(0, 3).filter((r) => r.bucket < NOW - 20 * MIN || r.bucket >= NOW - 15 * MIN),
      ...earlier,
    ];
    expect(measure(rollups).baseline).toBe(0);
    expect(measure(rollups).value).toBeCloseTo(0.3);
  });

  it('ignores other routes, other services and JOB rollups', () => {
    const others = [
      rollup(NOW, { route: '/cart', requests: 100, failures: 100 }),
      rollup(NOW, { service: 'billing', requests: 100, failures: 100 }),
      rollup(NOW, { method: 'JOB', route: 'restock', requests: 100, failures: 100 }),
    ];
    expect(measure(others).requests).toBe(0);
    expect(
      activeRoutes([...others, rollup(NOW)], MIN, NOW).map((r) => `${r.service} ${r.method} ${r.route}`),
    ).toEqual(['billing POST /checkout', 'shop POST /cart', 'shop POST /checkout']);
  });

  it('freezes the look-back where the anomaly began while pending or firing', () => {
    const firing: Pick<RuleState, 'phase' | 'since'> = { phase: 'firing', since: NOW - 40 * MIN };
    expect(baselineEnd(rule, { phase: 'ok', since: 0 }, NOW)).toBe(NOW - MIN);
    expect(baselineEnd(rule, firing, NOW)).toBe(NOW - 41 * MIN);
    expect(baselineEnd({ ...rule, forMs: 2 * MIN }, { phase: 'pending', since: NOW - 3 * MIN }, NOW)).toBe(
      NOW - 4 * MIN,
    );
    // Frozen for two hours at most: a route failing from its first request does not fire forever.
    expect(baselineEnd(rule, { phase: 'firing', since: NOW - 5 * 60 * MIN }, NOW)).toBe(
      NOW - 2 * 60 * MIN - MIN,
    );
    // 40 minutes of 30 % failures after 60 quiet ones: an unfrozen baseline would call it normal.
    const rollups = [
      ...series(NOW - 100 * MIN, NOW - 40 * MIN, { requests: 10, failures: 0 }),
      ...series(NOW - 40 * MIN, NOW + 10_000, { requests: 10, failures: 3 }),
    ];
    expect(measure(rollups).value).toBe(0);
    const frozen = measureErrorRate(rule, checkout, rollups, {
      now: NOW,
      baselineUntil: baselineEnd(rule, firing, NOW),
    });
    expect(frozen.baseline).toBe(0);
    expect(frozen.value).toBeCloseTo(0.3);
  });

  it('names its alert and state apart from the target rules', () => {
    expect(errorRateFingerprint(checkout)).toBe('rule:error_rate:shop:POST /checkout');
    expect(errorRateStateKey(checkout)).toBe('error_rate:shop:POST /checkout');
    // Target names cannot hold a space or colon (nameSchema), and no target rule is called error_rate.
    expect(errorRateStateKey(checkout)).not.toBe(ruleStateKey('error_rate', 'shop'));
  });

  it('fires, holds between the thresholds and resolves, stepped like the other rules', () => {
    let state = initialRuleState({ rule: 'error_rate', target: 'POST /checkout', service: 'shop', now: 0 });
    const events = [0.3, 0.08, 0.05, 0.2].map((ratio, i) => {
      const next = stepRule(state, { value: ratio }, rule, i + 1);
      state = next.state;
      return next.event;
    });
    expect(events).toEqual(['fire', 'firing', 'resolve', 'fire']);
  });
});

describe('measureErrorRate (properties)', () => {
  const arbRollups = fc
    .array(
      fc.record({
        minute: fc.integer({ min: 0, max: 40 }),
        slot: fc.integer({ min: 0, max: 5 }),
        requests: fc.integer({ min: 0, max: 30 }),
        failRatio: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
      { maxLength: 80 },
    )
    .map((rows) =>
      rows.map((r) =>
        rollup(NOW - r.minute * MIN - r.slot * 10_000, {
          requests: r.requests,
          failures: Math.floor(r.requests * r.failRatio),
        }),
      ),
    );

  it('is between 0 and the ratio, 0 under the minimum volume, and the same in any order', () => {
    fc.assert(
      fc.property(arbRollups, (rollups) => {
        const m = measure(rollups);
        expect(m.value).toBeGreaterThanOrEqual(0);
        expect(m.value).toBeLessThanOrEqual(m.ratio + 1e-12);
        if (m.requests < rule.minRequests) expect(m.value).toBe(0);
        expect(measure([...rollups].reverse())).toEqual(m);
      }),
    );
  });

  it('more failures in the look-back never raise the value', () => {
    fc.assert(
      fc.property(arbRollups, fc.integer({ min: 2, max: 30 }), (rollups, minute) => {
        const worse = rollups.map((r) =>
          r.bucket <= NOW - minute * MIN ? { ...r, failures: r.requests } : r,
        );
        expect(measure(worse).value).toBeLessThanOrEqual(measure(rollups).value + 1e-12);
      }),
    );
  });
});
