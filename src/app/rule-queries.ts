import type { AlertRule } from '../core/alert-rule.js';
import type { RuleOverride } from '../core/catalog.js';
import type { IncidentStore } from '../core/incident-store.js';
import type { ErrorRateRule } from '../core/error-rate-rule.js';
import type { RuleState } from '../core/rule-state.js';
import { errorRateRuleFor } from './error-rate-cycle.js';
import type { MetricRule } from '../core/metric-rules.js';
import { metricRulesFor } from './metric-rule-cycle.js';
import { rulesFor } from './rule-cycle.js';

/** The rules as the API shows them: built-in defaults, overrides applied. */
export class RuleQueries {
  readonly #store: IncidentStore;
  readonly #overrides: Readonly<Record<string, RuleOverride>>;

  constructor(deps: { store: IncidentStore; overrides?: Readonly<Record<string, RuleOverride>> }) {
    this.#store = deps.store;
    this.#overrides = deps.overrides ?? {};
  }

  /** Every built-in rule with the configuration's top-level `rules:` overrides (the app's `error_rate`, then the database metric rules). */
  listRules(): (AlertRule | ErrorRateRule | MetricRule)[] {
    return [
      ...rulesFor(this.#overrides, null, null),
      errorRateRuleFor(this.#overrides, null),
      ...metricRulesFor(this.#overrides, null, null),
    ];
  }

  /**
   * The rules in force for a service and, when named, one of its targets (built-in ← `rules:` ←
   * service ← target). Unknown names add no overrides.
   */
  async effectiveRules(
    service: string | null,
    target: string | null = null,
  ): Promise<(AlertRule | ErrorRateRule | MetricRule)[]> {
    const [s, t] = await Promise.all([
      service === null ? null : this.#store.services.get(service),
      target === null ? null : this.#store.targets.get(target),
    ]);
    return [
      ...rulesFor(this.#overrides, s, t),
      errorRateRuleFor(this.#overrides, s),
      ...metricRulesFor(this.#overrides, s, t),
    ];
  }

  /** Where every rule stands for every target (ok, pending, firing). */
  states(): Promise<RuleState[]> {
    return this.#store.ruleStates.list();
  }
}
