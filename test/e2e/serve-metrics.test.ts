import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { makeDeadlock } from '../support/deadlock.js';
import { PROMETHEUS_BIN, PrometheusProcess } from '../support/prometheus-process.js';
import { eventually, ServeProcess } from '../support/serve-process.js';

const valueOf = (text: string, series: string): number | null => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
};

/**
 * `serve`'s own `/metrics` carries its configured targets' metrics: one real deadlock — seen live,
 * reported by the server log, and moving pg_stat_database.deadlocks — counts once.
 */
describe("serve's /metrics with a configured target", () => {
  const token = `hs_e2e_${Math.random().toString(36).slice(2)}`;
  let dir: string;
  let db: TestDatabase;
  let serve: ServeProcess;

  beforeAll(async () => {
    db = await createTestDatabase('servemetrics');
    await withClient(db.url, (c) =>
      c.query(
        'CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL); INSERT INTO accounts VALUES (1, 100), (2, 100);',
      ),
    );
    dir = await mkdtemp(join(tmpdir(), 'hindsight-metrics-e2e-'));
    await chmod(dir, 0o755); // as root, the embedded PostgreSQL runs as `postgres`, which must reach its data dir
    const logDir = inject('pgLogDirectory');
    const log = logDir ? `\n    log: ${logDir}\n    logFormat: jsonlog` : '';
    await writeFile(
      join(dir, 'hindsight.config.yaml'),
      `targets:\n  - name: shop-db\n    url: \${SHOP_DB_URL}\n    service: shop\n    interval: 250ms${log}\nservices:\n  - name: shop\n`,
    );
    serve = new ServeProcess(
      ['--config', join(dir, 'hindsight.config.yaml'), '--port', '0', '--data-dir', join(dir, 'data')],
      {
        SHOP_DB_URL: db.url,
        HINDSIGHT_ADMIN_TOKEN: token,
      },
    );
    await serve.ready();
  });

  afterAll(async () => {
    await serve.stop();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const scrape = async (): Promise<string> => {
    const response = await fetch(`${serve.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    return response.text();
  };

  it.runIf(PROMETHEUS_BIN !== null)(
    "a real Prometheus (Debian's) scrapes serve's /metrics with a bearer token in its scrape config; without it, 401",
    async () => {
      const prom = await PrometheusProcess.start(new URL(serve.url).host, { bearerToken: token });
      try {
        const up = await eventually(
          async () => {
            const rows = await prom.query('pg_up{job="hindsight",target="shop-db"}');
            return rows[0]?.value[1] === '1' ? rows : undefined;
          },
          'Prometheus to scrape the target through serve',
          30_000,
          250,
        );
        expect(up).toHaveLength(1);
        expect(await prom.query('hindsight_alerts_firing{job="hindsight"}')).not.toEqual([]);
        const health = await eventually(
          async () => {
            const pools = await prom.targetHealth();
            return pools.some((t) => t.scrapePool === 'hindsight_no_token' && t.health === 'down')
              ? pools
              : undefined;
          },
          'the scrape without a token refused',
          30_000,
          250,
        );
        expect(health.find((t) => t.scrapePool === 'hindsight')?.health).toBe('up');
        expect(health.find((t) => t.scrapePool === 'hindsight_no_token')?.lastError).toContain('401');
      } finally {
        await prom.stop();
      }
    },
  );

  it('serves the target beside the server, and counts a deadlock once', async () => {
    const before = await eventually(
      async () => {
        const text = await scrape();
        return valueOf(text, 'pg_up{target="shop-db"}') === 1 ? text : undefined;
      },
      'the target sampled',
      30_000,
      200,
    );
    expect(before).toContain('hindsight_alerts_firing');
    expect(valueOf(before, 'hindsight_pg_deadlocks_total{target="shop-db"}')).toBe(0);

    const a = await db.connect({ applicationName: 'a' });
    const b = await db.connect({ applicationName: 'b' });
    try {
      await makeDeadlock(a, b);
    } finally {
      await Promise.allSettled([a.end(), b.end()]);
    }
    const after = await eventually(
      async () => {
        const text = await scrape();
        const counted = valueOf(text, `pg_stat_database_deadlocks{target="shop-db",datname="${db.name}"}`);
        return valueOf(text, 'hindsight_pg_deadlocks_total{target="shop-db"}') === 1 && counted === 1
          ? text
          : undefined;
      },
      'the deadlock counted by the findings and by pg_stat_database',
      30_000,
      250,
    );
    expect(after).toContain('# TYPE hindsight_pg_deadlocks_total counter');
    // Past the counter's grace (~10 s): the live sighting, the log's report and the counter's rise are one deadlock.
    await new Promise((r) => setTimeout(r, 12_000));
    expect(valueOf(await scrape(), 'hindsight_pg_deadlocks_total{target="shop-db"}')).toBe(1);
  });
});
