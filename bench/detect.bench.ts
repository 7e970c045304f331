/**
 * `npm run bench:detect`: how fast a deadlock becomes an incident, end to end, and what a rule
 * cycle costs with 10,000 open alerts. A script, not a test; bench/README.md records the figures.
 *
 * 1. Detection: `hindsight serve` (a process, embedded store) watches a real PostgreSQL whose server
 *    log it tails. DEADLOCKS (default 20) real deadlocks, one after another; for each, the time from
 *    the victim's 40P01 to the deadlock being readable through the API as evidence of the incident
 *    (`GET /api/v1/incidents/:id`, polled every 10 ms). Target (issue 8): p95 ≤ 1 s.
 * 2. Rule cycle: ALERTS (default 10,000) targets in 100 services on a PostgreSQL store, each with a
 *    deadlock firing its `deadlocks` rule: the cycle that raises the 10,000 alerts, then steady
 *    cycles with 10,000 open alerts (median of 5), and the same on the memory store.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { RuleCycle } from '../src/app/rule-cycle.js';
import type { DeadlockFinding } from '../src/core/finding.js';
import type { IncidentStore } from '../src/core/incident-store.js';
import { LocalPostgres } from '../src/platform/local-postgres.js';
import { randomIds } from '../src/platform/random-ids.js';
import { MemoryStore } from '../src/store/memory/memory-store.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { makeDeadlock } from '../test/support/deadlock.js';
import { deadlock } from '../test/support/finding-builder.js';
import { ServeProcess } from '../test/support/serve-process.js';

const DEADLOCKS = Number(process.env.DEADLOCKS ?? 20);
const ALERTS = Number(process.env.ALERTS ?? 10_000);
/** Which parts to run: `PARTS=cycle` skips the end-to-end part (quicker iterations on the rule cycle). */
const PARTS = new Set((process.env.PARTS ?? 'e2e,cycle').split(',').map((p) => p.trim()));
/** Which stores the rule-cycle part measures: `STORES=postgres` or `STORES=memory`. */
const STORES = new Set((process.env.STORES ?? 'postgres,memory').split(',').map((p) => p.trim()));

const quantile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
};
const ms = (value: number): string => `${value.toFixed(0)} ms`;

console.log(
  `bench:detect — load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}, ${DEADLOCKS} deadlocks, ${ALERTS} alerts`,
);

const dir = await mkdtemp(join(tmpdir(), 'hindsight-bench-detect-'));
await chmod(dir, 0o755); // as root, PostgreSQL runs as `postgres`, which must reach these directories
const monitored = await LocalPostgres.start({
  dataDir: join(dir, 'monitored'),
  settings: { log_line_prefix: '%m [%p] %q%u@%d ', deadlock_timeout: '100ms' },
});
try {
  if (PARTS.has('e2e')) await measureDetection();
  if (PARTS.has('cycle')) await measureRuleCycle();
} finally {
  await monitored.destroy();
  await rm(dir, { recursive: true, force: true });
}

