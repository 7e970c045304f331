import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/alertmanager-process.js';
import { CliProcess } from '../support/cli-process.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { PROMETHEUS_BIN, PrometheusProcess } from '../support/prometheus-process.js';
import { eventually } from '../support/serve-process.js';

const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

const valueOf = (text: string, series: string): number | null => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
};

/**
 * `hindsight watch --metrics-port`: the exporter a team runs beside its Prometheus. A blocked
 * session on a real PostgreSQL shows in its metrics, promtool accepts them, and Debian's
 * Prometheus scrapes them (queried back through its HTTP API).
 */
describe.skipIf(PROMETHEUS_BIN === null)(
  'hindsight watch --metrics-port, scraped by a real Prometheus',
  () => {
    let db: TestDatabase;
    let watch: CliProcess;
    let prometheus: PrometheusProcess;
    let metricsUrl: string;
    const clients: pg.Client[] = [];

    beforeAll(async () => {
      db = await createTestDatabase('metrics');
      await withClient(db.url, (c) =>
        c.query('CREATE TABLE accounts (id int PRIMARY KEY, n int); INSERT INTO accounts VALUES (1, 0);'),
      );
      const port = await freePort();
      metricsUrl = `http://127.0.0.1:${port}/metrics`;
      watch = new CliProcess([
        'watch',
        db.url,
        '--json',
        '--interval',
        '0.25',
        '--name',
        'shop-db',
        '--metrics-port',
        String(port),
      ]);
      await eventually(
        () => Promise.resolve(watch.stderr.includes(`metrics at ${metricsUrl}`) ? true : undefined),
        `watch announcing its exporter (stderr: ${watch.stderr})`,
        30_000,
        50,
      );
      prometheus = await PrometheusProcess.start(`127.0.0.1:${port}`);

      // One session holds the row, idle in its transaction; another waits for it.
      const holder = await db.connect({ applicationName: 'holder' });
      const waiter = await db.connect({ applicationName: 'waiter' });
      for (const c of [holder, waiter]) c.on('error', () => undefined);
      clients.push(holder, waiter);
      await holder.query('BEGIN');
      await holder.query('UPDATE accounts SET n = n + 1 WHERE id = 1');
      void waiter.query('UPDATE accounts SET n = n + 1 WHERE id = 1').catch(() => undefined);
    });

    afterAll(async () => {
      await Promise.allSettled(clients.map((c) => c.end()));
      await prometheus.stop();
      await watch.stop();
      await db.drop();
    });

    it('serves the blocked session and its root blocker, in an exposition promtool accepts', async () => {
      const text = await eventually(
        async () => {
          const body = await fetch(metricsUrl).then((r) => r.text());
          // Host figures come after a sample of their own (a read needs two to give CPU deltas).
          return valueOf(body, 'hindsight_pg_blocked_sessions{target="shop-db"}') === 1 &&
            valueOf(body, 'hindsight_host_cpus{target="shop-db"}') !== null
            ? body
            : undefined;
        },
        'the exporter showing the blocked session',
        30_000,
        200,
      );
      expect(valueOf(text, 'pg_up{target="shop-db"}')).toBe(1);
      expect(valueOf(text, 'hindsight_pg_root_blockers{target="shop-db",state="idle in transaction"}')).toBe(
        1,
      );
      expect(valueOf(text, 'hindsight_pg_lock_waits{target="shop-db",mode="ShareLock"}')).toBe(1);
      expect(valueOf(text, 'hindsight_pg_active_backends{target="shop-db",wait_event_type="Lock"}')).toBe(1);
      expect(
        valueOf(text, `pg_stat_database_xact_commit{target="shop-db",datname="${db.name}"}`),
      ).toBeGreaterThan(0);
      expect(valueOf(text, 'pg_settings_max_connections{target="shop-db"}')).toBeGreaterThan(0);
      expect(valueOf(text, 'hindsight_pg_deadlocks_total{target="shop-db"}')).toBe(0);
      // The embedded PostgreSQL runs on this host: its /proc is read.
      expect(valueOf(text, 'hindsight_host_cpus{target="shop-db"}')).toBeGreaterThan(0);
      if (hasPromtool) {
        const checked = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
        expect(`${checked.stdout}${checked.stderr}`).toBe('');
        expect(checked.status).toBe(0);
      } else {
        console.warn(
          'promtool is not installed here: `promtool check metrics` skipped (CI installs the prometheus package)',
        );
      }
    });

    it('is scraped by Prometheus: the lock metrics queried back through its API', async () => {
      const blocked = await eventually(
        async () => {
          const result = await prometheus.query('hindsight_pg_blocked_sessions{target="shop-db"}');
          return result[0]?.value[1] === '1' ? result : undefined;
        },
        'Prometheus holding hindsight_pg_blocked_sessions = 1',
        60_000,
        500,
      );
      expect(blocked[0]?.metric).toMatchObject({ job: 'hindsight', target: 'shop-db' });
      const health = await prometheus.targetHealth();
      expect(health).toEqual([expect.objectContaining({ health: 'up', lastError: '' })]);
      const longest = await prometheus.query('hindsight_pg_longest_block_seconds{target="shop-db"}');
      expect(Number(longest[0]?.value[1])).toBeGreaterThan(0);
      const share = await prometheus.query('hindsight_pg_active_lock_wait_ratio{target="shop-db"}');
      expect(Number(share[0]?.value[1])).toBe(1);
    });
  },
);

/** `hindsight agent --metrics-port`: the exporter of an agent, whatever becomes of its pushes. */
describe('hindsight agent --metrics-port', () => {
  let db: TestDatabase;
  let agent: CliProcess;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase('agentmetrics');
    dir = await mkdtemp(join(tmpdir(), 'hindsight-agent-metrics-'));
    await writeFile(
      join(dir, 'agent.yaml'),
      'targets:\n  - name: edge-db\n    url: ${EDGE_DB_URL}\n    interval: 250ms\n',
    );
  });
  afterAll(async () => {
    await agent.stop();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves its targets’ metrics while the server it pushes to is away', async () => {
    const port = await freePort();
    agent = new CliProcess(
      ['agent', '--config', join(dir, 'agent.yaml'), '--name', 'edge', '--metrics-port', String(port)],
      // Nothing listens on the server's port: pushes are buffered, the exporter serves all the same.
      {
        EDGE_DB_URL: db.url,
        HINDSIGHT_SERVER: `http://127.0.0.1:${await freePort()}`,
        HINDSIGHT_TOKEN: 'hs_unused',
      },
    );
    const text = await eventually(
      async () => {
        const body = await fetch(`http://127.0.0.1:${port}/metrics`).then(
          (r) => r.text(),
          () => '',
        );
        return valueOf(body, 'pg_up{target="edge-db"}') === 1 ? body : undefined;
      },
      `the agent's exporter (stderr: ${agent.stderr})`,
      30_000,
      200,
    );
    expect(agent.stderr).toContain(`metrics at http://127.0.0.1:${port}/metrics`);
    expect(text).toContain(`pg_stat_database_xact_commit{target="edge-db",datname="${db.name}"}`);
  });
});
