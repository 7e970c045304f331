/**
 * `npm run bench:sampler`: the server time of one agent sample with 100 and 400 sessions holding
 * locks (some with waiters), against the common naive lock query, and the agent's CPU.
 * A script, not a test: it prints figures; bench/README.md records them.
 *
 * Options (environment): SAMPLES (default 300), HOLDERS (default "100,400").
 */
import { availableParallelism, loadavg } from 'node:os';
import pg from 'pg';
import { jsonStatement, type JsonStatementRow } from '../src/agent/targets/postgres/json-statement.js';
import { PostgresTarget } from '../src/agent/targets/postgres/postgres-target.js';
import { loadSqlFiles } from '../src/agent/targets/postgres/sql-files.js';
import { LocalPostgres } from '../src/platform/local-postgres.js';

const SAMPLES = Number(process.env.SAMPLES ?? 300);
const HOLDER_COUNTS = (process.env.HOLDERS ?? '100,400').split(',').map(Number);
/** One waiter per this many holders; and a few sessions queued for a whole table. */
const WAITER_EVERY = 10;
const TABLE_WAITERS = 3;
const SHARED_TABLES = 20;

/**
 * The usual "who blocks whom" query found in blog posts and wikis: every lock row joined to its
 * session, pg_blocking_pids() called per lock row (each call copies the whole lock table).
 */
const NAIVE_QUERY = `
SELECT a.pid, a.usename, a.query, l.locktype, l.mode, l.granted, l.relation::regclass::text AS relation,
       pg_blocking_pids(l.pid) AS blocked_by
FROM pg_locks AS l
JOIN pg_stat_activity AS a ON a.pid = l.pid
`;

interface Scenario {
  readonly clients: pg.Client[];
  readonly pending: Promise<unknown>[];
  readonly lockRows: number;
  readonly waiters: number;
}

async function connectMany(url: string, count: number): Promise<pg.Client[]> {
  const clients: pg.Client[] = [];
  for (let i = 0; i < count; i += 25) {
    const batch = Array.from({ length: Math.min(25, count - i) }, () => {
      const client = new pg.Client({ connectionString: url, application_name: 'bench-session' });
      client.on('error', () => undefined);
      return client.connect().then(() => client);
    });
    clients.push(...(await Promise.all(batch)));
  }
  return clients;
}

/**
 * `holders` sessions each in an open transaction holding a row lock (SELECT … FOR UPDATE) and a
 * SHARE lock on one of 20 tables; one waiter per 10 holders on a held row; 3 sessions queued
 * for EXCLUSIVE on a shared table (blocked by every holder of it).
 */
