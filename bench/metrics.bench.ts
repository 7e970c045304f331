/**
 * `npm run bench:metrics`: what keeping database metrics costs (issue 12).
 *  1. Store: a day of 10 s points and top statements for one target (the finest tier, as serve
 *     records them) in the PostgreSQL store — bytes per target per day, per tier and at steady
 *     state (10 s × 1 day + 1 min × 30 days + 1 h × 365 days) — beside TARGETS other targets.
 *  2. Query: the 24 h series (GET …/series, 8,640 points at 10 s) and the 24 h top statements
 *     (read at 1 min once the job rolled them up) — median and p95 (target < 100 ms).
 *  3. Monitored server: the sampler's server time per sample with SESSIONS idle sessions and
 *     STATEMENTS distinct statements in pg_stat_statements; the metrics' share is what the 10 s
 *     point needs beyond what the lock watch already reads (target < 5 ms per 10 s).
 * A script, not a test: it prints figures; bench/README.md records them.
 *
 * Options (environment): TARGETS (default 20), TOP (statements kept per 10 s, default 20),
 * RUNS (query repetitions, default 30), SESSIONS (default 400), STATEMENTS (default 5000),
 * SAMPLES (default 50), SKIP_STORE=1 / SKIP_SERVER=1 to skip parts 1–2 / part 3.
 */
import { loadavg } from 'node:os';
import pg from 'pg';
import { PostgresTarget } from '../src/agent/targets/postgres/postgres-target.js';
import { MetricsMaintenance } from '../src/app/metrics-maintenance.js';
import { MetricsQueries } from '../src/app/metrics-queries.js';
import { seriesAccumulator, type SeriesPoint, type StatementPoint } from '../src/core/metrics-series.js';
import type { Sample } from '../src/core/sample.js';
import { LocalPostgres } from '../src/platform/local-postgres.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';

