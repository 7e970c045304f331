import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LockWait, Sample } from '../../../../src/core/sample.js';
import {
  composeSampleQueries,
  type LockWaitRow,
} from '../../../../src/agent/targets/postgres/sample-statement.js';
import type { JsonStatementRow } from '../../../../src/agent/targets/postgres/json-statement.js';
import { loadSqlFiles } from '../../../../src/agent/targets/postgres/sql-files.js';
import { PostgresTarget } from '../../../../src/agent/targets/postgres/postgres-target.js';
import { createTestDatabase, withClient, type TestDatabase } from '../../../support/database.js';
import { LockSessions } from './lock-sessions.js';

/** The same database, reached as another role. */
function urlAs(base: string, user: string, password: string): string {
  const url = new URL(base);
  url.username = user;
  url.password = password;
  return url.toString();
}

describe('PostgresTarget sampling a real server', () => {
  let db: TestDatabase;
  let admin: pg.Client;
  const monitorRole = `hs_mon_${randomBytes(4).toString('hex')}`;
  const monitorPassword = `pw-${randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    db = await createTestDatabase('sampler');
    admin = await db.connect();
    await admin.query('CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)');
    await admin.query('CREATE TABLE "Audit Log" (id int PRIMARY KEY)');
    await admin.query('INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 10) g');
    await admin.query(`CREATE ROLE ${monitorRole} LOGIN PASSWORD '${monitorPassword}'`);
    await admin.query(`GRANT pg_monitor TO ${monitorRole}`);
  });

  afterAll(async () => {
    await admin.end();
    await db.drop();
    await withClient(db.url.replace(/\/[^/]*$/, '/postgres'), (c) =>
      c.query(`DROP ROLE IF EXISTS ${monitorRole}`),
    );
  });

  /**
   * An idle-in-transaction session holds row 1; A waits for its transaction, B waits behind A
   * for the row's tuple lock, C wants the whole table and waits behind all three.
   */
  async function blockingChain(sessions: LockSessions) {
    const holder = await sessions.open('holder-app');
    await holder.client.query('BEGIN');
    await holder.client.query('SELECT * FROM accounts WHERE id = 1 FOR UPDATE');
    const a = await sessions.open();
    const b = await sessions.open();
    const c = await sessions.open();
    sessions.startBlocked(a.client, 'UPDATE accounts SET balance = balance - 1 WHERE id = 1');
    await LockSessions.untilWaiting(admin, [a.pid]);
    sessions.startBlocked(b.client, 'UPDATE accounts SET balance = balance + 1 WHERE id = 1');
    await LockSessions.untilWaiting(admin, [a.pid, b.pid]);
    sessions.startBlocked(c.client, 'BEGIN; LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE');
    await LockSessions.untilWaiting(admin, [a.pid, b.pid, c.pid]);
    return { holder: holder.pid, a: a.pid, b: b.pid, c: c.pid };
  }

  function waitOf(sample: Sample, pid: number): LockWait {
    const wait = sample.lockWaits.find((w) => w.pid === pid);
    if (!wait) throw new Error(`no lock wait for pid ${pid} in ${JSON.stringify(sample.lockWaits)}`);
    return wait;
  }

  it('sees an idle-in-transaction root blocker and its waiters with blockers, lock modes and relation names', async () => {
    const sessions = new LockSessions(db.url);
    const target = await PostgresTarget.connect(db.url, { name: 'primary', normalizeQuery: (q) => `N:${q}` });
    // Read before the chain forms: then a table lock is queued on accounts.
    const ctid = (await admin.query<{ ctid: string }>('SELECT ctid::text FROM accounts WHERE id = 1')).rows[0]
      ?.ctid;
    try {
      const pids = await blockingChain(sessions);
      const before = Date.now();
      const sample = await target.sample();

      expect(sample.target).toBe('primary');
      expect(sample.takenAt).toBeGreaterThanOrEqual(before - 1);
      expect(sample.serverMs).toBeGreaterThan(0);
      expect(sample.serverMs).toBeLessThan(500);
      expect(Math.abs((sample.serverNow ?? 0) - Date.now())).toBeLessThan(5_000);

      const holder = sample.sessions.find((s) => s.pid === pids.holder);
      expect(holder).toMatchObject({
        state: 'idle in transaction',
        backendType: 'client backend',
        application: 'holder-app',
        database: db.name,
        query: 'N:SELECT * FROM accounts WHERE id = 1 FOR UPDATE',
        waitEventType: 'Client',
      });
      expect(holder?.xactStart).toBeLessThanOrEqual(sample.takenAt + 1_000);
      expect(holder?.client).toBe('127.0.0.1');
      // The agent leaves itself out.
      expect(sample.sessions.map((s) => s.application)).not.toContain('hindsight-agent');

      expect(waitOf(sample, pids.a)).toMatchObject({
        lockType: 'transactionid',
        mode: 'ShareLock',
        relation: 'public.accounts',
        blockedBy: [pids.holder],
      });
      expect(waitOf(sample, pids.b)).toMatchObject({
        lockType: 'tuple',
        mode: 'ExclusiveLock',
        relation: 'public.accounts',
        blockedBy: [pids.a],
      });
      const c = waitOf(sample, pids.c);
      expect(c).toMatchObject({
        lockType: 'relation',
        mode: 'AccessExclusiveLock',
        relation: 'public.accounts',
      });
      expect([...c.blockedBy].sort()).toEqual([pids.holder, pids.a, pids.b].sort());
      // Each wait told as what it is: A waits for the holder's transaction to end (for row (0,1)),
      // B for that row's tuple lock, C for the table.
      const row = {
        kind: 'row',
        relation: 'public.accounts',
        relationOid: expect.any(Number) as unknown,
        ctid,
      };
      expect(waitOf(sample, pids.a).object).toEqual({
        kind: 'transaction',
        transactionId: expect.stringMatching(/^\d+$/) as unknown,
        holderPid: pids.holder,
        row,
      });
      expect(waitOf(sample, pids.b).object).toEqual(row);
      expect(c.object).toEqual({
        kind: 'relation',
        relation: 'public.accounts',
        relationOid: expect.any(Number) as unknown,
      });
      expect(c.waitStart).toBeGreaterThan(sample.takenAt - 30_000);
      expect(c.waitStart).toBeLessThanOrEqual(sample.serverNow ?? 0);
      expect(sample.lockWaits).toHaveLength(3);

      const counters = sample.counters.find((d) => d.database === db.name);
      expect(counters?.commits).toBeGreaterThan(0);
      expect(counters?.deadlocks).toBe(0);
    } finally {
      await sessions.close();
      await target.close();
    }
  });

  it('tells advisory locks by their key, one bigint or two int4', async () => {
    const sessions = new LockSessions(db.url);
    const target = await PostgresTarget.connect(db.url, { name: 'primary' });
    try {
      const holder = await sessions.open();
      await holder.client.query('SELECT pg_advisory_lock(5000000000), pg_advisory_lock(-3, 7)');
      const one = await sessions.open();
      const two = await sessions.open();
      sessions.startBlocked(one.client, 'SELECT pg_advisory_lock(5000000000)');
      sessions.startBlocked(two.client, 'SELECT pg_advisory_lock(-3, 7)');
      await LockSessions.untilWaiting(admin, [one.pid, two.pid]);
      const sample = await target.sample();
      expect(waitOf(sample, one.pid).object).toEqual({ kind: 'advisory', key: '5000000000' });
      expect(waitOf(sample, two.pid).object).toEqual({ kind: 'advisory', key: '-3,7' });
    } finally {
      await sessions.close();
      await target.close();
    }
  });

  it('reads the PostgreSQL 13 variant of the lock query the same way, without wait start', async () => {
    const sessions = new LockSessions(db.url);
    try {
      const pids = await blockingChain(sessions);
      const sql = await loadSqlFiles();
      const { rows } = await admin.query<JsonStatementRow<LockWaitRow>>(
        composeSampleQueries(sql, 130012).lockWaits,
        [await databaseOid()],
      );
      const waits = rows[0]?.rows ?? [];
      expect(
        waits.map((w) => [w.pid, w.mode, w.relation, w.wait_start, w.blocked_by, w.ctid, w.holder_pid]),
      ).toEqual(
        expect.arrayContaining([
          [
            pids.a,
            'ShareLock',
            'public.accounts',
            null,
            [pids.holder],
            expect.stringMatching(/^\(0,\d+\)$/),
            pids.holder,
          ],
          [
            pids.b,
            'ExclusiveLock',
            'public.accounts',
            null,
            [pids.a],
            expect.stringMatching(/^\(0,\d+\)$/),
            null,
          ],
        ]),
      );
    } finally {
      await sessions.close();
    }
  });

  it('works as a role that has only pg_monitor: other roles’ query text and blockers are visible', async () => {
    const sessions = new LockSessions(db.url);
    const target = await PostgresTarget.connect(urlAs(db.url, monitorRole, monitorPassword));
    try {
      const settings = target.settings();
      expect(settings).toMatchObject({
        role: monitorRole,
        database: db.name,
        canReadAllStats: true,
        canReadAllSettings: true,
        statementTimeout: '2s',
        lockTimeout: '500ms',
        lcMessages: 'C',
        logLockWaits: true,
      });
      expect(settings?.serverVersionNum).toBeGreaterThanOrEqual(130000);
      expect(settings?.dataDirectory).toBeTruthy();
      expect(settings?.logLinePrefix).toBe('%m [%p] %q%u@%d ');

      const pids = await blockingChain(sessions);
      const sample = await target.sample();
      expect(sample.sessions.find((s) => s.pid === pids.holder)?.query).toBe(
        'SELECT * FROM accounts WHERE id = 1 FOR UPDATE',
      );
      expect(sample.sessions.find((s) => s.pid === pids.a)?.user).toBe('postgres');
      expect(waitOf(sample, pids.a).blockedBy).toEqual([pids.holder]);
      expect(waitOf(sample, pids.b)).toMatchObject({ relation: 'public.accounts', blockedBy: [pids.a] });
    } finally {
      await sessions.close();
      await target.close();
    }
  });

  it('never waits on a lock: with ACCESS EXCLUSIVE held on a user table, sample() and names still answer at once', async () => {
    const sessions = new LockSessions(db.url);
    const target = await PostgresTarget.connect(db.url);
    try {
      const holder = await sessions.open();
      await holder.client.query('BEGIN');
      await holder.client.query('LOCK TABLE "Audit Log" IN ACCESS EXCLUSIVE MODE');
      const reader = await sessions.open();
      sessions.startBlocked(reader.client, 'SELECT count(*) FROM "Audit Log"');
      await LockSessions.untilWaiting(admin, [reader.pid]);

      const started = performance.now();
      const sample = await target.sample();
      const names = await target.relationNames([
        { databaseOid: await databaseOid(), relationOid: await tableOid('"Audit Log"') },
      ]);
      const elapsed = performance.now() - started;

      expect(elapsed).toBeLessThan(400); // lock_timeout is 500 ms: nothing waited for it
      expect(waitOf(sample, reader.pid)).toMatchObject({
        lockType: 'relation',
        mode: 'AccessShareLock',
        relation: 'public."Audit Log"',
        blockedBy: [holder.pid],
      });
      expect([...names.values()]).toEqual(['public."Audit Log"']);
    } finally {
      await sessions.close();
      await target.close();
    }
  });

  it('names relations of its own database by OID and leaves other databases out', async () => {
    const target = await PostgresTarget.connect(db.url);
    try {
      const own = await databaseOid();
      const accounts = await tableOid('accounts');
      const names = await target.relationNames([
        { databaseOid: own, relationOid: accounts },
        { databaseOid: own + 1_000, relationOid: accounts },
        { databaseOid: 0, relationOid: 1262 }, // pg_database, a shared catalog
        { databaseOid: own, relationOid: 4_000_000_000 },
      ]);
      expect(Object.fromEntries(names)).toEqual({
        [`${own}/${accounts}`]: 'public.accounts',
        '0/1262': 'pg_catalog.pg_database',
      });
    } finally {
      await target.close();
    }
  });

  it('skips a tick rather than queueing a second query while a sample runs', async () => {
    const target = await PostgresTarget.connect(db.url);
    try {
      const first = target.trySample();
      const second = await target.trySample();
      expect(second).toBe('skipped');
      expect(await first).not.toBe('skipped');
      expect(await target.trySample()).not.toBe('skipped');
      expect(target.counters()).toMatchObject({ samples: 2, skipped: 1, connects: 1 });
    } finally {
      await target.close();
    }
  });

  it('stops waiting when the signal aborts, and the next sample works', async () => {
    const target = await PostgresTarget.connect(db.url);
    try {
      await expect(target.sample(AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
      const controller = new AbortController();
      const running = target.sample(controller.signal);
      controller.abort();
      await expect(running).rejects.toMatchObject({ name: 'AbortError' });
      expect((await target.sample()).sessions.length).toBeGreaterThan(0);
    } finally {
      await target.close();
    }
  });

  it('reports pg_stat_statements deltas where the extension is installed, null where not', async () => {
    const without = await PostgresTarget.connect(db.url);
    try {
      expect((await without.sample()).statements).toBeNull();
    } finally {
      await without.close();
    }
    const other = await createTestDatabase('sampler_pss');
    await withClient(other.url, (c) => c.query('CREATE EXTENSION pg_stat_statements'));
    const target = await PostgresTarget.connect(urlAs(other.url, monitorRole, monitorPassword), {
      statementsEveryMs: 0,
      normalizeQuery: (q) => q.toLowerCase(),
    });
    try {
      expect((await target.sample()).statements).toEqual([]);
      await withClient(other.url, async (c) => {
        for (let i = 0; i < 3; i += 1) await c.query('SELECT 40 + $1::int AS answer', [i]);
      });
      const statements = (await target.sample()).statements ?? [];
      const ours = statements.find((s) => s.query.includes('answer'));
      expect(ours).toMatchObject({ query: 'select $2 + $1::int as answer', calls: 3, rows: 3 });
      expect(ours?.totalExecMs).toBeGreaterThanOrEqual(0);
      const again = (await target.sample()).statements ?? [];
      expect(again.find((s) => s.query.includes('answer'))).toBeUndefined();
      // Nobody waited on a lock in that database: the agent never read pg_locks there.
      const lockReads = await withClient(other.url, (c) =>
        c.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
           WHERE d.datname = current_database() AND s.query LIKE '%pg_blocking_pids%'`,
        ),
      );
      expect(lockReads.rows[0]?.n).toBe(0);
      const sessionReads = await withClient(other.url, (c) =>
        c.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
           WHERE d.datname = current_database() AND s.query LIKE '%pg_stat_activity%'`,
        ),
      );
      expect(sessionReads.rows[0]?.n).toBe(1);

      // Dropped under a running agent: samples go on, without statements.
      await withClient(other.url, (c) => c.query('DROP EXTENSION pg_stat_statements'));
      const after = await target.sample();
      expect(after.statements).toBeNull();
      expect(after.sessions.length).toBeGreaterThan(0);
      expect(target.counters()).toMatchObject({ failures: 0, connects: 1 });
    } finally {
      await target.close();
      await other.drop();
    }
  });

  async function databaseOid(): Promise<number> {
    const { rows } = await admin.query<{ oid: number }>(
      'SELECT oid::int8::float8 AS oid FROM pg_database WHERE datname = current_database()',
    );
    return rows[0]?.oid ?? -1;
  }

  async function tableOid(name: string): Promise<number> {
    const { rows } = await admin.query<{ oid: number }>('SELECT $1::regclass::oid::int8::float8 AS oid', [
      name,
    ]);
    return rows[0]?.oid ?? -1;
  }
});
