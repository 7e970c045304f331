import { HindsightError } from '../core/errors.js';
import type { Finding, FindingKind } from '../core/finding.js';
import type { FindingCursor, IncidentStore } from '../core/incident-store.js';
import {
  DEFAULT_METRICS_TIERS,
  resolutionFor,
  statementTiers,
  windowTopStatements,
  type MetricsTier,
} from '../core/metrics-downsampling.js';
import type { MetricsQuery, StatementTotal } from '../core/metrics-repository.js';
import {
  meanExecMs,
  metricInputs,
  seriesValue,
  type SeriesMetric,
  type SeriesPoint,
  type StatementPoint,
} from '../core/metrics-series.js';

/** A series or statements asked of a target nobody knows (HTTP 404). */
export const METRICS_TARGET_NOT_FOUND = 'TARGET_NOT_FOUND';

export interface SeriesAnswer {
  readonly target: string;
  readonly metric: SeriesMetric;
  readonly resolutionMs: number;
  /** Oldest first; a point whose metric is unknown has value null. */
  readonly points: readonly { readonly at: number; readonly value: number | null }[];
}

export interface StatementSummary {
  readonly queryId: string;
  readonly query: string;
  readonly calls: number;
  readonly totalExecMs: number;
  readonly meanExecMs: number;
  readonly rows: number;
}

export interface StatementsAnswer {
  readonly target: string;
  readonly from: number;
  readonly to: number;
  readonly statements: readonly StatementSummary[];
}

export interface FindingHistoryQuery {
  readonly since: number;
  readonly until?: number;
  readonly target?: string;
  readonly kinds?: readonly FindingKind[];
  readonly after?: FindingCursor;
  readonly limit?: number;
}

/**
 * What the history API reads: a metric over a window at the resolution the window calls for,
 * the top statements of a window, and findings with filters. The newest part of a window that
 * the coarser tier has not computed yet (downsampling lags a few minutes) is read from the finer
 * tiers, so a window ending now has no gap at its end.
 */
export class MetricsQueries {
  readonly #store: IncidentStore;
  readonly #tiers: readonly MetricsTier[];

  constructor(deps: { readonly store: IncidentStore; readonly tiers?: readonly MetricsTier[] }) {
    this.#store = deps.store;
    this.#tiers = deps.tiers ?? DEFAULT_METRICS_TIERS;
  }

  async series(
    query: { target: string; metric: SeriesMetric; from: number; to: number },
    now: number,
  ): Promise<SeriesAnswer> {
    const resolutionMs = resolutionFor(this.#tiers, { from: query.from, to: query.to, now });
    const metrics = metricInputs(query.metric);
    const points = await this.#read(resolutionMs, query, (q) =>
      this.#store.metrics.points({ ...q, metrics }),
    );
    if (points.length === 0) await this.#known(query.target);
    return {
      target: query.target,
      metric: query.metric,
      resolutionMs,
      points: points.map((p: SeriesPoint) => ({ at: p.at, value: seriesValue(p, query.metric) })),
    };
  }

  /** Top statements by total time over the window (summed per query id), at most `limit` (default 20). */
  async statements(
    query: { target: string; from: number; to: number; limit?: number },
    now: number,
  ): Promise<StatementsAnswer> {
    // Summed in the store at a resolution of at most ~1,440 intervals a window (1 min for a day);
    // the newest part the job has not rolled up yet is summed from the finer tiers.
    const tiers = statementTiers(this.#tiers);
    const resolutionMs = resolutionFor(tiers, { from: query.from, to: query.to, now }, 1_440);
    const limit = query.limit ?? 20;
    const parts = await this.#totals(tiers, resolutionMs, query, limit);
    if (parts.length === 0) await this.#known(query.target);
    return {
      target: query.target,
      from: query.from,
      to: query.to,
      statements: windowTopStatements(
        parts.map((p) => ({ ...p, target: query.target, at: 0, resolutionMs })),
        limit,
      ).map((s) => ({
        queryId: s.queryId,
        query: s.query,
        calls: s.calls,
        totalExecMs: s.totalExecMs,
        meanExecMs: meanExecMs(s),
        rows: s.rows,
      })),
    };
  }

  /**
   * Totals of each tier's part of the window: the coarse tier up to the end of what the job has
   * computed (the job rolls every target up together), the finer tiers after it. A statement in
   * the top of one part only is counted with what that part knows of it.
   */
  async #totals(
    tiers: readonly MetricsTier[],
    resolutionMs: number,
    window: { target: string; from: number; to: number },
    limit: number,
  ): Promise<StatementTotal[]> {
    const index = tiers.findIndex((t) => t.resolutionMs === resolutionMs);
    const finer = tiers[index - 1];
    const latest =
      finer === undefined
        ? null
        : ((await this.#store.metrics.extent(resolutionMs, window.from))?.latest ?? null);
    const covered =
      finer === undefined
        ? window.to
        : Math.min(window.to, latest === null ? window.from : latest + resolutionMs);
    const own =
      covered > window.from
        ? await this.#store.metrics.statementTotals(
            { resolutionMs, from: window.from, until: covered, target: window.target },
            limit * 2,
          )
        : [];
    if (finer === undefined || covered >= window.to) return own;
    return [...own, ...(await this.#totals(tiers, finer.resolutionMs, { ...window, from: covered }, limit))];
  }

  /**
   * An empty answer for a name that is neither in the catalog nor reported by an agent is a typo
   * more often than a quiet target: say so (404) rather than answer nothing. A target with data
   * in the window is answered even if it has left the catalog since (its history stays readable).
   */
  async #known(target: string): Promise<void> {
    if ((await this.#store.targets.get(target)) !== null) return;
    if ((await this.#store.targets.health()).some((h) => h.target === target)) return;
    throw new HindsightError({
      code: METRICS_TARGET_NOT_FOUND,
      kind: 'user',
      message: `no target named "${target}" and no metrics kept for it in this window; list targets with GET /api/v1/targets`,
    });
  }

  findings(query: FindingHistoryQuery): Promise<Finding[]> {
    return this.#store.findings.list(query);
  }

  /** Rows of `resolutionMs` over the window, then what follows its last row from the finer tiers. */
  async #read<T extends SeriesPoint | StatementPoint>(
    resolutionMs: number,
    window: { target: string; from: number; to: number },
    read: (q: MetricsQuery) => Promise<T[]>,
  ): Promise<T[]> {
    const index = this.#tiers.findIndex((t) => t.resolutionMs === resolutionMs);
    const rows = await read({ resolutionMs, from: window.from, until: window.to, target: window.target });
    const finer = this.#tiers[index - 1];
    if (finer === undefined) return rows;
    const last = rows.at(-1);
    const covered = last === undefined ? window.from : last.at + resolutionMs;
    if (covered >= window.to) return rows;
    return [
      ...rows,
      ...(await this.#read(finer.resolutionMs, { ...window, from: Math.max(window.from, covered) }, read)),
    ];
  }
}
