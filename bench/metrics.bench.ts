/**
 * `npm run bench:metrics`: what keeping database metrics costs (issue 12).
 *  1. Store: a day of 10 s points and each minute's top statements for one target (as serve
 *     records them) in the PostgreSQL store — bytes per target per day, per tier and at steady
 *     state (10 s × 1 day + 1 min × 30 days + 1 h × 365 days, statements from 1 min up) —
 *     beside TARGETS other targets.
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
import { spawn } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PostgresTarget } from '../src/agent/targets/postgres/postgres-target.js';
import { MetricsMaintenance } from '../src/app/metrics-maintenance.js';
import { MetricsQueries } from '../src/app/metrics-queries.js';
import {
  DEFAULT_STATEMENTS_RESOLUTION_MS,
  seriesAccumulator,
  type SeriesPoint,
  type StatementPoint,
} from '../src/core/metrics-series.js';
import type { Sample } from '../src/core/sample.js';
import { LocalPostgres } from '../src/platform/local-postgres.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';

const TARGETS = Number(process.env.TARGETS ?? 20);
const TOP = Number(process.env.TOP ?? 20);
const RUNS = Number(process.env.RUNS ?? 30);
const SESSIONS = Number(process.env.SESSIONS ?? 400);
const STATEMENTS = Number(process.env.STATEMENTS ?? 5000);
const SAMPLES = Number(process.env.SAMPLES ?? 600);
const SCRAPES = Number(process.env.SCRAPES ?? 30);
/** Linux's USER_HZ: /proc's CPU times are in these ticks. */
const CLOCK_TICKS = 100;
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

/**
 * Bytes of a parent table's partitions of one resolution, less what an empty partition of it
 * takes (its index metapages): a 30-day 1 h partition holding a day's 24 rows would otherwise
 * count ~16 KB of fixed cost against those rows — at steady state it is spread over 720.
 */