// ---- 1. detection, end to end ----------------------------------------------------------------
async function measureDetection(): Promise<void> {
  const admin = new pg.Client({ connectionString: monitored.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE shop');
  await admin.end();
  const shopUrl = monitored.url('shop');
  const setup = new pg.Client({ connectionString: shopUrl });
  await setup.connect();
  await setup.query(
    'CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL); INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 10) g',
  );
  await setup.end();

  const token = `hs_bench_${Math.random().toString(36).slice(2)}`;
  await writeFile(
    join(dir, 'hindsight.config.yaml'),
    [
      'targets:',
      '  - name: shop-db',
      '    url: ${SHOP_DB_URL}',
      '    service: shop',
      `    log: ${monitored.logFile}`,
      'services:',
      '  - name: shop',
      '',
    ].join('\n'),
  );
  const tStart = performance.now();
  const serve = new ServeProcess(
    ['--config', join(dir, 'hindsight.config.yaml'), '--port', '0', '--data-dir', join(dir, 'store')],
    {
      SHOP_DB_URL: shopUrl,
      HINDSIGHT_ADMIN_TOKEN: token,
    },
  );
  await serve.ready();
  console.log(`serve ready (first start, embedded store initdb included): ${ms(performance.now() - tStart)}`);
  // Let the log follower reach the end of the file before the first deadlock.
  await new Promise((r) => setTimeout(r, 1500));

  const a = new pg.Client({ connectionString: shopUrl, application_name: 'checkout' });
  const b = new pg.Client({ connectionString: shopUrl, application_name: 'restock' });
  await a.connect();
  await b.connect();
  const latencies: number[] = [];
  let incidentId: string | null = null;
  try {
    for (let i = 1; i <= DEADLOCKS; i++) {
      const victimAt = await makeDeadlock(a, b);
      const deadline = victimAt + 10_000;
      for (;;) {
        if (incidentId === null) {
          const { body } = await serve.api<{ incidents: { id: string }[] }>('/api/v1/incidents?state=open', {
            token,
          });
          incidentId = body.incidents[0]?.id ?? null;
        }
        if (incidentId !== null) {
          const { body } = await serve.api<{ evidence: { kind: string }[] }>(
            `/api/v1/incidents/${incidentId}`,
            { token },
          );
          if (body.evidence.filter((f) => f.kind === 'deadlock').length >= i) break;
        }
        if (Date.now() > deadline)
          throw new Error(`deadlock ${i} not readable in an incident within 10 s\n${serve.stderr}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      latencies.push(Date.now() - victimAt);
    }
  } finally {
    await Promise.allSettled([a.end(), b.end()]);
    await serve.stop();
  }
  console.log('\n40P01 → deadlock readable in its incident through the API');
  console.log(`  runs: ${latencies.map((l) => l.toFixed(0)).join(' ')} ms`);
  console.log(
    `  p50 ${ms(quantile(latencies, 0.5))}   p95 ${ms(quantile(latencies, 0.95))}   max ${ms(Math.max(...latencies))}   (target p95 ≤ 1000 ms: ${quantile(latencies, 0.95) <= 1000 ? 'met' : 'NOT met'})`,
  );
}

// ---- 2. rule cycle with many open alerts -----------------------------------------------------
async function measureRuleCycle(): Promise<void> {
  if (STORES.has('postgres')) {
    const storeAdmin = new pg.Client({ connectionString: monitored.url() });
    await storeAdmin.connect();
    await storeAdmin.query('CREATE DATABASE bench_store');
    await storeAdmin.end();
    const postgresStore = await PostgresStore.open({ url: monitored.url('bench_store') });
    try {
      await measureCycles('PostgreSQL store', postgresStore);
    } finally {
      await postgresStore.close();
    }
  }
  if (STORES.has('memory')) await measureCycles('memory store', new MemoryStore());
}

async function measureCycles(label: string, store: IncidentStore): Promise<void> {
  const now = Date.now();
  const services = 100;
  for (let s = 0; s < services; s++) {
    await store.services.save({
      name: `svc-${s}`,
      grouping: { kind: 'window', windowMs: 600_000, by: [] },
      integrations: [],
      rules: {},
      escalationPolicy: null,
    });
  }
  const findings: DeadlockFinding[] = [];
  for (let t = 0; t < ALERTS; t++) {
    const target = `db-${t}`;
    await store.targets.save({
      name: target,
      redactedUrl: `postgres://monitor:***@db-${t}:5432/app`,
      service: `svc-${t % services}`,
      log: null,
      rules: {},
    });
    findings.push(deadlock(`dl-bench-${t}`, now - 1000, { target, database: 'app' }));
  }
  for (let i = 0; i < findings.length; i += 1000)
    await store.findings.save(findings.slice(i, i + 1000), now - 1000);

  const cycle = new RuleCycle({ store, clock: { now: () => Date.now() }, ids: randomIds });
  const t0 = performance.now();
  const first = await cycle.run(now);
  const raise = performance.now() - t0;
  const firing = (await store.alerts.countByStatus()).firing;
  const steady: number[] = [];
  for (let i = 1; i <= 5; i++) {
    const t = performance.now();
    await cycle.run(now + i * 1000);
    steady.push(performance.now() - t);
  }
  console.log(
    `\nrule cycle, ${label}: ${first.evaluated} rule × target pairs, ${first.fired} alerts raised (${firing} firing), ${first.incidentsOpened} incidents opened`,
  );
  console.log(`  the cycle that raises them: ${ms(raise)}`);
  console.log(
    `  steady cycle with ${firing} open alerts: median ${ms(quantile(steady, 0.5))} (runs ${steady.map((s) => s.toFixed(0)).join(' ')} ms)`,
  );
}
