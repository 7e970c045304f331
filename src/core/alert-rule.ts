import type { Severity } from './alert.js';
import type { RuleOverride } from './catalog.js';

/** The built-in rules. Each is measured by `measureRule` (rule-measure.ts). */
export type RuleName =
  | 'deadlocks'
  | 'blocking'
  | 'idle_in_transaction_blocker'
  | 'lock_wait_storm'
  | 'target_unreachable'
  | 'long_transaction';

export const RULE_NAMES: readonly RuleName[] = [
  'deadlocks',
  'blocking',
  'idle_in_transaction_blocker',
  'lock_wait_storm',
  'target_unreachable',
  'long_transaction',
];

export const isRuleName = (name: string): name is RuleName =>
  (RULE_NAMES as readonly string[]).includes(name);

/** The settings every rule has, whatever it measures: what overrides change and `stepRule` reads. */
export interface RuleSettings {
  readonly enabled: boolean;
  readonly threshold: number;
  readonly resolveThreshold: number;
  readonly windowMs: number;
  readonly forMs: number;
  readonly severity: Severity;
}

/**
 * A rule with its settings in force. It fires once its value has been at or above `threshold` for
 * `forMs`, and resolves only when the value falls to `resolveThreshold` or below (and under
 * `threshold`): a value hovering between the two changes nothing, so the alert cannot flap.
 * `windowMs` is how far back the rule looks at findings.
 */
export interface AlertRule extends RuleSettings {
  readonly name: RuleName;
  /** What the value means, for people and the API. */
  readonly description: string;
  readonly unit: 'deadlocks' | 'seconds' | 'waiters';
}

const MIN = 60_000;

export const BUILT_IN_RULES: Readonly<Record<RuleName, AlertRule>> = {
  deadlocks: {
    name: 'deadlocks',
    description: 'deadlocks in the window (summed over deadlock findings, never the raw counter)',
    unit: 'deadlocks',
    enabled: true,
    threshold: 1,
    resolveThreshold: 0,
    windowMs: 5 * MIN,
    forMs: 0,
    severity: 'critical',
  },
  blocking: {
    name: 'blocking',
    description: 'the longest blocking episode ongoing or ended in the window, in seconds',
    unit: 'seconds',
    enabled: true,
    threshold: 30,
    resolveThreshold: 10,
    windowMs: 5 * MIN,
    forMs: 0,
    severity: 'error',
  },
  idle_in_transaction_blocker: {
    name: 'idle_in_transaction_blocker',
    description: 'how long a root blocker has been idle in transaction, in seconds',
    unit: 'seconds',
    enabled: true,
    threshold: 30,
    resolveThreshold: 10,
    windowMs: 5 * MIN,
    forMs: 0,
    severity: 'error',
  },
  lock_wait_storm: {
    name: 'lock_wait_storm',
    description: 'the most sessions seen waiting on locks of one relation in the window',
    unit: 'waiters',
    enabled: true,
    threshold: 10,
    resolveThreshold: 5,
    windowMs: 5 * MIN,
    forMs: 0,
    severity: 'warning',
  },
  target_unreachable: {
    name: 'target_unreachable',
    description:
      'how long the target has been unreachable, in seconds (the window is how far back an outage start is looked for)',
    unit: 'seconds',
    enabled: true,
    threshold: 30,
    resolveThreshold: 0,
    windowMs: 7 * 24 * 60 * MIN,
    forMs: 0,
    severity: 'critical',
  },
  long_transaction: {
    name: 'long_transaction',
    description: 'the age of the oldest transaction reported long in the window, in seconds',
    unit: 'seconds',
    enabled: true,
    threshold: 300,
    resolveThreshold: 0,
    windowMs: 10 * MIN,
    forMs: 0,
    severity: 'warning',
  },
};

/**
 * A rule with overrides applied in order (later wins: e.g. global, then service, then target).
 * A threshold lowered under the default resolve threshold pulls the resolve threshold down with it.
 */
export const applyRuleOverrides = <R extends RuleSettings>(
  rule: R,
  overrides: readonly (RuleOverride | undefined)[],
): R => {
  let next = rule;
  for (const o of overrides) {
    if (o === undefined) continue;
    const threshold = o.threshold ?? next.threshold;
    next = {
      ...next,
      enabled: o.enabled ?? next.enabled,
      threshold,
      resolveThreshold: o.resolveThreshold ?? Math.min(next.resolveThreshold, threshold),
      windowMs: o.windowMs ?? next.windowMs,
      forMs: o.forMs ?? next.forMs,
      severity: o.severity ?? next.severity,
    };
  }
  return next;
};

/** Every built-in rule with the overrides that apply, by name (unknown names are ignored). */
export const effectiveRules = (
  overrideSets: readonly Readonly<Record<string, RuleOverride>>[],
): AlertRule[] =>
  RULE_NAMES.map((name) =>
    applyRuleOverrides(
      BUILT_IN_RULES[name],
      overrideSets.map((set) => set[name]),
    ),
  );

/** An incident title for a rule's alert: short and stable. */
export const ruleTitle = (rule: RuleName, target: string): string => {
  switch (rule) {
    case 'deadlocks':
      return `Deadlocks on ${target}`;
    case 'blocking':
      return `Blocking on ${target}`;
    case 'idle_in_transaction_blocker':
      return `Idle-in-transaction blocker on ${target}`;
    case 'lock_wait_storm':
      return `Lock-wait storm on ${target}`;
    case 'target_unreachable':
      return `${target} unreachable`;
    case 'long_transaction':
      return `Long transaction on ${target}`;
  }
};
