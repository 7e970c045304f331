import type { DetectorContext } from './detector-context.js';
import type { LockWaitStormFinding } from './finding.js';
import type { Sample } from './sample.js';

/**
 * Many sessions waiting on locks of one relation at once, reported once per storm. A storm ends
 * when its waiters fall below half the threshold, so a count hovering at the threshold does not
 * report the same storm again and again.
 */
export interface LockWaitStormWatch {
  onSample(sample: Sample): LockWaitStormFinding[];
  reset(): void;
}

export const createLockWaitStormWatch = (ctx: DetectorContext): LockWaitStormWatch => {
  const raging = new Set<string>();
  return {
    onSample(sample) {
      const counts = new Map<string, number>();
      for (const wait of sample.lockWaits) {
        const relation = wait.relation ?? (wait.relationOid === undefined ? null : `oid ${wait.relationOid}`);
        if (relation !== null) counts.set(relation, (counts.get(relation) ?? 0) + 1);
      }
      const findings: LockWaitStormFinding[] = [];
      const calm = Math.ceil(ctx.thresholds.stormWaiters / 2);
      for (const relation of [...raging]) if ((counts.get(relation) ?? 0) < calm) raging.delete(relation);
      for (const [relation, waiters] of counts) {
        if (waiters < ctx.thresholds.stormWaiters || raging.has(relation)) continue;
        raging.add(relation);
        findings.push({
          kind: 'lock_wait_storm',
          id: ctx.ids.next('lock_wait_storm'),
          target: ctx.target,
          at: sample.takenAt,
          relation,
          waiters,
        });
      }
      return findings;
    },
    reset() {
      raging.clear();
    },
  };
};
