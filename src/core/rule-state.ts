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
