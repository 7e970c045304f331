/**
 * Compact database metrics (issue 12: "a year of 100 targets stays cheap"). 0004 kept a point as
 * jsonb (964 B a point with its indexes, bench:metrics) and a row per statement per interval
 * (170 B a row, 20 an interval): 283 MB per target at steady state. Now:
 * - `metric_series`: one row per target and interval, its values a float8 array in the order of
 *   core/metrics-series.ts SERIES_METRICS (that order only grows: a metric added later is a
 *   longer array; NULL = not known);
 * - `metric_statement_sets`: one row per target and interval, the interval's top statements as
 *   parallel arrays (query ids, calls, total time, rows), largest total time first; texts stay
 *   once per target and query id in `metric_statement_texts`;
 * - statements are kept from the 1 min tier up (the agent reads pg_stat_statements once a minute).
 * Same partitioning as 0004 (by range of resolution and time, created ahead, dropped whole);
 * 0004's partitions are recreated under the new tables and their rows converted, then 0004's
 * tables dropped: no data is lost (0004's 10 s statements are kept and expire with their day).
 */
export const sql = /* sql */ `
CREATE TABLE metric_series (
  resolution_ms integer NOT NULL,
  at            bigint NOT NULL,
  target        text COLLATE "C" NOT NULL,
  samples       integer NOT NULL,
  "values"      double precision[] NOT NULL,
  PRIMARY KEY (resolution_ms, target, at)
) PARTITION BY RANGE (resolution_ms, at);
-- the downsampling job's "first and last interval of a resolution"
CREATE INDEX metric_series_resolution_at ON metric_series (resolution_ms, at);

CREATE TABLE metric_statement_sets (
  resolution_ms integer NOT NULL,
  at            bigint NOT NULL,
  target        text COLLATE "C" NOT NULL,
  query_ids     bigint[] NOT NULL,
  calls         double precision[] NOT NULL,
  total_exec_ms double precision[] NOT NULL,
  "rows"        double precision[] NOT NULL,
  PRIMARY KEY (resolution_ms, target, at)
) PARTITION BY RANGE (resolution_ms, at);

DO $$
DECLARE
  part record;
BEGIN
  FOR part IN
    SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
    FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'metric_points'::regclass
  LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF metric_series %s',
      replace(part.name, 'metric_points_', 'metric_series_'), part.bound);
    EXECUTE format('CREATE TABLE %I PARTITION OF metric_statement_sets %s',
      replace(part.name, 'metric_points_', 'metric_statement_sets_'), part.bound);
  END LOOP;
END
$$;

INSERT INTO metric_series (resolution_ms, at, target, samples, "values")
SELECT p.resolution_ms, p.at, p.target, p.samples, ARRAY[
      (p."values"->>'sessions_active')::float8,
      (p."values"->>'sessions_idle')::float8,
      (p."values"->>'sessions_idle_in_transaction')::float8,
      (p."values"->>'sessions_idle_in_transaction_aborted')::float8,
      (p."values"->>'sessions_other')::float8,
      (p."values"->>'active_cpu')::float8,
      (p."values"->>'active_lock')::float8,
      (p."values"->>'active_lwlock')::float8,
      (p."values"->>'active_io')::float8,
      (p."values"->>'active_ipc')::float8,
      (p."values"->>'active_client')::float8,
      (p."values"->>'active_other')::float8,
      (p."values"->>'lock_waits')::float8,
      (p."values"->>'lock_waits_peak')::float8,
      (p."values"->>'connections')::float8,
      (p."values"->>'connections_peak')::float8,
      (p."values"->>'max_connections')::float8,
      (p."values"->>'longest_transaction_ms')::float8,
      (p."values"->>'oldest_idle_in_transaction_ms')::float8,
      (p."values"->>'commits')::float8,
      (p."values"->>'rollbacks')::float8,
      (p."values"->>'deadlocks')::float8,
      (p."values"->>'temp_bytes')::float8,
      (p."values"->>'blocks_hit')::float8,
      (p."values"->>'blocks_read')::float8
    ]
FROM metric_points AS p;

INSERT INTO metric_statement_sets (resolution_ms, at, target, query_ids, calls, total_exec_ms, "rows")
SELECT s.resolution_ms, s.at, s.target,
  array_agg(s.query_id::bigint ORDER BY s.total_exec_ms DESC, s.query_id),
  array_agg(s.calls ORDER BY s.total_exec_ms DESC, s.query_id),
  array_agg(s.total_exec_ms ORDER BY s.total_exec_ms DESC, s.query_id),
  array_agg(s."rows" ORDER BY s.total_exec_ms DESC, s.query_id)
FROM metric_statements AS s
GROUP BY s.resolution_ms, s.at, s.target;

DROP TABLE metric_points;
DROP TABLE metric_statements;
`;