async function relationBytes(client: pg.Client, parent: string, resolutionMs: number): Promise<number> {
  const { rows } = await client.query<{ name: string; bytes: string }>(
    `SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = $1::regclass`,
    [parent],
  );
  const empty = Math.min(...rows.map((r) => Number(r.bytes)));
  return rows
    .filter((r) => r.name.startsWith(`${parent}_r${String(resolutionMs)}_`))
    .reduce((sum, r) => sum + Number(r.bytes) - empty, 0);
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
    const pointBytes = (await relationBytes(client, 'metric_series', 10_000)) / TARGETS;
    const statementBytes = await relationBytes(client, 'metric_statement_sets', 60_000);
    const textBytes = Number(
      (await client.query<{ b: string }>("SELECT pg_total_relation_size('metric_statement_texts') AS b"))
        .rows[0]?.b ?? 0,
    );
    console.log(
      `store: one day of 10 s points for ${TARGETS} targets, the top ${TOP} statements of each minute for one (${main.statements.length} statements in ${String(new Set(main.statements.map((st) => st.at)).size)} sets), written in ${writeMs.toFixed(0)} ms for that one`,
    );
    console.log(
      `  10 s points      ${mb(pointBytes)} per target per day (${(pointBytes / 8_640).toFixed(0)} B a point, indexes included)`,
    );
    console.log(
      `  1 min statements as recorded: ${mb(statementBytes)} per target per day (${(statementBytes / 1_440).toFixed(0)} B a minute's set) + texts ${mb(textBytes)}`,
    );

    // The job rolls the day up (1 min, then 1 h), as serve's loop does, in its bounded steps.
    started = performance.now();
    const job = new MetricsMaintenance({ store });
    let passes = 0;
    for (let more = true; more; passes += 1) more = (await job.run(T + DAY + 3 * 60_000)).more;
    console.log(`  downsampling the day: ${passes} passes, ${(performance.now() - started).toFixed(0)} ms`);
    await client.query('VACUUM ANALYZE');
    const minutePoint = (await relationBytes(client, 'metric_series', 60_000)) / TARGETS / 1_440;
    const minuteStatements = (await relationBytes(client, 'metric_statement_sets', 60_000)) / 1_440;
    const hourPoint = (await relationBytes(client, 'metric_series', 3_600_000)) / TARGETS / 24;
    const hourStatements = (await relationBytes(client, 'metric_statement_sets', 3_600_000)) / 24;
    // At steady state a 1 h partition holds 720 hours, not the day's 24: its rows are as wide
    // as 1 min ones (same array of metrics, same top-K set), so a year at 1 h is costed at the
    // 1 min row sizes; the day's 1 h partition is printed as measured.
    const steady =
      pointBytes +
      30 * 1_440 * (minutePoint + minuteStatements) +
      365 * 24 * (minutePoint + minuteStatements);
    console.log(
      `  1 min: ${minutePoint.toFixed(0)} B a point, ${minuteStatements.toFixed(0)} B a statements set; ${mb(30 * 1_440 * (minutePoint + minuteStatements))} per target for 30 days`,
    );
    console.log(
      `  1 h:   ${mb(365 * 24 * (minutePoint + minuteStatements))} per target for a year at the 1 min row sizes (the day's near-empty 1 h partitions measured ${hourPoint.toFixed(0)} B a point, ${hourStatements.toFixed(0)} B a set)`,
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

/** CPU (utime + stime) of every backend of `role` now, in ms: the server's own time, protocol included. */
async function backendCpuMs(admin: pg.Client, role: string): Promise<number> {
  const { rows } = await admin.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()',
    [role],
  );
  let ticks = 0;
  for (const { pid } of rows) {
    const stat = await readFile(`/proc/${String(pid)}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  return (ticks * 1000) / CLOCK_TICKS;
}

/** pg_stat_statements' own account of `role`'s statements: planning + execution, in ms. */
async function trackedMs(admin: pg.Client, role: string): Promise<number> {
  const { rows } = await admin.query<{ ms: number | null }>(
    `SELECT sum(total_exec_time + total_plan_time)::float8 AS ms FROM pg_stat_statements
     WHERE userid = (SELECT oid FROM pg_roles WHERE rolname = $1)`,
    [role],
  );
  return rows[0]?.ms ?? 0;
}

interface ServerCost {
  /** Backend CPU from /proc and pg_stat_statements' plan + exec time, both in ms, over the run. */
  readonly cpuMs: number;
  readonly trackedMs: number;
}

async function costOf(admin: pg.Client, role: string, run: () => Promise<void>): Promise<ServerCost> {
  const cpu0 = await backendCpuMs(admin, role);
  const tracked0 = await trackedMs(admin, role);
  await run();
  return {
    cpuMs: (await backendCpuMs(admin, role)) - cpu0,
    trackedMs: (await trackedMs(admin, role)) - tracked0,
  };
}

const per = (cost: ServerCost, n: number): string =>
  `${(cost.cpuMs / n).toFixed(2)} ms CPU (pg_stat_statements: ${(cost.trackedMs / n).toFixed(2)} ms)`;

async function serverPart(server: LocalPostgres): Promise<void> {
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  // One role per reader: pg_stat_statements keeps each role's statements apart, /proc each backend.
  for (const role of ['hindsight_lean', 'hindsight_default', 'hindsight_every', 'exporter'])
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'bench' IN ROLE pg_monitor`);
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
  const url = (role: string): string => server.url('postgres', role, 'bench');
  // A second a sample, as the agent samples: a fake clock moves SAMPLES seconds.
  let now = T;
  const clock = { now: () => now };
  const lean = await PostgresTarget.connect(url('hindsight_lean'), { clock, statementsEveryMs: 3_600_000 });
  const byDefault = await PostgresTarget.connect(url('hindsight_default'), { clock });
  const every = await PostgresTarget.connect(url('hindsight_every'), { clock, statementsEveryMs: 0 });
  try {
    const { rows } = await admin.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_statements');
    for (const t of [lean, byDefault, every]) await t.sample();
    const costs = { lean: [] as number[], byDefault: [] as number[], every: [] as number[] };
    const run = async (target: PostgresTarget, into: number[]): Promise<void> => {
      now = T;
      for (let i = 0; i < SAMPLES; i += 1) {
        now += 1_000;
        // Some statements move every 10 s, as on a live server.
        if (i % 10 === 0)
          for (let q = 0; q < 20; q += 1) await admin.query(statement((i * 2 + q) % STATEMENTS), [q]);
        into.push((await target.sample()).serverMs);
      }
    };
    const leanCost = await costOf(admin, 'hindsight_lean', () => run(lean, costs.lean));
    const defaultCost = await costOf(admin, 'hindsight_default', () => run(byDefault, costs.byDefault));
    const everyCost = await costOf(admin, 'hindsight_every', () => run(every, costs.every));
    const tens = SAMPLES / 10;
    const extra: ServerCost = {
      cpuMs: defaultCost.cpuMs - leanCost.cpuMs,
      trackedMs: defaultCost.trackedMs - leanCost.trackedMs,
    };
    const read: ServerCost = {
      cpuMs: everyCost.cpuMs - leanCost.cpuMs,
      trackedMs: everyCost.trackedMs - leanCost.trackedMs,
    };
    console.log(
      `monitored server: ${SESSIONS} sessions, ${rows[0]?.n ?? '?'} statements in pg_stat_statements, ${SAMPLES} samples a second apart (fake clock); server time = the backend's CPU from /proc, beside pg_stat_statements' plan + exec time of the reader's role`,
    );
    console.log(`  sampler without statements (sessions + counters), per 10 s: ${per(leanCost, tens)}`);
    console.log(`  sampler as shipped (statements read every 60 s), per 10 s:  ${per(defaultCost, tens)}`);
    console.log(
      `  one pg_stat_statements read (figures + reset time + new texts): ${per(read, SAMPLES)}; round trip median ${(quantile(costs.every, 0.5) - quantile(costs.lean, 0.5)).toFixed(2)} ms`,
    );
    // One read a minute is a sixth of a read per 10 s; the difference of the two 600-sample runs
    // says the same but carries both runs' noise (it is printed beside it).
    const readsPer10s = 10_000 / DEFAULT_STATEMENTS_RESOLUTION_MS;
    console.log(
      `  metrics' extra per 10 s (a read every 60 s = ${readsPer10s.toFixed(2)} read): ${per(read, SAMPLES / readsPer10s)} (target < 5 ms); as the difference of the runs: ${per(extra, tens)}`,
    );
    await exporterPart(admin, server, defaultCost.cpuMs / tens, statement, STATEMENTS);
  } finally {
    await lean.close();
    await byDefault.close();
    await every.close();
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await admin.end();
  }
}

const EXPORTER = '/usr/bin/prometheus-postgres-exporter';

/**
 * postgres_exporter (Debian's package) scraped SCRAPES times, its server time measured the same
 * way: its role's backends' CPU and pg_stat_statements. Its defaults read no pg_stat_statements;
 * the Debian example queries.yaml does, but with pre-13 column names (total_time), so the "with
 * statements" run uses that query with PostgreSQL 13+ names.
 */
async function exporterPart(
  admin: pg.Client,
  server: LocalPostgres,
  oursPer10s: number,
  statement: (i: number) => string,
  statements: number,
): Promise<void> {
  if (
    !(await access(EXPORTER).then(
      () => true,
      () => false,
    ))
  ) {
    console.log(
      `postgres_exporter: not installed (${EXPORTER}; apt-get install prometheus-postgres-exporter) — the comparison anchor is missing, no ratio printed`,
    );
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'bench-exporter-'));
  const queries = join(dir, 'queries.yaml');
  await writeFile(
    queries,
    [
      'pg_stat_statements:',
      '  query: "SELECT t2.rolname, t3.datname, queryid, calls, total_exec_time / 1000 as total_time_seconds, min_exec_time / 1000 as min_time_seconds, max_exec_time / 1000 as max_time_seconds, mean_exec_time / 1000 as mean_time_seconds, stddev_exec_time / 1000 as stddev_time_seconds, rows, shared_blks_hit, shared_blks_read, shared_blks_dirtied, shared_blks_written, local_blks_hit, local_blks_read, local_blks_dirtied, local_blks_written, temp_blks_read, temp_blks_written FROM pg_stat_statements t1 JOIN pg_roles t2 ON (t1.userid=t2.oid) JOIN pg_database t3 ON (t1.dbid=t3.oid)"',
      '  master: true',
      '  metrics:',
      ...['rolname', 'datname', 'queryid'].flatMap((l) => [
        `    - ${l}:`,
        '        usage: "LABEL"',
        `        description: "${l}"`,
      ]),
      ...[
        'calls',
        'total_time_seconds',
        'min_time_seconds',
        'max_time_seconds',
        'mean_time_seconds',
        'stddev_time_seconds',
        'rows',
        'shared_blks_hit',
        'shared_blks_read',
        'shared_blks_dirtied',
        'shared_blks_written',
        'local_blks_hit',
        'local_blks_read',
        'local_blks_dirtied',
        'local_blks_written',
        'temp_blks_read',
        'temp_blks_written',
      ].flatMap((m) => [`    - ${m}:`, '        usage: "COUNTER"', `        description: "${m}"`]),
      '',
    ].join('\n'),
  );
  const scrapeOf = async (extraArgs: readonly string[]): Promise<ServerCost & { bytes: number }> => {
    const port = 19_187 + Math.floor(Math.random() * 1_000);
    const child = spawn(EXPORTER, [`--web.listen-address=127.0.0.1:${String(port)}`, ...extraArgs], {
      env: {
        ...process.env,
        DATA_SOURCE_NAME: `${server.url('postgres', 'exporter', 'bench')}?sslmode=disable`,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const scrape = async (): Promise<string> => {
      const reply = await fetch(`http://127.0.0.1:${String(port)}/metrics`);
      return reply.text();
    };
    try {
      let body = '';
      for (let i = 0; i < 100 && body === ''; i += 1) {
        body = await scrape().catch(() => '');
        if (body === '') await new Promise((r) => setTimeout(r, 100));
      }
      if (!body.includes('pg_up 1'))
        throw new Error(`postgres_exporter did not reach the server: ${stderr.slice(-500)}`);
      await scrape();
      let bytes = 0;
      const cost = await costOf(admin, 'exporter', async () => {
        for (let i = 0; i < SCRAPES; i += 1) {
          for (let q = 0; q < 20; q += 1) await admin.query(statement((i * 20 + q) % statements), [q]);
          bytes = (await scrape()).length;
        }
      });
      return { ...cost, bytes };
    } finally {
      child.kill();
    }
  };
  try {
    const plain = await scrapeOf([]);
    const withStatements = await scrapeOf([`--extend.query-path=${queries}`]);
    console.log(
      `postgres_exporter 0.11 (Debian), ${SCRAPES} scrapes, same server, same measure, per scrape:`,
    );
    console.log(
      `  defaults (no pg_stat_statements): ${per(plain, SCRAPES)}, ${(plain.bytes / 1024).toFixed(0)} KB`,
    );
    console.log(
      `  with its pg_stat_statements query: ${per(withStatements, SCRAPES)}, ${(withStatements.bytes / 1024).toFixed(0)} KB`,
    );
    console.log(
      `  Hindsight's sampler per 10 s (a sample a second, statements every 60 s) against one scrape a 10 s: ${(oursPer10s / (plain.cpuMs / SCRAPES)).toFixed(2)}× the defaults, ${(oursPer10s / (withStatements.cpuMs / SCRAPES)).toFixed(2)}× with statements (CPU)`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const server = await LocalPostgres.start({
  settings: {
    'pg_stat_statements.max': Math.max(5_000, STATEMENTS + 1_000),
    'pg_stat_statements.track_planning': true,
  },
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
