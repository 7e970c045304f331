import { createBlockingEpisodeWatch } from './blocking-episode.js';
import { createDeadlockWatch } from './deadlock-watch.js';
import { DEFAULT_THRESHOLDS } from './detector-context.js';
import type { DetectorContext, DetectorThresholds } from './detector-context.js';
import type { Finding } from './finding.js';
import { createLockWaitStormWatch } from './lock-wait-storm.js';
import type { DeadlockReport } from './log-event.js';
import type { Clock, IdSource } from './ports.js';
import type { Sample } from './sample.js';
import { createTargetHealth } from './target-health.js';
import { createTransactionWatch } from './transaction-watch.js';
import { buildWaitForGraph } from './wait-for-graph.js';

export interface FindingDetectorOptions {
  /** The target's name, as findings carry it. */
  readonly target: string;
  /** Times of log reports without one, and of outages. Samples bring their own `takenAt`. */
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly thresholds?: Partial<DetectorThresholds>;
  /** Our own `application_name`, ignored as a long or idle transaction. Default `hindsight-agent`. */
  readonly ownApplication?: string;
}

/** Turns one target's samples, log deadlock reports and outages into findings. Pure: no I/O. */
export interface FindingDetector {
  onSample(sample: Sample): Finding[];
  onDeadlockReport(report: DeadlockReport): Finding[];
  onUnreachable(reason: string): Finding[];
  onReachable(): Finding[];
}

export const createFindingDetector = (options: FindingDetectorOptions): FindingDetector => {
  const ctx: DetectorContext = {
    target: options.target,
    clock: options.clock,
    ids: options.ids,
    thresholds: { ...DEFAULT_THRESHOLDS, ...options.thresholds },
    ownApplication: options.ownApplication ?? 'hindsight-agent',
  };
  const health = createTargetHealth(ctx);
  const deadlocks = createDeadlockWatch(ctx);
  const episodes = createBlockingEpisodeWatch(ctx);
  const storms = createLockWaitStormWatch(ctx);
  const transactions = createTransactionWatch(ctx);
  return {
    onSample(sample) {
      const graph = buildWaitForGraph(sample.lockWaits);
      // A sample is proof the target answers, whether or not the caller said so first.
      return [
        ...health.onReachable(),
        ...deadlocks.onSample(sample, graph),
        ...episodes.onSample(sample, graph),
        ...storms.onSample(sample),
        ...transactions.onSample(sample),
      ];
    },
    onDeadlockReport(report) {
      return deadlocks.onDeadlockReport(report);
    },
    onUnreachable(reason) {
      const findings: Finding[] = [...health.onUnreachable(reason)];
      if (findings.length === 0) return [];
      findings.push(...episodes.onUnreachable());
      deadlocks.onUnreachable();
      storms.reset();
      return findings;
    },
    onReachable() {
      return health.onReachable();
    },
  };
};