const TARGETS = Number(process.env.TARGETS ?? 20);
const TOP = Number(process.env.TOP ?? 20);
const RUNS = Number(process.env.RUNS ?? 30);
const SESSIONS = Number(process.env.SESSIONS ?? 400);
const STATEMENTS = Number(process.env.STATEMENTS ?? 5000);
const SAMPLES = Number(process.env.SAMPLES ?? 50);
const DAY = 86_400_000;
/** Midnight UTC, so the day is one 10 s partition. */
const T = Date.UTC(2026, 10, 1);

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MB`;

/** A busy-ish server's sample: 40 client sessions, some waiting, counters moving, TOP+10 statements. */
function syntheticSample(target: string, at: number, i: number): Sample {
  return {
    target,
    takenAt: at,
    serverMs: 1,
    maxConnections: 200,
    sessions: Array.from({ length: 40 }, (_, pid) => ({
      pid: 1000 + pid,
      backendType: 'client backend',
      state: pid % 3 === 0 ? 'active' : pid % 7 === 0 ? 'idle in transaction' : 'idle',
      user: 'app',
      database: 'shop',
      application: 'web',
      client: '10.0.0.1',
      backendStart: at - 3_600_000,
      xactStart: pid % 3 === 0 ? at - 200 : null,
      queryStart: at - 100,
      stateChange: at - 150,
      waitEventType: pid % 6 === 0 ? 'Lock' : pid % 9 === 0 ? 'IO' : null,
      waitEvent: null,
      query: 'SELECT 1',
    })),
    lockWaits: [],
    counters: [
      {
        database: 'shop',
        commits: i * 50,
        rollbacks: i,
        deadlocks: 0,
        conflicts: 0,
        tempBytes: i * 8192,
        blocksHit: i * 9000,
        blocksRead: i * 100,
      },
    ],
    statements: Array.from({ length: TOP + 10 }, (_, q) => ({
      queryId: String(-4_000_000_000_000_000 + q * 7_919),
      query: `SELECT * FROM orders_${q} WHERE customer_id = $1 AND created_at > $2 ORDER BY created_at DESC LIMIT $3`,
      calls: 1 + ((i + q) % 5),
      totalExecMs: 0.3 * (1 + ((i * q) % 11)),
      rows: 10,
    })),
  };
}

/** One target's day as the recorder would save it: 8,640 points and their top statements. */
function dayOf(
  target: string,
  withStatements: boolean,
): { points: SeriesPoint[]; statements: StatementPoint[] } {
  const acc = seriesAccumulator({ target, topStatements: TOP });
  const points: SeriesPoint[] = [];
  const statements: StatementPoint[] = [];
  for (let i = 0; i <= 8_640; i += 1) {
    const sample = syntheticSample(target, T + i * 10_000, i);
    const closed = acc.add(withStatements ? sample : { ...sample, statements: null });
    if (closed === null) continue;
    points.push(closed.point);
    statements.push(...closed.statements);
  }
  return { points, statements };
}

async function relationBytes(client: pg.Client, parent: string, resolutionMs: number): Promise<number> {
  const { rows } = await client.query<{ bytes: string | null }>(
    `SELECT sum(pg_total_relation_size(c.oid)) AS bytes FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = $1::regclass AND c.relname LIKE $2`,
    [parent, `${parent}_r${resolutionMs}_%`],
  );
  return Number(rows[0]?.bytes ?? 0);
}

async function storePart(server: LocalPostgres): Promise<void> {
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE metrics_store');
  const url = server.url('metrics_store');
  const store = await PostgresStore.open({ url });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let started = performance.now();
    const main = dayOf('target-000', true);
    await store.metrics.savePoints(main.points);
    await store.metrics.saveStatements(main.statements);
    const writeMs = performance.now() - started;
    for (let t = 1; t < TARGETS; t += 1)
      await store.metrics.savePoints(dayOf(`target-${String(t).padStart(3, '0')}`, false).points);
    await client.query('VACUUM ANALYZE');
    const pointBytes = (await relationBytes(client, 'metric_points', 10_000)) / TARGETS;
    const statementBytes = await relationBytes(client, 'metric_statements', 10_000);
    const textBytes = Number(
      (await client.query<{ b: string }>("SELECT pg_total_relation_size('metric_statement_texts') AS b"))
        .rows[0]?.b ?? 0,
    );
    console.log(
      `store: one day of 10 s points for ${TARGETS} targets, top ${TOP} statements for one (${main.statements.length} rows), written in ${writeMs.toFixed(0)} ms for that one`,
    );
    console.log(
      `  10 s points      ${mb(pointBytes)} per target per day (${(pointBytes / 8_640).toFixed(0)} B a point, indexes included)`,
    );
    console.log(
      `  10 s statements  ${mb(statementBytes)} per target per day (${(statementBytes / main.statements.length).toFixed(0)} B a row) + texts ${mb(textBytes)}`,
    );

    // The job rolls the day up (1 min, then 1 h), as serve's loop does, in its bounded steps.
    started = performance.now();
    const job = new MetricsMaintenance({ store });
    let passes = 0;
    for (let more = true; more; passes += 1) more = (await job.run(T + DAY + 3 * 60_000)).more;
    console.log(`  downsampling the day: ${passes} passes, ${(performance.now() - started).toFixed(0)} ms`);
    await client.query('VACUUM ANALYZE');
    const minutePoint = (await relationBytes(client, 'metric_points', 60_000)) / TARGETS / 1_440;
    const minuteStatements = (await relationBytes(client, 'metric_statements', 60_000)) / 1_440;
    const hourPoint = (await relationBytes(client, 'metric_points', 3_600_000)) / TARGETS / 24;
    const hourStatements = (await relationBytes(client, 'metric_statements', 3_600_000)) / 24;
    const steady =
      pointBytes +
      statementBytes +
      30 * 1_440 * (minutePoint + minuteStatements) +
      365 * 24 * (hourPoint + hourStatements);
    console.log(
      `  1 min: ${minutePoint.toFixed(0)} B a point, ${mb(30 * 1_440 * (minutePoint + minuteStatements))} per target for 30 days with statements`,
    );
    console.log(
      `  1 h:   ${hourPoint.toFixed(0)} B a point, ${mb(365 * 24 * (hourPoint + hourStatements))} per target for a year with statements`,
    );
    console.log(
      `  steady state per target (a day at 10 s + 30 days at 1 min + a year at 1 h): ${mb(steady)}; 100 targets ${mb(100 * steady)}`,
    );

    // The 24 h window ending at the day's end, as the API asks.
    const queries = new MetricsQueries({ store });
    const now = T + DAY;
    const series: number[] = [];
    const tops: number[] = [];
    let points = 0;
    for (let r = 0; r < RUNS; r += 1) {
      started = performance.now();
      points = (
        await queries.series({ target: 'target-000', metric: 'active_lock', from: now - DAY, to: now }, now)
      ).points.length;
      series.push(performance.now() - started);
      started = performance.now();
      await queries.statements({ target: 'target-000', from: now - DAY, to: now }, now);
      tops.push(performance.now() - started);
    }
    console.log(
      `query: 24 h series (${points} points at 10 s) median ${quantile(series, 0.5).toFixed(1)} ms, p95 ${quantile(series, 0.95).toFixed(1)} ms (target < 100 ms)`,
    );
    console.log(
      `query: 24 h top statements (1 min rows) median ${quantile(tops, 0.5).toFixed(1)} ms, p95 ${quantile(tops, 0.95).toFixed(1)} ms`,
    );
  } finally {
    await client.end();
    await store.close();
    await admin.end();
  }
}

async function serverPart(server: LocalPostgres): Promise<void> {
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  // Distinct statements: aliases and constants do not make a query id, relations and columns do —
  // 20 columns of STATEMENTS / 20 tables.
  const tables = Math.ceil(STATEMENTS / 20);
  const columns = Array.from({ length: 20 }, (_, c) => `c${c} int`).join(', ');
  for (let t = 0; t < tables; t += 1)
    await admin.query(`CREATE TABLE IF NOT EXISTS bench_t${t} (${columns})`);
  const statement = (i: number): string =>
    `SELECT c${i % 20} FROM bench_t${Math.floor(i / 20) % tables} WHERE c0 = $1`;
  for (let i = 0; i < STATEMENTS; i += 1) await admin.query(statement(i), [i]);
  const clients: pg.Client[] = [];
  for (let i = 0; i < SESSIONS; i += 25) {
    const batch = Array.from({ length: Math.min(25, SESSIONS - i) }, async () => {
      const c = new pg.Client({ connectionString: server.url(), application_name: 'bench-session' });
      c.on('error', () => undefined);
      await c.connect();
      return c;
    });
    clients.push(...(await Promise.all(batch)));
  }
  // Every sample reads pg_stat_statements (statementsEveryMs 0) against none (a read per hour).
  const target = await PostgresTarget.connect(server.url(), { statementsEveryMs: 0 });
  const lean = await PostgresTarget.connect(server.url(), { statementsEveryMs: 3_600_000 });
  try {
    const { rows } = await admin.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_statements');
    await target.sample();
    await lean.sample();
    const withRead: number[] = [];
    const without: number[] = [];
    for (let i = 0; i < SAMPLES; i += 1) {
      // Some statements move between samples, as on a live server.
      for (let q = 0; q < 20; q += 1) await admin.query(statement((i * 20 + q) % STATEMENTS), [q]);
      withRead.push((await target.sample()).serverMs);
      without.push((await lean.sample()).serverMs);
    }
    const read = quantile(withRead, 0.5) - quantile(without, 0.5);
    console.log(
      `monitored server: ${SESSIONS} sessions, ${rows[0]?.n ?? '?'} statements in pg_stat_statements (server time, median / p95)`,
    );
    console.log(
      `  sample without the statements read (sessions + counters): ${quantile(without, 0.5).toFixed(2)} / ${quantile(without, 0.95).toFixed(2)} ms`,
    );
    console.log(
      `  sample with it: ${quantile(withRead, 0.5).toFixed(2)} / ${quantile(withRead, 0.95).toFixed(2)} ms — the read alone ≈ ${read.toFixed(2)} ms`,
    );
    console.log(
      `  metrics' extra per 10 s: one statements read (the agent's default) ≈ ${read.toFixed(2)} ms (target < 5 ms); the counters' new columns add ~0.05 ms a sample`,
    );
  } finally {
    await target.close();
    await lean.close();
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await admin.end();
  }
}

const server = await LocalPostgres.start({
  settings: { 'pg_stat_statements.max': Math.max(5_000, STATEMENTS + 1_000) },
});
try {
  console.log(
    `bench:metrics — load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  if (process.env.SKIP_STORE !== '1') await storePart(server);
  if (process.env.SKIP_SERVER !== '1') await serverPart(server);
} finally {
  await server.destroy();
}
