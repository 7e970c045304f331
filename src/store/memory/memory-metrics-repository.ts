import { partitionOf, windowTopStatements } from '../../core/metrics-downsampling.js';
import type { MetricsPartition, MetricsQuery, MetricsRepository } from '../../core/metrics-repository.js';
import type { SeriesPoint, StatementPoint } from '../../core/metrics-series.js';
import type { TableAccess } from './memory-tables.js';

/** Metrics in memory, with the partitions a PostgreSQL store would have: the same contract. */

const out = <T>(value: T): Promise<T> => Promise.resolve(structuredClone(value));
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const partitionKey = (p: MetricsPartition): string => `${String(p.resolutionMs)}\0${String(p.from)}`;
const pointKey = (p: { resolutionMs: number; at: number; target: string }): string =>
  `${String(p.resolutionMs)}\0${String(p.at)}\0${p.target}`;

const inWindow = (q: MetricsQuery, r: { resolutionMs: number; at: number; target: string }): boolean =>
  r.resolutionMs === q.resolutionMs &&
  r.at >= q.from &&
  r.at < q.until &&
  (q.target === undefined || r.target === q.target);

export function memoryMetrics(t: TableAccess): MetricsRepository {
  const ensure = (resolutionMs: number, at: number): number => {
    const partition = { resolutionMs, ...partitionOf(resolutionMs, at) };
    if (t.has('metricPartitions', partitionKey(partition))) return 0;
    t.set('metricPartitions', partitionKey(partition), partition);
    return 1;
  };
  return {
    savePoints(points) {
      for (const p of points) {
        ensure(p.resolutionMs, p.at);
        t.set('metricPoints', pointKey(p), p);
      }
      return Promise.resolve();
    },
    saveStatements(rows) {
      // An interval's statements are saved whole: those it had before are replaced.
      const intervals = new Set(rows.map(pointKey));
      for (const r of t.rows('metricStatements'))
        if (intervals.has(pointKey(r))) t.delete('metricStatements', `${pointKey(r)}\0${r.queryId}`);
      for (const r of rows) {
        ensure(r.resolutionMs, r.at);
        t.set('metricStatements', `${pointKey(r)}\0${r.queryId}`, r);
      }
      return Promise.resolve();
    },
    points(query) {
      const rows: SeriesPoint[] = [];
      for (const p of t.values('metricPoints')) if (inWindow(query, p)) rows.push(p);
      const keep = query.metrics;
      const projected =
        keep === undefined
          ? rows
          : rows.map((p) => ({
              ...p,
              values: Object.fromEntries(
                Object.entries(p.values).filter(([k]) => (keep as readonly string[]).includes(k)),
              ),
            }));
      return out(projected.sort((a, b) => a.at - b.at || byText(a.target, b.target)));
    },
    statements(query) {
      const rows: StatementPoint[] = [];
      for (const s of t.values('metricStatements')) if (inWindow(query, s)) rows.push(s);
      return out(
        rows.sort(
          (a, b) =>
            a.at - b.at ||
            byText(a.target, b.target) ||
            b.totalExecMs - a.totalExecMs ||
            byText(a.queryId, b.queryId),
        ),
      );
    },
    statementTotals(query, limit) {
      const rows: StatementPoint[] = [];
      for (const s of t.values('metricStatements')) if (inWindow(query, s)) rows.push(s);
      return out(windowTopStatements(rows, limit).map(({ target: _target, ...total }) => total));
    },
    sampleCounts(query, bucketMs) {
      const sums = new Map<string, { target: string; at: number; samples: number }>();
      for (const p of t.values('metricPoints')) {
        if (!inWindow(query, p)) continue;
        const at = Math.floor(p.at / bucketMs) * bucketMs;
        const key = `${String(at)}\0${p.target}`;
        const seen = sums.get(key);
        sums.set(key, { target: p.target, at, samples: (seen?.samples ?? 0) + p.samples });
      }
      return out([...sums.values()].sort((a, b) => a.at - b.at || byText(a.target, b.target)));
    },
    extent(resolutionMs, since = -Infinity) {
      let oldest = Infinity;
      let latest = -Infinity;
      for (const p of t.values('metricPoints')) {
        if (p.resolutionMs !== resolutionMs || p.at < since) continue;
        oldest = Math.min(oldest, p.at);
        latest = Math.max(latest, p.at);
      }
      return out(oldest === Infinity ? null : { oldest, latest });
    },
    preparePartitions(resolutionMs, from, until) {
      let created = 0;
      for (
        let at = partitionOf(resolutionMs, from).from;
        at < until;
        at = partitionOf(resolutionMs, at).until
      ) {
        created += ensure(resolutionMs, at);
      }
      return out(created);
    },
    dropPartitions(resolutionMs, before) {
      const dropped = t
        .rows('metricPartitions')
        .filter((p) => p.resolutionMs === resolutionMs && p.until <= before)
        .sort((a, b) => a.from - b.from);
      for (const p of dropped) {
        t.delete('metricPartitions', partitionKey(p));
        const inside = (r: { resolutionMs: number; at: number }): boolean =>
          r.resolutionMs === resolutionMs && r.at >= p.from && r.at < p.until;
        for (const r of t.rows('metricPoints')) if (inside(r)) t.delete('metricPoints', pointKey(r));
        for (const r of t.rows('metricStatements'))
          if (inside(r)) t.delete('metricStatements', `${pointKey(r)}\0${r.queryId}`);
      }
      return out(dropped);
    },
    partitions() {
      return out(
        t.rows('metricPartitions').sort((a, b) => a.resolutionMs - b.resolutionMs || a.from - b.from),
      );
    },
  };
}
