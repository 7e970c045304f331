/**
 * Database metrics (issue 12): a series point per target and interval, and the top statements of
 * each interval, at every resolution of the downsampling tiers. Both tables are partitioned by
 * range of (resolution, time): a partition holds one resolution over one span
 * (core/metrics-downsampling.ts `partitionOf`: a day at 10 s, 30 days at 1 h), created ahead by
 * the metrics job and dropped whole once expired — no DELETE, no bloat, no vacuum debt. Partitions
 * are named `<table>_r<resolution ms>_<start ms>`. Query texts are kept once per target and query
 * id, not per interval.
 */
export const sql = /* sql */ `
CREATE TABLE metric_points (
  resolution_ms integer NOT NULL,
  at            bigint NOT NULL,
  target        text COLLATE "C" NOT NULL,
  samples       integer NOT NULL,
  -- metric name -> value (core/metrics-series.ts SERIES_METRICS); absent when unknown
  "values"      jsonb NOT NULL,
  PRIMARY KEY (resolution_ms, target, at)
) PARTITION BY RANGE (resolution_ms, at);
-- the downsampling job's "first and last interval of a resolution"
CREATE INDEX metric_points_resolution_at ON metric_points (resolution_ms, at);

CREATE TABLE metric_statements (
  resolution_ms integer NOT NULL,
  at            bigint NOT NULL,
  target        text COLLATE "C" NOT NULL,
  query_id      text COLLATE "C" NOT NULL,
  calls         double precision NOT NULL,
  total_exec_ms double precision NOT NULL,
  "rows"        double precision NOT NULL,
  PRIMARY KEY (resolution_ms, target, at, query_id)
) PARTITION BY RANGE (resolution_ms, at);

CREATE TABLE metric_statement_texts (
  target    text COLLATE "C" NOT NULL,
  query_id  text COLLATE "C" NOT NULL,
  query     text NOT NULL,
  last_seen bigint NOT NULL,
  PRIMARY KEY (target, query_id)
);
`;
