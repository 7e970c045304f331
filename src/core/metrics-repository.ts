import type { SeriesPoint, StatementPoint, StoredMetric } from './metrics-series.js';

/** Points of one resolution in a window [from, until): one target, or all when absent. */
export interface MetricsQuery {
  readonly resolutionMs: number;
  readonly from: number;
  readonly until: number;
  readonly target?: string;
  /** Only these metrics in each point's values (a series reads one): less to send and parse. */
  readonly metrics?: readonly StoredMetric[];
}

/** A statement's figures summed over a window. */
export interface StatementTotal {
  readonly queryId: string;
  readonly query: string;
  readonly calls: number;
  readonly totalExecMs: number;
  readonly rows: number;
}

/** A time partition of one resolution: [from, until), as `partitionOf` (metrics-downsampling.ts) cuts them. */
export interface MetricsPartition {
  readonly resolutionMs: number;
  readonly from: number;
  readonly until: number;
}

/**
 * Series points and top statements per target and resolution (metrics-series.ts), kept in time
 * partitions so that old data is dropped a partition at a time, never row by row. A point or
 * statement outside any partition makes its partition first.
 */
export interface MetricsRepository {
  /** Upserts by (target, resolution, at): a recomputed rollup replaces the previous one. */
  savePoints(points: readonly SeriesPoint[]): Promise<void>;
  /**
   * Saves intervals' top statements: those of each (target, resolution, at) in `rows` replace what
   * that interval held (an interval is saved whole — a recomputed rollup, a retried push). The
   * query text is kept once per target and id.
   */
  saveStatements(rows: readonly StatementPoint[]): Promise<void>;
  /** Oldest first, then by target (code-unit order). */
  points(query: MetricsQuery): Promise<SeriesPoint[]>;
  /** Oldest first, then target, then largest total time first, then query id. */
  statements(query: MetricsQuery): Promise<StatementPoint[]>;
  /**
   * The statements of a window summed per query id, largest total time first (then query id), at
   * most `limit`: the top statements of a window without reading every interval's rows.
   */
  statementTotals(query: MetricsQuery, limit: number): Promise<StatementTotal[]>;
  /**
   * Samples of the points of a window summed per target and `bucketMs` interval (its start): how
   * the downsampling job sees that finer points arrived after their coarser interval was computed.
   */
  sampleCounts(
    query: MetricsQuery,
    bucketMs: number,
  ): Promise<{ readonly target: string; readonly at: number; readonly samples: number }[]>;
  /** The first and last interval start stored at a resolution (any target), at or after `since`; null when none. */
  extent(
    resolutionMs: number,
    since?: number,
  ): Promise<{ readonly oldest: number; readonly latest: number } | null>;
  /** Makes the partitions of a resolution covering [from, until) (the job makes them ahead). Returns how many were new. */
  preparePartitions(resolutionMs: number, from: number, until: number): Promise<number>;
  /** Drops the partitions of a resolution that end at or before `before`, with their rows; returns them. */
  dropPartitions(resolutionMs: number, before: number): Promise<MetricsPartition[]>;
  /** By resolution, then time. */
  partitions(): Promise<MetricsPartition[]>;
}
