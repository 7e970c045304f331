/**
 * Where one rule stands for one target (or service): kept in the store so that every rule cycle
 * recomputes from it, on any replica, after any restart. ok → pending (over the threshold, waiting
 * out `for`) → firing → back to ok once the value is at or below the resolve threshold.
 */
export type RulePhase = 'ok' | 'pending' | 'firing';

export interface RuleState {
  /** `<rule>:<target>`; unique. */
  readonly key: string;
  readonly rule: string;
  readonly target: string;
  readonly service: string;
  readonly phase: RulePhase;
  /** When the current phase began. */
  readonly since: number;
  /**
   * The value measured when the state was last written — on a change of phase or alert, or a
   * refresh of its alert — not at every evaluation: 10,000 steady firing rules write nothing.
   */
  readonly value: number;
  /** The firing alert this rule raised, while `firing`. */
  readonly alertId: string | null;
  /** When the state was last written (see `value`). */
  readonly evaluatedAt: number;
}

/**
 * Is `next` worth writing? A first state only when it is not ok; after that, when its alert was
 * refreshed or its phase, start, alert or service changed — not at every evaluation, so steady
 * rules write nothing.
 */
export const ruleStateChanged = (
  previous: RuleState | undefined,
  next: RuleState,
  refreshed: boolean,
): boolean =>
  previous === undefined
    ? next.phase !== 'ok'
    : refreshed ||
      previous.phase !== next.phase ||
      previous.since !== next.since ||
      previous.alertId !== next.alertId ||
      previous.service !== next.service;
