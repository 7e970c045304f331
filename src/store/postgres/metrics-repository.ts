import { sql, type Kysely } from 'kysely';
import { partitionOf } from '../../core/metrics-downsampling.js';
import type { MetricsPartition, MetricsQuery, MetricsRepository } from '../../core/metrics-repository.js';
import {
  STORED_METRICS,
  type SeriesPoint,
  type SeriesValues,
  type StatementPoint,
} from '../../core/metrics-series.js';
import { advisoryKey } from './advisory-key.js';
import type { StoreDatabase } from './store-database.js';

/** 7 parameters a row at most: far below PostgreSQL's 65,535 per statement. */
const BATCH = 2_000;
const TABLES = ['metric_points', 'metric_statements'] as const;
const PARTITION_NAME = /^metric_points_r(\d+)_(\d+)$/;

/** Built from integers only: safe to put in DDL as an identifier. */
const partitionName = (table: (typeof TABLES)[number], p: MetricsPartition): string =>
  `${table}_r${String(p.resolutionMs)}_${String(p.from)}`;

const partitionsOf = (rows: readonly { resolutionMs: number; at: number }[]): MetricsPartition[] => {
  const found = new Map<string, MetricsPartition>();
  for (const r of rows) {
    const p = { resolutionMs: r.resolutionMs, ...partitionOf(r.resolutionMs, r.at) };
    found.set(`${String(p.resolutionMs)}/${String(p.from)}`, p);
  }
  return [...found.values()];
};

/**
 * Runs `work` in a transaction holding the partition lock (replicas creating or dropping the same
 * partitions serialize), or inside the caller's transaction when there is one.
 */
async function underPartitionLock<T>(
  db: Kysely<StoreDatabase>,
  work: (tx: Kysely<StoreDatabase>) => Promise<T>,
): Promise<T> {
  const locked = async (tx: Kysely<StoreDatabase>): Promise<T> => {
    await sql`SELECT pg_advisory_xact_lock(${advisoryKey('metric-partitions')}::bigint)`.execute(tx);
    return work(tx);
  };
  return db.isTransaction ? locked(db) : db.transaction().execute(locked);
}

/** Creates the partitions that do not exist yet (both tables); returns how many partitions were new. */
async function ensurePartitions(
  db: Kysely<StoreDatabase>,
  partitions: readonly MetricsPartition[],
): Promise<number> {
  if (partitions.length === 0) return 0;
  const names = partitions.map((p) => partitionName('metric_points', p));
  // A catalog lookup, no lock: the usual case (all there) costs one round trip.
  const missing = await sql<{ name: string }>`
    SELECT n AS name FROM unnest(${names}::text[]) AS n WHERE to_regclass(quote_ident(n)) IS NULL
  `.execute(db);
  if (missing.rows.length === 0) return 0;
  const wanted = new Set(missing.rows.map((r) => r.name));
  return underPartitionLock(db, async (tx) => {
    let created = 0;
    for (const p of partitions) {
      if (!wanted.has(partitionName('metric_points', p))) continue;
      for (const table of TABLES) {
        const bounds = `FROM (${String(p.resolutionMs)}, ${String(p.from)}) TO (${String(p.resolutionMs)}, ${String(p.until)})`;
        await sql
          .raw(
            `CREATE TABLE IF NOT EXISTS ${partitionName(table, p)} PARTITION OF ${table} FOR VALUES ${bounds}`,
          )
          .execute(tx);
      }
      created += 1;
    }
    return created;
  });
}

