import type { IncidentStore, StoreRepositories } from '../core/incident-store.js';
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
  /**
   * How far back each pass looks for finer points that arrived after their coarser interval was
   * computed (an agent's pushes held back by an outage), and computes those intervals again.
   * Default 1 h: later than that, a point is kept at its own resolution only.
   */
  readonly lateMs?: number;
}

export interface MetricsMaintenanceReport {
  /** Points written per coarser resolution this pass. */
  readonly rolledUp: readonly {
    readonly resolutionMs: number;
    readonly points: number;
    readonly statements: number;
  }[];
  /** Coarser intervals computed again this pass because finer points arrived late. */
  readonly recomputed: number;
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
  readonly #lateMs: number;

  constructor(deps: MetricsMaintenanceDeps) {
    this.#store = deps.store;
    this.#tiers = deps.tiers ?? DEFAULT_METRICS_TIERS;
    this.#lagMs = deps.lagMs ?? 120_000;
    this.#lateMs = deps.lateMs ?? 3_600_000;
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
      let recomputed = 0;
      for (let i = 1; i < this.#tiers.length; i += 1) {
        const tier = this.#tiers[i];
        const finer = this.#tiers[i - 1];
        if (tier === undefined || finer === undefined) continue;
        // About 360 finer intervals per target and pass: a catch-up after a long stop is done in steps.
        const maxBuckets = Math.max(1, Math.floor((360 * finer.resolutionMs) / tier.resolutionMs));
        const lastAt = (await tx.metrics.extent(tier.resolutionMs))?.latest ?? null;
        // Intervals computed by earlier passes whose finer points changed since (late arrivals).
        if (lastAt !== null)
          recomputed += await this.#late(tx, { tier, finer, now, until: lastAt + tier.resolutionMs });
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
        const statements = downsampleStatements(
          await tx.metrics.statements(query),
          tier.resolutionMs,
          tier.topStatements,
        );
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
      return { rolledUp, recomputed, partitionsCreated, partitionsDropped, more };
    });
  }

  /**
   * Compares, over the last `lateMs` of what `tier` has computed, each interval's samples with the
   * sum of its finer points' samples: where they differ (points arrived or were replaced after the
   * interval was computed) the interval is computed again, points and statements. Stateless, as
   * the rest of the pass: no watermark to lose, any replica finds the same. Returns how many.
   */
  async #late(
    tx: StoreRepositories,
    step: { tier: MetricsTier; finer: MetricsTier; now: number; until: number },
  ): Promise<number> {
    const res = step.tier.resolutionMs;
    const from = Math.max(
      Math.floor((step.now - this.#lateMs) / res) * res - res,
      Math.floor(expiryOf(step.tier, step.now) / res) * res + res,
    );
    if (from >= step.until) return 0;
    const window = { from, until: step.until };
    const [finer, coarse] = await Promise.all([
      tx.metrics.sampleCounts({ resolutionMs: step.finer.resolutionMs, ...window }, res),
      tx.metrics.points({ resolutionMs: res, ...window, metrics: [] }),
    ]);
    const computed = new Map(coarse.map((p) => [`${String(p.at)}\0${p.target}`, p.samples]));
    const stale = finer.filter((f) => computed.get(`${String(f.at)}\0${f.target}`) !== f.samples);
    for (const { target, at } of stale) {
      const query = { resolutionMs: step.finer.resolutionMs, from: at, until: at + res, target };
      await tx.metrics.savePoints(downsample(await tx.metrics.points(query), res));
      const statements = downsampleStatements(
        await tx.metrics.statements(query),
        res,
        step.tier.topStatements,
      );
      if (statements.length > 0) await tx.metrics.saveStatements(statements);
    }
    return stale.length;
  }
}
