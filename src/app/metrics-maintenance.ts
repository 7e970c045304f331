import type { IncidentStore } from '../core/incident-store.js';
import {
  DEFAULT_METRICS_TIERS,
  downsample,
  downsampleStatements,
  expiryOf,
  partitionSpanMs,
  rollupWindow,
  type MetricsTier,
} from '../core/metrics-downsampling.js';

export interface MetricsMaintenanceDeps {
  readonly store: IncidentStore;
  readonly tiers?: readonly MetricsTier[];
  /** How long after an interval ends before it is rolled up (late agent pushes land first). Default 2 min. */
  readonly lagMs?: number;
}

export interface MetricsMaintenanceReport {
  /** Points written per coarser resolution this pass. */
  readonly rolledUp: readonly {
    readonly resolutionMs: number;
    readonly points: number;
    readonly statements: number;
  }[];
  readonly partitionsCreated: number;
  readonly partitionsDropped: number;
  /** A rollup was cut short (catching up): run again soon. */
  readonly more: boolean;
}

/**
 * The downsampling job, one pass at `now` (run by an engine CycleLoop): each coarser tier is
 * computed from the finer one up to the last interval ended `lagMs` ago, partitions are made ahead
 * (the next span of each tier) and expired ones dropped whole. Idempotent: rollups upsert by key,
 * so a pass run twice (or by two replicas, which serialize on the `metrics` lock) writes the same.
 */
export class MetricsMaintenance {
  readonly #store: IncidentStore;
  readonly #tiers: readonly MetricsTier[];
  readonly #lagMs: number;

  constructor(deps: MetricsMaintenanceDeps) {
    this.#store = deps.store;
    this.#tiers = deps.tiers ?? DEFAULT_METRICS_TIERS;
    this.#lagMs = deps.lagMs ?? 120_000;
  }

  get tiers(): readonly MetricsTier[] {
    return this.#tiers;
  }

  run(at: number): Promise<MetricsMaintenanceReport> {
    // Times are whole milliseconds in the store (a loop's clock may hand in a fraction).
    const now = Math.floor(at);
    return this.#store.transact('metrics', async (tx) => {
      const rolledUp: { resolutionMs: number; points: number; statements: number }[] = [];
      let more = false;
      for (let i = 1; i < this.#tiers.length; i += 1) {
        const tier = this.#tiers[i];
        const finer = this.#tiers[i - 1];
        if (tier === undefined || finer === undefined) continue;
        // About 360 finer intervals per target and pass: a catch-up after a long stop is done in steps.
        const maxBuckets = Math.max(1, Math.floor((360 * finer.resolutionMs) / tier.resolutionMs));
        const lastAt = (await tx.metrics.extent(tier.resolutionMs))?.latest ?? null;
        const next = await tx.metrics.extent(
          finer.resolutionMs,
          lastAt === null ? undefined : lastAt + tier.resolutionMs,
        );
        const window = rollupWindow(tier, { lastAt, nextFinerAt: next?.oldest ?? null }, now, {
          lagMs: this.#lagMs,
          maxBuckets,
        });
        if (window === null) continue;
        const query = { resolutionMs: finer.resolutionMs, from: window.from, until: window.until };
        const points = downsample(await tx.metrics.points(query), tier.resolutionMs);
        const statements = downsampleStatements(await tx.metrics.statements(query), tier.resolutionMs);
        await tx.metrics.savePoints(points);
        await tx.metrics.saveStatements(statements);
        rolledUp.push({
          resolutionMs: tier.resolutionMs,
          points: points.length,
          statements: statements.length,
        });
        // Cut short: more intervals were due than one pass computes.
        if (window.until < Math.floor((now - this.#lagMs) / tier.resolutionMs) * tier.resolutionMs)
          more = true;
      }
      let partitionsCreated = 0;
      let partitionsDropped = 0;
      for (const tier of this.#tiers) {
        partitionsCreated += await tx.metrics.preparePartitions(
          tier.resolutionMs,
          now,
          now + partitionSpanMs(tier.resolutionMs) + 1,
        );
        partitionsDropped += (await tx.metrics.dropPartitions(tier.resolutionMs, expiryOf(tier, now))).length;
      }
      return { rolledUp, partitionsCreated, partitionsDropped, more };
    });
  }
}