async function listPartitions(db: Kysely<StoreDatabase>): Promise<MetricsPartition[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_catalog.pg_inherits AS i JOIN pg_catalog.pg_class AS c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'metric_points'::regclass
  `.execute(db);
  return rows
    .flatMap((r) => {
      const m = PARTITION_NAME.exec(r.name);
      if (m === null) return [];
      const resolutionMs = Number(m[1]);
      return [{ resolutionMs, ...partitionOf(resolutionMs, Number(m[2])) }];
    })
    .sort((a, b) => a.resolutionMs - b.resolutionMs || a.from - b.from);
}

export function postgresMetrics(db: Kysely<StoreDatabase>): MetricsRepository {
  const where = (q: MetricsQuery) =>
    sql`resolution_ms = ${q.resolutionMs} AND at >= ${q.from} AND at < ${q.until}`;
  return {
    async savePoints(points) {
      if (points.length === 0) return;
      await ensurePartitions(db, partitionsOf(points));
      const rows = points.map((p) => ({
        resolution_ms: p.resolutionMs,
        at: p.at,
        target: p.target,
        samples: p.samples,
        values: JSON.stringify(p.values),
      }));
      for (let start = 0; start < rows.length; start += BATCH) {
        await db
          .insertInto('metric_points')
          .values(rows.slice(start, start + BATCH))
          .onConflict((oc) =>
            oc.columns(['resolution_ms', 'target', 'at']).doUpdateSet({
              samples: sql`excluded.samples`,
              values: sql`excluded."values"`,
            }),
          )
          .execute();
      }
    },

    async saveStatements(rows) {
      if (rows.length === 0) return;
      await ensurePartitions(db, partitionsOf(rows));
      const texts = new Map<string, { target: string; query_id: string; query: string; last_seen: number }>();
      for (const r of rows) {
        const key = `${r.target}\0${r.queryId}`;
        const seen = texts.get(key);
        if (seen === undefined || seen.last_seen < r.at)
          texts.set(key, { target: r.target, query_id: r.queryId, query: r.query, last_seen: r.at });
      }
      // In key order: replicas upserting the same texts lock them in the same order.
      const textRows = [...texts.values()].sort((a, b) =>
        a.target < b.target
          ? -1
          : a.target > b.target
            ? 1
            : a.query_id < b.query_id
              ? -1
              : a.query_id > b.query_id
                ? 1
                : 0,
      );
      for (let start = 0; start < textRows.length; start += BATCH) {
        await db
          .insertInto('metric_statement_texts')
          .values(textRows.slice(start, start + BATCH))
          .onConflict((oc) =>
            oc.columns(['target', 'query_id']).doUpdateSet({
              query: sql`CASE WHEN excluded.query <> '' THEN excluded.query ELSE metric_statement_texts.query END`,
              last_seen: sql`greatest(metric_statement_texts.last_seen, excluded.last_seen)`,
            }),
          )
          .execute();
      }
      const values = rows.map((r) => ({
        resolution_ms: r.resolutionMs,
        at: r.at,
        target: r.target,
        query_id: r.queryId,
        calls: r.calls,
        total_exec_ms: r.totalExecMs,
        rows: r.rows,
      }));
      for (let start = 0; start < values.length; start += BATCH) {
        await db
          .insertInto('metric_statements')
          .values(values.slice(start, start + BATCH))
          .onConflict((oc) =>
            oc.columns(['resolution_ms', 'target', 'at', 'query_id']).doUpdateSet({
              calls: sql`excluded.calls`,
              total_exec_ms: sql`excluded.total_exec_ms`,
              rows: sql`excluded."rows"`,
            }),
          )
          .execute();
      }
    },

    async points(query) {
      // jsonb minus the keys not asked for: one metric of 8,640 points is a fraction of the bytes.
      const drop =
        query.metrics === undefined ? null : STORED_METRICS.filter((m) => !query.metrics?.includes(m));
      const { rows } = await sql<{ target: string; at: number; samples: number; values: SeriesValues }>`
        SELECT target, at, samples, ${drop === null ? sql`"values"` : sql`"values" - ${drop}::text[]`} AS "values" FROM metric_points
        WHERE ${where(query)} ${query.target === undefined ? sql`` : sql`AND target = ${query.target}`}
        ORDER BY at, target
      `.execute(db);
      return rows.map((r): SeriesPoint => ({
        target: r.target,
        at: r.at,
        resolutionMs: query.resolutionMs,
        samples: r.samples,
        values: r.values,
      }));
    },

    async statements(query) {
      const { rows } = await sql<{
        target: string;
        at: number;
        query_id: string;
        query: string | null;
        calls: number;
        total_exec_ms: number;
        rows: number;
      }>`
        SELECT s.target, s.at, s.query_id, t.query, s.calls, s.total_exec_ms, s."rows"
        FROM metric_statements AS s
        LEFT JOIN metric_statement_texts AS t ON t.target = s.target AND t.query_id = s.query_id
        WHERE s.${where(query)} ${query.target === undefined ? sql`` : sql`AND s.target = ${query.target}`}
        ORDER BY s.at, s.target, s.total_exec_ms DESC, s.query_id
      `.execute(db);
      return rows.map((r): StatementPoint => ({
        target: r.target,
        at: r.at,
        resolutionMs: query.resolutionMs,
        queryId: r.query_id,
        query: r.query ?? '',
        calls: r.calls,
        totalExecMs: r.total_exec_ms,
        rows: r.rows,
      }));
    },

    async statementTotals(query, limit) {
      const { rows } = await sql<{
        query_id: string;
        query: string | null;
        calls: number;
        total_exec_ms: number;
        rows: number;
      }>`
        SELECT s.query_id, max(t.query) AS query, sum(s.calls) AS calls, sum(s.total_exec_ms) AS total_exec_ms, sum(s."rows") AS "rows"
        FROM metric_statements AS s
        LEFT JOIN metric_statement_texts AS t ON t.target = s.target AND t.query_id = s.query_id
        WHERE s.${where(query)} ${query.target === undefined ? sql`` : sql`AND s.target = ${query.target}`}
        GROUP BY s.query_id
        ORDER BY sum(s.total_exec_ms) DESC, s.query_id
        LIMIT ${limit}
      `.execute(db);
      return rows.map((r) => ({
        queryId: r.query_id,
        query: r.query ?? '',
        calls: r.calls,
        totalExecMs: r.total_exec_ms,
        rows: r.rows,
      }));
    },

    async extent(resolutionMs, since) {
      const { rows } = await sql<{ oldest: number | null; latest: number | null }>`
        SELECT min(at) AS oldest, max(at) AS latest FROM metric_points
        WHERE resolution_ms = ${resolutionMs} ${since === undefined ? sql`` : sql`AND at >= ${since}`}
      `.execute(db);
      const row = rows[0];
      return row?.oldest == null || row.latest == null ? null : { oldest: row.oldest, latest: row.latest };
    },

    async preparePartitions(resolutionMs, from, until) {
      const wanted: MetricsPartition[] = [];
      for (
        let at = partitionOf(resolutionMs, from).from;
        at < until;
        at = partitionOf(resolutionMs, at).until
      ) {
        wanted.push({ resolutionMs, ...partitionOf(resolutionMs, at) });
      }
      return ensurePartitions(db, wanted);
    },

    async dropPartitions(resolutionMs, before) {
      return underPartitionLock(db, async (tx) => {
        const expired = (await listPartitions(tx)).filter(
          (p) => p.resolutionMs === resolutionMs && p.until <= before,
        );
        for (const p of expired) {
          for (const table of TABLES)
            await sql.raw(`DROP TABLE IF EXISTS ${partitionName(table, p)}`).execute(tx);
        }
        if (expired.length > 0) {
          // Texts of statements no partition refers to any more.
          await sql`
            DELETE FROM metric_statement_texts AS t WHERE t.last_seen < ${before}
              AND NOT EXISTS (SELECT 1 FROM metric_statements AS s WHERE s.target = t.target AND s.query_id = t.query_id)
          `.execute(tx);
        }
        return expired;
      });
    },

    partitions() {
      return listPartitions(db);
    },
  };
}
