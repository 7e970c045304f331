import type { RuleSettings } from './alert-rule.js';
import type { RuleMeasurement } from './rule-measure.js';
import type { RuleState } from './rule-state.js';

/**
 * What one evaluation did: `pending` (crossed the threshold, waiting out `for`), `fire` (started
 * firing), `firing` (still firing), `resolve` (back to ok), `none` (nothing to tell).
 */
export type RuleEvent = 'none' | 'pending' | 'fire' | 'firing' | 'resolve';

export interface RuleStep {
  readonly state: RuleState;
  readonly event: RuleEvent;
}

export const ruleStateKey = (rule: string, target: string): string => `${rule}:${target}`;

/** A rule that has never been evaluated for this target. */
export const initialRuleState = (init: {
  rule: string;
  target: string;
  service: string;
  now: number;
}): RuleState => ({
  key: ruleStateKey(init.rule, init.target),
  rule: init.rule,
  target: init.target,
  service: init.service,
  phase: 'ok',
  since: init.now,
  value: 0,
  alertId: null,
  evaluatedAt: init.now,
});

/**
 * One evaluation of a rule: ok → pending (value ≥ threshold; back to ok if it drops under the
 * threshold before `for` has passed) → firing → ok again once the value is at or below the resolve
 * threshold *and* under the threshold. A value between the two thresholds keeps whatever phase it
 * finds, so a value that oscillates there fires and resolves at most once per full crossing.
 * A disabled rule resolves. `alertId` is carried as is: the caller sets it when the rule fires and
 * this function clears it when the rule resolves.
 */
export const stepRule = (
  previous: RuleState,
  measurement: Pick<RuleMeasurement, 'value'>,
  rule: Pick<RuleSettings, 'enabled' | 'threshold' | 'resolveThreshold' | 'forMs'>,
  now: number,
): RuleStep => {
  const value = rule.enabled ? measurement.value : 0;
  const base: RuleState = { ...previous, value, evaluatedAt: now };
  const over = rule.enabled && value >= rule.threshold;
  switch (previous.phase) {
    case 'ok':
      if (!over) return { state: base, event: 'none' };
      if (rule.forMs <= 0) return { state: { ...base, phase: 'firing', since: now }, event: 'fire' };
      return { state: { ...base, phase: 'pending', since: now }, event: 'pending' };
    case 'pending':
      if (!over) return { state: { ...base, phase: 'ok', since: now }, event: 'none' };
      if (now - previous.since >= rule.forMs)
        return { state: { ...base, phase: 'firing', since: now }, event: 'fire' };
      return { state: base, event: 'none' };
    case 'firing': {
      const calm = !rule.enabled || (value <= rule.resolveThreshold && value < rule.threshold);
      if (calm) return { state: { ...base, phase: 'ok', since: now, alertId: null }, event: 'resolve' };
      return { state: base, event: 'firing' };
    }
  }
};
