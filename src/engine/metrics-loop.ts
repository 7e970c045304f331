import type { MetricsMaintenanceReport } from '../app/metrics-maintenance.js';
import { CycleLoop, type CycleLoopOptions } from './cycle-loop.js';

/** What the loop drives: `MetricsMaintenance` from app/. */
export interface MetricsMaintenanceRunner {
  run(now: number): Promise<MetricsMaintenanceReport>;
}

/**
 * The metrics downsampling job on a `CycleLoop`: every minute by default, and again at once while
 * a pass reports more to catch up (after a stop, a day of 10 s points is rolled up in steps).
 */
export class MetricsLoop extends CycleLoop<MetricsMaintenanceReport> {
  constructor(job: MetricsMaintenanceRunner, options: CycleLoopOptions<MetricsMaintenanceReport>) {
    super((now) => job.run(now), {
      name: 'metrics',
      intervalMs: 60_000,
      ...options,
      onCycle: (report, durationMs) => {
        options.onCycle?.(report, durationMs);
        if (report.more) this.nudge();
      },
    });
  }
}