async function setUp(admin: pg.Client, url: string, holders: number): Promise<Scenario> {
  const waiterCount = Math.floor(holders / WAITER_EVERY);
  const clients = await connectMany(url, holders + waiterCount + TABLE_WAITERS);
  const pending: Promise<unknown>[] = [];
  await Promise.all(
    clients.slice(0, holders).map(async (client, i) => {
      await client.query('BEGIN');
      await client.query('SELECT * FROM items WHERE id = $1 FOR UPDATE', [i + 1]);
      await client.query(`LOCK TABLE shared_${i % SHARED_TABLES} IN SHARE MODE`);
    }),
  );
  clients.slice(holders, holders + waiterCount).forEach((client, i) => {
    pending.push(client.query('UPDATE items SET v = v + 1 WHERE id = $1', [i * WAITER_EVERY + 1]).catch(() => undefined));
  });
  clients.slice(holders + waiterCount).forEach((client) => {
    pending.push(client.query('BEGIN; LOCK TABLE shared_0 IN EXCLUSIVE MODE').catch(() => undefined));
  });
  const expectedWaiters = waiterCount + TABLE_WAITERS;
  for (let tries = 0; ; tries += 1) {
    const { rows } = await admin.query<{ waiting: number; locks: number }>(
      'SELECT count(*) FILTER (WHERE NOT granted)::int AS waiting, count(*)::int AS locks FROM pg_locks',
    );
    const row = rows[0];
    if (row && row.waiting >= expectedWaiters) return { clients, pending, lockRows: row.locks, waiters: row.waiting };
    if (tries > 500) throw new Error(`only ${row?.waiting ?? 0} of ${expectedWaiters} waiters are waiting`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function tearDown(scenario: Scenario): Promise<void> {
  await Promise.all(scenario.clients.map((c) => c.end().catch(() => undefined)));
  await Promise.all(scenario.pending);
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

interface Figures {
  readonly min: number;
  readonly p50: number;
  readonly p95: number;
}

const figures = (values: readonly number[]): Figures => ({
  min: Math.min(...values),
  p50: percentile(values, 50),
  p95: percentile(values, 95),
});

/**
 * Server time of one run of a query as the sampler runs its own: rows wrapped as JSON, then the
 * clock; or, for sessions.sql, plain rows carrying the clock taken once all were built (first row).
 */
async function timeOnce(client: pg.Client, name: string, query: string, values: unknown[]): Promise<number> {
  if (query.includes('AS server_ms')) {
    const { rows } = await client.query<{ server_ms: number }>({ name, text: query, values });
    return rows[0]?.server_ms ?? Number.NaN;
  }
  const { rows } = await client.query<JsonStatementRow<unknown>>({ name, text: jsonStatement(query), values });
  return rows[0]?.server_ms ?? Number.NaN;
}

async function measure(url: string, holders: number): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const scenario = await setUp(admin, url, holders);
  try {
    const target = await PostgresTarget.connect(url, { name: 'bench' });
    const settings = target.settings();
    const sql = await loadSqlFiles();
    const dbOid = settings?.databaseOid ?? 0;
    await target.sample(); // warm: prepared statements, catalog caches
    const serverMs: number[] = [];
    const wallMs: number[] = [];
    const times = { sessions: [] as number[], lockWaits: [] as number[], naive: [] as number[] };
    let sessions = 0;
    let waits = 0;
    let cpuMicros = 0;
    // Interleaved, so that every figure sees the same load on this shared machine.
    for (let i = 0; i < SAMPLES; i += 1) {
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      const sample = await target.sample();
      wallMs.push(performance.now() - started);
      const cpu = process.cpuUsage(cpuBefore);
      cpuMicros += cpu.user + cpu.system;
      serverMs.push(sample.serverMs);
      sessions = sample.sessions.length;
      waits = sample.lockWaits.length;
      times.sessions.push(await timeOnce(admin, 'bench_sessions', sql.sessions, []));
      times.lockWaits.push(await timeOnce(admin, 'bench_lock_waits', sql['lock-waits'], [dbOid]));
      times.naive.push(await timeOnce(admin, 'bench_naive', NAIVE_QUERY, []));
    }
    await target.close();
    const cpuMsPerSample = cpuMicros / 1000 / SAMPLES;
    const lockWaits = figures(times.lockWaits);
    const sessionRows = figures(times.sessions);
    const naive = figures(times.naive);
    const sample = figures(serverMs);
    const wall = figures(wallMs);

    const f = (n: number): string => n.toFixed(2).padStart(7);
    const line = (label: string, x: Figures): string => `  ${label.padEnd(46)}${f(x.min)} ${f(x.p50)} ${f(x.p95)}`;
    console.log(
      `\n${holders} lock holders: ${scenario.waiters} waiting, ${scenario.lockRows} pg_locks rows; ${sessions} sessions and ${waits} lock waits per sample; ${SAMPLES} samples each; PostgreSQL ${settings?.serverVersion ?? '?'}; load average ${loadavg()[0]?.toFixed(1) ?? '?'} on ${availableParallelism()} CPUs`,
    );
    console.log(`  ${'server time per statement, ms'.padEnd(46)}    min     p50     p95`);
    console.log(line('agent sample (sessions + lock waits + counters)', sample));
    console.log(line('  sessions.sql alone (plain rows)', sessionRows));
    console.log(line('  lock-waits.sql alone (JSON)', lockWaits));
    console.log(line('naive: pg_blocking_pids() per pg_locks row', naive));
    console.log(
      `  naive ÷ lock-waits.sql: ${(naive.p50 / lockWaits.p50).toFixed(1)}× at p50 (${(naive.min / lockWaits.min).toFixed(1)}× at min); naive ÷ whole agent sample: ${(naive.p50 / sample.p50).toFixed(1)}× at p50`,
    );
    console.log(line('agent wall time per sample (round trips, parsing)', wall));
    console.log(
      `  agent CPU: ${cpuMsPerSample.toFixed(2)} ms per sample → ${(cpuMsPerSample * 60).toFixed(0)} ms of CPU per minute at 1 Hz`,
    );
  } finally {
    await tearDown(scenario);
    await admin.end();
  }
}

async function main(): Promise<void> {
  console.log('Starting a local PostgreSQL…');
  const server = await LocalPostgres.start();
  try {
    const url = server.url();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query('CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL)');
    await admin.query('INSERT INTO items SELECT g, 0 FROM generate_series(1, 1000) g');
    for (let i = 0; i < SHARED_TABLES; i += 1) await admin.query(`CREATE TABLE shared_${i} (id int)`);
    await admin.end();
    for (const holders of HOLDER_COUNTS) await measure(url, holders);
  } finally {
    await server.destroy();
  }
}

await main();
