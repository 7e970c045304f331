import type { Finding, FindingKind } from '../core/finding.js';
import type { FindingCursor, IncidentStore } from '../core/incident-store.js';
import {
  DEFAULT_METRICS_TIERS,
  resolutionFor,
  windowTopStatements,
  type MetricsTier,
} from '../core/metrics-downsampling.js';
import type { MetricsQuery } from '../core/metrics-repository.js';
import {
  meanExecMs,
  seriesValue,
  type SeriesMetric,
  type SeriesPoint,
  type StatementPoint,
} from '../core/metrics-series.js';

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
    const points = await this.#read(resolutionMs, query, (q) => this.#store.metrics.points(q));
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
    // Statements are read at a resolution of at most ~1,440 intervals a window (1 min for a day).
    const resolutionMs = resolutionFor(this.#tiers, { from: query.from, to: query.to, now }, 1_440);
    const rows = await this.#read(resolutionMs, query, (q) => this.#store.metrics.statements(q));
    return {
      target: query.target,
      from: query.from,
      to: query.to,
      statements: windowTopStatements(rows, query.limit ?? 20).map((s) => ({
        queryId: s.queryId,
        query: s.query,
        calls: s.calls,
        totalExecMs: s.totalExecMs,
        meanExecMs: meanExecMs(s),
        rows: s.rows,
      })),
    };
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
