import { sql, type Kysely } from 'kysely';
import { partitionOf } from '../../core/metrics-downsampling.js';
import type { MetricsPartition, MetricsQuery, MetricsRepository } from '../../core/metrics-repository.js';
import {
  STORED_METRICS,
  type StoredMetric,
  type SeriesPoint,
  type SeriesValues,
  type StatementPoint,
} from '../../core/metrics-series.js';
import { advisoryKey } from './advisory-key.js';
import type { StoreDatabase } from './store-database.js';

/** 7 parameters a row at most: far below PostgreSQL's 65,535 per statement. */
const BATCH = 2_000;
const TABLES = ['metric_series', 'metric_statement_sets'] as const;
const PARTITION_NAME = /^metric_series_r(\d+)_(\d+)$/;

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

/** A point's values as stored: by position in STORED_METRICS (migration 0005), null when unknown. */
const valueArray = (values: SeriesValues): (number | null)[] => {
  const out = STORED_METRICS.map((m) => values[m] ?? null);
  while (out.length > 0 && out[out.length - 1] === null) out.pop();
  return out;
};

/** In (target, resolution, at) order: replicas writing the same keys lock them in one order. */
const byKey = <T extends { target: string; resolutionMs: number; at: number }>(a: T, b: T): number =>
  a.target < b.target ? -1 : a.target > b.target ? 1 : a.resolutionMs - b.resolutionMs || a.at - b.at;

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
  const names = partitions.map((p) => partitionName('metric_series', p));
  // A catalog lookup, no lock: the usual case (all there) costs one round trip.
  const missing = await sql<{ name: string }>`
    SELECT n AS name FROM unnest(${names}::text[]) AS n WHERE to_regclass(quote_ident(n)) IS NULL
  `.execute(db);
  if (missing.rows.length === 0) return 0;
  const wanted = new Set(missing.rows.map((r) => r.name));
  return underPartitionLock(db, async (tx) => {
    let created = 0;
    for (const p of partitions) {
      if (!wanted.has(partitionName('metric_series', p))) continue;
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
    WHERE i.inhparent = 'metric_series'::regclass
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
  const where = (q: MetricsQuery, alias: string) =>
    sql`${sql.ref(`${alias}.resolution_ms`)} = ${q.resolutionMs} AND ${sql.ref(`${alias}.at`)} >= ${q.from} AND ${sql.ref(`${alias}.at`)} < ${q.until}
      ${q.target === undefined ? sql`` : sql`AND ${sql.ref(`${alias}.target`)} = ${q.target}`}`;
  /** One statement per row of an interval's set, with its text. */
  const statementRows = (query: MetricsQuery) => sql`
    SELECT s.target, s.at, u.query_id::text AS query_id, t.query, u.calls, u.total_exec_ms, u.rows
    FROM metric_statement_sets AS s
    CROSS JOIN LATERAL unnest(s.query_ids, s.calls, s.total_exec_ms, s."rows") AS u(query_id, calls, total_exec_ms, rows)
    LEFT JOIN metric_statement_texts AS t ON t.target = s.target AND t.query_id = u.query_id::text
    WHERE ${where(query, 's')}`;
  return {
    async savePoints(points) {
      if (points.length === 0) return;
      await ensurePartitions(db, partitionsOf(points));
      // The last of a key wins, as row-by-row upserts would; one row per key in a statement.
      const latest = new Map(
        points.map((p) => [`${p.target}\0${String(p.resolutionMs)}\0${String(p.at)}`, p]),
      );
      const rows = [...latest.values()].sort(byKey);
      for (let start = 0; start < rows.length; start += BATCH) {
        const values = rows
          .slice(start, start + BATCH)
          .map(
            (p) =>
              sql`(${p.resolutionMs}::int, ${p.at}::bigint, ${p.target}, ${p.samples}::int, ${valueArray(p.values)}::float8[])`,
          );
        await sql`
          INSERT INTO metric_series (resolution_ms, at, target, samples, "values") VALUES ${sql.join(values)}
          ON CONFLICT (resolution_ms, target, at) DO UPDATE SET samples = excluded.samples, "values" = excluded."values"
        `.execute(db);
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
      // One set per interval, largest total time first; a later row of the same query id wins.
      const sets = new Map<string, { key: StatementPoint; byId: Map<string, StatementPoint> }>();
      for (const r of rows) {
        const key = `${r.target}\0${String(r.resolutionMs)}\0${String(r.at)}`;
        const set = sets.get(key) ?? { key: r, byId: new Map<string, StatementPoint>() };
        set.byId.set(r.queryId, r);
        sets.set(key, set);
      }
      const ordered = [...sets.values()].sort((a, b) => byKey(a.key, b.key));
      for (let start = 0; start < ordered.length; start += BATCH) {
        const values = ordered.slice(start, start + BATCH).map(({ key, byId }) => {
          const list = [...byId.values()].sort(
            (a, b) =>
              b.totalExecMs - a.totalExecMs || (a.queryId < b.queryId ? -1 : a.queryId > b.queryId ? 1 : 0),
          );
          return sql`(${key.resolutionMs}::int, ${key.at}::bigint, ${key.target}, ${list.map((s) => s.queryId)}::bigint[],
            ${list.map((s) => s.calls)}::float8[], ${list.map((s) => s.totalExecMs)}::float8[], ${list.map((s) => s.rows)}::float8[])`;
        });
        await sql`
          INSERT INTO metric_statement_sets (resolution_ms, at, target, query_ids, calls, total_exec_ms, "rows")
          VALUES ${sql.join(values)}
          ON CONFLICT (resolution_ms, target, at) DO UPDATE SET query_ids = excluded.query_ids,
            calls = excluded.calls, total_exec_ms = excluded.total_exec_ms, "rows" = excluded."rows"
        `.execute(db);
      }
    },

    async points(query) {
      // Only the metrics asked for leave the server, each as a column (m0, m1…: no array to
      // parse), and the target only when several are read: 8,640 points of one metric are a
      // fraction of the bytes and of the client's parsing of whole points (bench:metrics).
      const metrics = query.metrics ?? STORED_METRICS;
      const columns = metrics.map(
        (m, i) => sql`, s."values"[${sql.lit(STORED_METRICS.indexOf(m) + 1)}] AS ${sql.ref(`m${String(i)}`)}`,
      );
      const { rows } = await sql<{ target?: string; at: number; samples: number } & Record<string, unknown>>`
        SELECT ${query.target === undefined ? sql`s.target, ` : sql``}s.at, s.samples${sql.join(columns, sql``)}
        FROM metric_series AS s
        WHERE ${where(query, 's')}
        ORDER BY s.at${query.target === undefined ? sql`, s.target` : sql``}
      `.execute(db);
      return rows.map((r): SeriesPoint => {
        const values: Partial<Record<StoredMetric, number>> = {};
        for (const [i, m] of metrics.entries()) {
          const v = r[`m${String(i)}`];
          if (typeof v === 'number') values[m] = v;
        }
        return {
          target: r.target ?? query.target ?? '',
          at: r.at,
          resolutionMs: query.resolutionMs,
          samples: r.samples,
          values,
        };
      });
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
        ${statementRows(query)}
        ORDER BY s.at, s.target, u.total_exec_ms DESC, u.query_id::text COLLATE "C"
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
        SELECT g.query_id::text AS query_id, t.query, g.calls, g.total_exec_ms, g."rows"
        FROM (
          -- Summed first, texts joined to the few rows kept (not to every interval's entries).
          SELECT u.query_id, min(s.target) AS target, sum(u.calls) AS calls,
            sum(u.total_exec_ms) AS total_exec_ms, sum(u."rows") AS "rows"
          FROM metric_statement_sets AS s
          CROSS JOIN LATERAL unnest(s.query_ids, s.calls, s.total_exec_ms, s."rows") AS u(query_id, calls, total_exec_ms, "rows")
          WHERE ${where(query, 's')}
          GROUP BY u.query_id
          ORDER BY sum(u.total_exec_ms) DESC, u.query_id::text COLLATE "C"
          LIMIT ${limit}
        ) AS g
        LEFT JOIN metric_statement_texts AS t ON t.target = g.target AND t.query_id = g.query_id::text
        ORDER BY g.total_exec_ms DESC, g.query_id::text COLLATE "C"
      `.execute(db);
      return rows.map((r) => ({
        queryId: r.query_id,
        query: r.query ?? '',
        calls: r.calls,
        totalExecMs: r.total_exec_ms,
        rows: r.rows,
      }));
    },

    async sampleCounts(query, bucketMs) {
      const { rows } = await sql<{ target: string; at: number; samples: number }>`
        SELECT s.target, (s.at / ${bucketMs}::bigint) * ${bucketMs}::bigint AS at, sum(s.samples)::int AS samples
        FROM metric_series AS s
        WHERE ${where(query, 's')}
        GROUP BY 1, 2
        ORDER BY 2, 1
      `.execute(db);
      return rows.map((r) => ({ target: r.target, at: r.at, samples: r.samples }));
    },

    async extent(resolutionMs, since) {
      const { rows } = await sql<{ oldest: number | null; latest: number | null }>`
        SELECT min(at) AS oldest, max(at) AS latest FROM metric_series
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
          // One pass over the sets left (a hashed NOT IN), not a search of them per text.
          await sql`
            DELETE FROM metric_statement_texts AS t WHERE t.last_seen < ${before}
              AND (t.target, t.query_id) NOT IN (
                SELECT s.target, u.id::text FROM metric_statement_sets AS s CROSS JOIN LATERAL unnest(s.query_ids) AS u(id)
              )
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
