import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advisoryKey } from '../../src/store/postgres/advisory-key.js';
import { MIGRATIONS } from '../../src/store/postgres/migration-list.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { migrate } from '../../src/store/postgres/schema-migrator.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { incidentStoreContract } from './incident-store.contract.js';
import { pagingStoreContract } from './paging-store.contract.js';
import { foldEvents } from '../../src/core/app-signal-rollup.js';
import { requestEvent, signalStoreContract } from './signal-store.contract.js';
import { metricsStoreContract } from './metrics-store.contract.js';

const TABLES =
  'findings, alerts, incidents, timeline, evidence_links, rule_states, services, targets, target_health, api_tokens, paging_directory, escalation_states, outbox, app_rollups, app_rollup_users, deploys, metric_statement_texts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('store');
});
afterAll(async () => {
  await db.drop();
});

incidentStoreContract('PostgresStore', async () => {
  const store = await PostgresStore.open({ url: db.url });
  await withClient(db.url, (c) => c.query(`TRUNCATE ${TABLES} RESTART IDENTITY`));
  return store;
});

pagingStoreContract('PostgresStore', async () => {
  const store = await PostgresStore.open({ url: db.url });
  await withClient(db.url, (c) => c.query(`TRUNCATE ${TABLES} RESTART IDENTITY`));
  return store;
});

signalStoreContract('PostgresStore', async () => {
  const store = await PostgresStore.open({ url: db.url });
  await withClient(db.url, (c) => c.query(`TRUNCATE ${TABLES} RESTART IDENTITY`));
  return store;
});

metricsStoreContract('PostgresStore', async () => {
  const store = await PostgresStore.open({ url: db.url });
  await withClient(db.url, async (c) => {
    await c.query(`TRUNCATE ${TABLES} RESTART IDENTITY`);
    // Partitions are tables: a test starts with none.
    const { rows } = await c.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent IN ('metric_series'::regclass, 'metric_statement_sets'::regclass)`,
    );
    for (const r of rows) await c.query(`DROP TABLE ${r.name}`);
  });
  return store;
});

describe('PostgresStore on its own', () => {
  it('keeps the user ids of rollups stored before migration 0006 moved them to rows', async () => {
    const old = await createTestDatabase('rollupusers');
    try {
      const before = MIGRATIONS.findIndex((m) => m.name === '0006-rollup-users');
      await withClient(old.url, async (c) => {
        await migrate(c, MIGRATIONS.slice(0, before));
        await c.query(
          `INSERT INTO app_rollups VALUES ('shop', 'POST', '/checkout', 1764527000000, 3, 1, 30, 12, '{u1,u2,u3}', '{u2}', false, '[]', '[]', '{v2}')`,
        );
      });
      const store = await PostgresStore.open({ url: old.url });
      try {
        await store.signals.merge(foldEvents([requestEvent({ user: 'u0' })]));
        const [r] = await store.signals.list({ since: 0 });
        expect(r).toMatchObject({ requests: 4, users: ['u0', 'u1', 'u2', 'u3'], failedUsers: ['u2'] });
      } finally {
        await store.close();
      }
    } finally {
      await old.drop();
    }
  });

  it('migrates a fresh database from two stores opening at once, and reopening applies nothing twice', async () => {
    const fresh = await createTestDatabase('migrate');
    try {
      const [a, b] = await Promise.all([
        PostgresStore.open({ url: fresh.url }),
        PostgresStore.open({ url: fresh.url }),
      ]);
      await a.tokens.insert({ id: 't1', name: 'ci', secretHash: 'h1', role: 'admin', createdAt: 1 });
      expect(await b.tokens.count()).toBe(1);
      await Promise.all([a.close(), b.close()]);
      const again = await PostgresStore.open({ url: fresh.url });
      expect(await again.tokens.count()).toBe(1);
      await again.close();
      const { rows } = await withClient(fresh.url, (c) =>
        c.query<{ position: number; name: string }>(
          'SELECT position, name FROM hindsight_migrations ORDER BY position',
        ),
      );
      expect(rows).toEqual(MIGRATIONS.map((m, i) => ({ position: i + 1, name: m.name })));
      expect(rows.slice(0, 4).map((r) => r.name)).toEqual([
        '0001-incident-record',
        '0002-paging',
        '0003-app-signals',
        '0004-database-metrics',
      ]);
    } finally {
      await fresh.drop();
    }
  });

  it('takes the lock of transact as an advisory lock, and bounds the wait for it with statement_timeout', async () => {
    const store = await PostgresStore.open({ url: db.url, statementTimeoutMs: 300 });
    const holder = await db.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [advisoryKey('rules')]);
      const started = performance.now();
      await expect(store.transact('rules', () => Promise.resolve('ran'))).rejects.toMatchObject({
        code: 'STORE_LOCK_TIMEOUT',
        retryable: true,
      });
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(await store.transact('other', () => Promise.resolve('ran'))).toBe('ran');
      await holder.query('SELECT pg_advisory_unlock($1::bigint)', [advisoryKey('rules')]);
      expect(await store.transact('rules', () => Promise.resolve('ran'))).toBe('ran');
    } finally {
      await holder.end();
      await store.close();
    }
  });

  it('two stores (replicas) merging the same rollup keys at once lose nothing', async () => {
    const [a, b] = await Promise.all([
      PostgresStore.open({ url: db.url }),
      PostgresStore.open({ url: db.url }),
    ]);
    try {
      await withClient(db.url, (c) => c.query('TRUNCATE app_rollups, app_rollup_users'));
      const batch = (i: number) =>
        foldEvents([
          requestEvent({ user: `u${i}`, at: 1_764_527_000_000 + (i % 30) * 1_000 }),
          requestEvent({ user: `u${i}`, route: '/cart' }),
        ]);
      await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).signals.merge(batch(i))));
      const stored = await a.signals.list({ since: 0 });
      expect(stored.reduce((sum, r) => sum + r.requests, 0)).toBe(80);
      const cart = stored.find((r) => r.route === '/cart');
      expect(cart?.users).toHaveLength(40);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('says which store it could not reach, without the password', async () => {
    const url = db.url.replace(/:\d+\//, ':1/');
    await expect(PostgresStore.open({ url })).rejects.toMatchObject({ code: 'STORE_UNREACHABLE' });
    await expect(PostgresStore.open({ url })).rejects.not.toThrow(/postgres:postgres@/);
    const wrongPassword = db.url.replace(/:[^:@/]*@/, ':wrong@');
    await expect(PostgresStore.open({ url: wrongPassword })).rejects.toMatchObject({
      code: 'STORE_REFUSED',
      kind: 'user',
    });
  });
});
