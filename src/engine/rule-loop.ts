import type { RuleCycleReport } from '../app/rule-cycle.js';
import { CycleLoop, type CycleLoopOptions } from './cycle-loop.js';

/** What the loop drives: `RuleCycle` from app/. */
export interface RuleCycleRunner {
  run(now: number): Promise<RuleCycleReport>;
}

export type RuleLoopOptions = CycleLoopOptions<RuleCycleReport>;

/** The rule cycle on a `CycleLoop`: every second, and at once when findings arrive (a nudge). */
export class RuleLoop extends CycleLoop<RuleCycleReport> {
  constructor(cycle: RuleCycleRunner, options: RuleLoopOptions) {
    super((now) => cycle.run(now), { name: 'rule', ...options });
  }
}
