/**
 * `npm run bench:sampler`: the server time of one agent sample with 100 and 400 sessions holding
 * locks (some with waiters), against the common naive lock query, and the agent's CPU.
 * A script, not a test: it prints figures; bench/README.md records them.
 *
 * Options (environment): SAMPLES (default 300), HOLDERS (default "100,400"), WAITERS=0 for
 * holders only (then the agent does not read pg_locks at all).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import pg from 'pg';
import { jsonStatement, type JsonStatementRow } from '../src/agent/targets/postgres/json-statement.js';
import { PostgresTarget } from '../src/agent/targets/postgres/postgres-target.js';
import { loadSqlFiles } from '../src/agent/targets/postgres/sql-files.js';
import { LocalPostgres } from '../src/platform/local-postgres.js';

const SAMPLES = Number(process.env.SAMPLES ?? 300);
const HOLDER_COUNTS = (process.env.HOLDERS ?? '100,400').split(',').map(Number);
/** One waiter per this many holders; and a few sessions queued for a whole table. */
const NO_WAITERS = process.env.WAITERS === '0';
const WAITER_EVERY = 10;
const TABLE_WAITERS = NO_WAITERS ? 0 : 3;
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
  const waiterCount = NO_WAITERS ? 0 : Math.floor(holders / WAITER_EVERY);
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
    pending.push(
      client.query('UPDATE items SET v = v + 1 WHERE id = $1', [i * WAITER_EVERY + 1]).catch(() => undefined),
    );
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
    if (row && row.waiting >= expectedWaiters)
      return { clients, pending, lockRows: row.locks, waiters: row.waiting };
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
  const { rows } = await client.query<JsonStatementRow<unknown>>({
    name,
    text: jsonStatement(query),
    values,
  });
  return rows[0]?.server_ms ?? Number.NaN;
}

/** CPU time (user + system) a local process has used, in ms, from /proc; null where unreadable. */
function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime) in clock ticks; fields here start at 3 (state).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** A connection of its own per compared query, so that /proc tells each one's server CPU. */
async function backend(url: string): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ connectionString: url, application_name: 'bench-compare' });
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return { client, pid: rows[0]?.pid ?? -1 };
}

async function measure(url: string, holders: number): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const scenario = await setUp(admin, url, holders);
  const compared = {
    sessions: await backend(url),
    lockWaits: await backend(url),
    counters: await backend(url),
    naive: await backend(url),
  };
  try {
    const target = await PostgresTarget.connect(url, { name: 'bench' });
    const settings = target.settings();
    const sql = await loadSqlFiles();
    const dbOid = settings?.databaseOid ?? 0;
    const agentPid = settings?.backendPid ?? -1;
    const runs = {
      sessions: () => timeOnce(compared.sessions.client, 'bench_sessions', sql.sessions, []),
      lockWaits: () => timeOnce(compared.lockWaits.client, 'bench_lock_waits', sql['lock-waits'], [dbOid]),
      counters: () => timeOnce(compared.counters.client, 'bench_counters', sql['database-counters'], []),
      naive: () => timeOnce(compared.naive.client, 'bench_naive', NAIVE_QUERY, []),
    };
    // Warm: prepared statements, catalog caches.
    await target.sample();
    for (const run of Object.values(runs)) await run();

    const serverMs: number[] = [];
    const wallMs: number[] = [];
    const times = {
      sessions: [] as number[],
      lockWaits: [] as number[],
      counters: [] as number[],
      naive: [] as number[],
    };
    const cpuStart = {
      agent: processCpuMs(agentPid),
      sessions: processCpuMs(compared.sessions.pid),
      lockWaits: processCpuMs(compared.lockWaits.pid),
      counters: processCpuMs(compared.counters.pid),
      naive: processCpuMs(compared.naive.pid),
    };
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
      times.sessions.push(await runs.sessions());
      times.lockWaits.push(await runs.lockWaits());
      times.counters.push(await runs.counters());
      times.naive.push(await runs.naive());
    }
    const cpuPerRun = (pid: number, before: number | null): number => {
      const after = processCpuMs(pid);
      return after === null || before === null ? Number.NaN : (after - before) / SAMPLES;
    };
    const serverCpu = {
      agent: cpuPerRun(agentPid, cpuStart.agent),
      sessions: cpuPerRun(compared.sessions.pid, cpuStart.sessions),
      lockWaits: cpuPerRun(compared.lockWaits.pid, cpuStart.lockWaits),
      counters: cpuPerRun(compared.counters.pid, cpuStart.counters),
      naive: cpuPerRun(compared.naive.pid, cpuStart.naive),
    };
    await target.close();
    const cpuMsPerSample = cpuMicros / 1000 / SAMPLES;
    const lockWaits = figures(times.lockWaits);
    const sessionRows = figures(times.sessions);
    const naive = figures(times.naive);
    const sample = figures(serverMs);
    const wall = figures(wallMs);

    const f = (n: number): string => n.toFixed(2).padStart(7);
    const line = (label: string, x: Figures, cpu?: number): string =>
      `  ${label.padEnd(50)}${f(x.min)} ${f(x.p50)} ${f(x.p95)}${cpu === undefined ? '' : `   ${f(cpu)}`}`;
    console.log(
      `\n${holders} lock holders: ${scenario.waiters} waiting, ${scenario.lockRows} pg_locks rows; ${sessions} sessions and ${waits} lock waits per sample; ${SAMPLES} samples each; PostgreSQL ${settings?.serverVersion ?? '?'}; load average ${loadavg()[0]?.toFixed(1) ?? '?'} on ${availableParallelism()} CPUs`,
    );
    console.log(`  ${'ms per statement'.padEnd(50)}  server time (clock)   backend CPU`);
    console.log(`  ${''.padEnd(50)}    min     p50     p95      mean`);
    console.log(line('agent sample (sessions + lock waits + counters)', sample, serverCpu.agent));
    console.log(line('  sessions.sql alone (plain rows)', sessionRows, serverCpu.sessions));
    console.log(line('  lock-waits.sql alone (JSON)', lockWaits, serverCpu.lockWaits));
    console.log(line('  database-counters.sql alone (JSON)', figures(times.counters), serverCpu.counters));
    console.log(line('naive: pg_blocking_pids() per pg_locks row (JSON)', naive, serverCpu.naive));
    console.log(
      `  naive ÷ lock-waits.sql: ${(naive.p50 / lockWaits.p50).toFixed(1)}× server time at p50, ${(serverCpu.naive / serverCpu.lockWaits).toFixed(1)}× backend CPU; naive ÷ whole agent sample: ${(naive.p50 / sample.p50).toFixed(1)}× at p50, ${(serverCpu.naive / serverCpu.agent).toFixed(1)}× CPU`,
    );
    console.log(line('agent wall time per sample (round trips, parsing)', wall));
    console.log(
      `  agent CPU: ${cpuMsPerSample.toFixed(2)} ms per sample → ${(cpuMsPerSample * 60).toFixed(0)} ms of CPU per minute at 1 Hz`,
    );
  } finally {
    await Promise.all(Object.values(compared).map((c) => c.client.end()));
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
