import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresTarget } from '../../../../src/agent/targets/postgres/postgres-target.js';
import type { Sample } from '../../../../src/core/sample.js';
import { LocalPostgres } from '../../../../src/platform/local-postgres.js';

/**
 * A server of its own: a full pg_stat_statements_reset() clears every database's entries, and
 * other test files read theirs on the shared server at the same time.
 */
describe('the sampler reads what metrics are kept from (real PostgreSQL, pg_stat_statements preloaded)', () => {
  let server: LocalPostgres;
  let admin: pg.Client;
  let target: PostgresTarget;

  beforeAll(async () => {
    server = await LocalPostgres.start({ settings: { max_connections: 77 } });
    admin = new pg.Client({ connectionString: server.url() });
    await admin.connect();
    await admin.query('CREATE EXTENSION pg_stat_statements');
    target = await PostgresTarget.connect(server.url(), { statementsEveryMs: 0 });
  });

  afterAll(async () => {
    await target.close();
    await admin.end();
    await server.destroy();
  });

  const answer = (s: Sample) => s.statements?.find((x) => x.query.includes('metrics_answer'));
  async function run(times: number): Promise<void> {
    for (let i = 0; i < times; i += 1) await admin.query('SELECT $1::int + 1 AS metrics_answer', [i]);
  }

  it('reads max_connections, temp bytes and the cache counters of each database', async () => {
    const before = await target.sample();
    expect(before.maxConnections).toBe(77);
    const mine = (s: Sample) => s.counters.find((c) => c.database === 'postgres');
    await admin.query('BEGIN');
    await admin.query("SET LOCAL work_mem = '64kB'");
    // A sort of 200,000 rows cannot fit 64 kB: it spills to a temporary file.
    await admin.query('SELECT g FROM generate_series(1, 200000) AS g ORDER BY g DESC OFFSET 199999');
    await admin.query('COMMIT');
    await admin.query('SELECT count(*) FROM pg_class');
    // pg_stat_database is flushed by the backend at most once a second (and at transaction end when idle).
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await admin.query('SELECT 1');
    const after = await target.sample();
    expect(mine(after)?.tempBytes ?? 0).toBeGreaterThan(mine(before)?.tempBytes ?? 0);
    expect(mine(after)?.blocksHit ?? 0).toBeGreaterThan(0);
    expect(mine(after)?.blocksRead).toBeGreaterThanOrEqual(0);
    expect(mine(after)?.commits ?? 0).toBeGreaterThan(mine(before)?.commits ?? 0);
  });

  it('keeps statement deltas right across a full and a partial pg_stat_statements_reset()', async () => {
    await target.sample();
    await run(5);
    expect(answer(await target.sample())).toMatchObject({ calls: 5, rows: 5 });

    // 2 calls, a full reset, then 7: the cumulative count went from 5 to 7, yet 7 ran since the reset.
    await run(2);
    await admin.query('SELECT pg_stat_statements_reset()');
    await run(7);
    const afterReset = answer(await target.sample());
    expect(afterReset).toMatchObject({ calls: 7, rows: 7 });
    expect(afterReset?.query).toContain('metrics_answer');

    expect(answer(await target.sample())).toBeUndefined();

    // A reset of one database does not move stats_reset: the count going down (7 → 3) tells it.
    const { rows } = await admin.query<{ oid: number }>(
      'SELECT oid FROM pg_database WHERE datname = current_database()',
    );
    await admin.query('SELECT pg_stat_statements_reset(0, $1::oid, 0)', [rows[0]?.oid]);
    await run(3);
    expect(answer(await target.sample())).toMatchObject({ calls: 3, rows: 3 });
  });

  it('reads pg_stat_statements every 60 s by default: the samples between carry nothing, the next read all of it', async () => {
    let now = Date.UTC(2026, 10, 30, 12);
    const throttled = await PostgresTarget.connect(server.url(), { clock: { now: () => now } });
    try {
      expect((await throttled.sample()).statements).toEqual([]);
      await run(3);
      now += 10_000;
      expect((await throttled.sample()).statements).toEqual([]);
      await run(2);
      now += 50_000;
      expect(answer(await throttled.sample())).toMatchObject({ calls: 5 });
    } finally {
      await throttled.close();
    }
  });
});
