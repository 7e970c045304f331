import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeProblem, parseConfig } from '../../../src/config/config-file.js';
import type { HindsightConfig } from '../../../src/config/config-schema.js';
import type { ServeOptions } from '../../../src/config/server-options.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { serveDeps } from '../../../src/serve-deps.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

function config(text: string, env: Record<string, string>): HindsightConfig {
  const result = parseConfig(text, { env });
  if (!result.ok) throw new Error(result.problems.map(describeProblem).join('\n'));
  return result.config;
}

describe('serve keeps what its watches sample (database metrics), and serves the history', () => {
  let store: TestDatabase;
  let monitored: TestDatabase;
  beforeAll(async () => {
    store = await createTestDatabase('serve_metrics_store');
    monitored = await createTestDatabase('serve_metrics_target');
  });
  afterAll(async () => {
    await store.drop();
    await monitored.drop();
  });

  it('records a 10 s point per target from the samples (the open one saved at stop), makes partitions ahead, and answers series on restart', async () => {
    const options: ServeOptions = {
      host: '127.0.0.1',
      port: 0,
      store: { kind: 'postgres', url: store.url },
      adminToken: null,
      logLevel: 'silent',
    };
    const declared = config(
      [
        'targets:',
        '  - { name: shop-db, url: "${DB}", interval: 200ms }',
        'tokens:',
        '  - { name: ci, secret: "${CI}", role: viewer }',
      ].join('\n'),
      { DB: monitored.url, CI: 'ci-token-0123456789' },
    );
    const started = Date.now();
    const first = await serveDeps().startServer(options, declared);
    const client = await monitored.connect();
    try {
      // Work for the counters, and a session idle in a transaction for the ages.
      await client.query('BEGIN');
      await client.query('SELECT 1');
      await new Promise((r) => setTimeout(r, 1_500));
    } finally {
      await client.end();
      await first.stop();
    }

    const direct = await PostgresStore.open({ url: store.url });
    try {
      const points = await direct.metrics.points({
        resolutionMs: 10_000,
        from: started - 10_000,
        until: Date.now() + 10_000,
        target: 'shop-db',
      });
      expect(points.length).toBeGreaterThanOrEqual(1);
      const samples = points.reduce((n, p) => n + p.samples, 0);
      expect(samples).toBeGreaterThanOrEqual(3);
      expect(Math.max(...points.map((p) => p.values.connections_peak ?? 0))).toBeGreaterThanOrEqual(2);
      expect(Math.max(...points.map((p) => p.values.oldest_idle_in_transaction_ms ?? 0))).toBeGreaterThan(0);
      expect(points.every((p) => (p.values.max_connections ?? 0) > 0)).toBe(true);
      // The target runs on this host: its figures are kept with the point (from the third sample on).
      const host = points.filter((p) => p.values.host_cpu_busy !== undefined);
      expect(host.length).toBeGreaterThanOrEqual(1);
      for (const p of host) {
        expect(p.values.host_cpu_busy).toBeGreaterThanOrEqual(0);
        expect(p.values.host_cpu_busy).toBeLessThanOrEqual(1);
        expect(p.values.host_memory_total_bytes).toBeGreaterThan(p.values.host_memory_used_bytes ?? Infinity);
        expect(p.values.host_load1).toBeGreaterThanOrEqual(0);
        expect(p.values.host_disk_total_bytes).toBeGreaterThan(0);
      }
      // The job ran at start: the 10 s partition of now and the next one are there.
      const tenSeconds = (await direct.metrics.partitions()).filter((p) => p.resolutionMs === 10_000);
      expect(tenSeconds.some((p) => p.from <= Date.now() && p.until > Date.now())).toBe(true);
      expect(tenSeconds.some((p) => p.from > Date.now())).toBe(true);
    } finally {
      await direct.close();
    }

    const second = await serveDeps().startServer(options, declared);
    try {
      const reply = await fetch(
        `${second.url}/api/v1/targets/shop-db/series?metric=connections_peak&from=${started - 60_000}`,
        {
          headers: { authorization: 'Bearer ci-token-0123456789' },
        },
      );
      expect(reply.status).toBe(200);
      const body = (await reply.json()) as {
        resolutionMs: number;
        points: { at: number; value: number | null }[];
      };
      expect(body.resolutionMs).toBe(10_000);
      expect(body.points.some((p) => (p.value ?? 0) >= 2)).toBe(true);
      const auth = { headers: { authorization: 'Bearer ci-token-0123456789' } };
      const memory = (await (
        await fetch(
          `${second.url}/api/v1/targets/shop-db/series?metric=host_memory_total_bytes&from=${started - 60_000}`,
          auth,
        )
      ).json()) as { points: { value: number | null }[] };
      expect(memory.points.some((p) => (p.value ?? 0) > 0)).toBe(true);
      // A name nobody knows: 404 naming it, not an empty series.
      const typo = await fetch(`${second.url}/api/v1/targets/shop-dbb/series?metric=commits`, auth);
      expect(typo.status).toBe(404);
      expect(await typo.text()).toContain('no target named \\"shop-dbb\\"');
    } finally {
      await second.stop();
    }
  });
});
