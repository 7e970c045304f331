import type { DetectorContext } from './detector-context.js';
import type { TargetRecoveredFinding, TargetUnreachableFinding } from './finding.js';

type HealthState = { readonly kind: 'up' } | { readonly kind: 'down'; readonly since: number };

/** Target unreachable / recovered: each reported once per outage. */
export interface TargetHealth {
  onUnreachable(reason: string): TargetUnreachableFinding[];
  onReachable(): TargetRecoveredFinding[];
}

export const createTargetHealth = (ctx: DetectorContext): TargetHealth => {
  let state: HealthState = { kind: 'up' };
  return {
    onUnreachable(reason) {
      if (state.kind === 'down') return [];
      const at = ctx.clock.now();
      state = { kind: 'down', since: at };
      return [
        {
          kind: 'target_unreachable',
          id: ctx.ids.next('target_unreachable'),
          target: ctx.target,
          at,
          reason,
        },
      ];
    },
    onReachable() {
      if (state.kind === 'up') return [];
      const at = ctx.clock.now();
      const downMs = Math.max(0, at - state.since);
      state = { kind: 'up' };
      return [
        { kind: 'target_recovered', id: ctx.ids.next('target_recovered'), target: ctx.target, at, downMs },
      ];
    },
  };
};
