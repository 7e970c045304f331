import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BlockingEpisodeFinding, DeadlockFinding, Finding } from '../../src/core/finding.js';
import { CliProcess, runCli } from '../support/cli-process.js';
import { adminUrl, createTestDatabase, withClient, type TestDatabase } from '../support/database.js';

const isFinding = (line: unknown): line is Finding =>
  typeof line === 'object' && line !== null && 'kind' in line && typeof line.kind === 'string';
const episode =
  (phase: 'open' | 'closed') =>
  (line: unknown): line is BlockingEpisodeFinding =>
    isFinding(line) && line.kind === 'blocking_episode' && line.phase === phase;

async function backendPid(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return rows[0]!.pid;
}

/** Resolves once `pid` is waiting on a lock, as the server sees it. */
async function untilWaiting(url: string, pids: readonly number[]): Promise<void> {
  await withClient(url, async (c) => {
    for (let i = 0; i < 200; i++) {
      const { rows } = await c.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1) AND wait_event_type = 'Lock'",
        [pids],
      );
      if (rows[0]!.n === pids.length) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`sessions ${pids.join(', ')} never started waiting on a lock`);
  });
}

describe('hindsight watch (the CLI, against a real PostgreSQL)', () => {
  let db: TestDatabase;
  let watch: CliProcess;
  const clients: pg.Client[] = [];
  const open = async (app: string): Promise<pg.Client> => {
    const client = await db.connect({ applicationName: app });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    db = await createTestDatabase('watch');
    await withClient(db.url, (c) =>
      c.query(`
        CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
        INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 10) g;
        CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL);
        INSERT INTO items SELECT g, 0 FROM generate_series(1, 10) g;
        CREATE TABLE catalog (id int PRIMARY KEY, name text);
        INSERT INTO catalog VALUES (1, 'a'), (2, 'b');
      `),
    );
    const logDir = inject('pgLogDirectory');
    const logArgs = logDir ? ['--log', logDir, '--log-format', 'jsonlog'] : [];
    watch = new CliProcess(['watch', db.url, '--json', '--interval', '0.25', ...logArgs]);
    // Ready once it has sampled: a finding-free start is silent, so wait on its status line.
    for (let i = 0; i < 200 && !watch.stderr.includes('watching'); i++)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1500));
  });

  afterAll(async () => {
    await watch.stop();
    await Promise.allSettled(clients.map((c) => c.end()));
    await db.drop();
  });

  it('reports a deadlock with both queries, their lock modes and the table, within 2 s of the 40P01', async () => {
    const [a, b] = [await open('transfer-a'), await open('transfer-b')];
    await a.query('BEGIN');
    await b.query('BEGIN');
    await a.query('UPDATE accounts SET balance = balance - 10 WHERE id = 1');
    await b.query('UPDATE accounts SET balance = balance - 20 WHERE id = 2');
    const outcomes = Promise.allSettled([
      a.query('UPDATE accounts SET balance = balance + 10 WHERE id = 2'),
      b.query('UPDATE accounts SET balance = balance + 20 WHERE id = 1'),
    ]);
    const settled = await outcomes;
    const deadlockedAt = Date.now();
    expect(
      settled.some((o) => o.status === 'rejected' && (o.reason as { code?: string }).code === '40P01'),
    ).toBe(true);
    await Promise.all([a.query('ROLLBACK'), b.query('ROLLBACK')]);

    const finding = await watch.waitFor(
      (line): line is DeadlockFinding =>
        isFinding(line) && line.kind === 'deadlock' && line.processes.length === 2,
      10_000,
    );
    expect(Date.now() - deadlockedAt).toBeLessThan(2000);
    const queries = finding.processes.map((p) => p.query ?? '');
    expect(
      queries.every((q) => /UPDATE accounts SET balance = balance [+-] \$\d+ WHERE id = \$\d+/.test(q)),
    ).toBe(true);
    expect(queries.join(' ')).not.toMatch(/\b(10|20)\b/); // literals normalized away
    expect(finding.processes.map((p) => p.waitsForMode)).toEqual(
      expect.arrayContaining([expect.stringMatching(/Lock$/)]),
    );
    expect(finding.processes.some((p) => (p.relation ?? '').includes('accounts'))).toBe(true);

    // PostgreSQL's own report (with the victim) follows; it updates the same finding, not a second one.
    const logged = await watch.waitFor(
      (line): line is DeadlockFinding => isFinding(line) && line.kind === 'deadlock' && line.source === 'log',
      10_000,
    );
    expect(logged.victimPid).not.toBeNull();
    const ids = new Set(
      watch.lines.filter((l): l is DeadlockFinding => isFinding(l) && l.kind === 'deadlock').map((d) => d.id),
    );
    expect(ids.size).toBe(1);
  });

  it('names an idle-in-transaction session as the root of a blocking chain and its 5 waiters as victims', async () => {
    const idle = await open('forgot-to-commit');
    const waiters = await Promise.all([1, 2, 3, 4, 5].map((i) => open(`waiter-${i}`)));
    const [w1, w2, w3, w4, w5] = waiters as [pg.Client, pg.Client, pg.Client, pg.Client, pg.Client];
    const idlePid = await backendPid(idle);
    const waiterPids = await Promise.all(waiters.map(backendPid));
    await idle.query('BEGIN');
    await idle.query('UPDATE items SET v = v + 1 WHERE id = 1');
    await w1.query('BEGIN');
    await w1.query('UPDATE items SET v = v + 1 WHERE id = 2');
    const pending = [
      w1.query('UPDATE items SET v = v + 1 WHERE id = 1'), // waits on idle, holds row 2
      w2.query('UPDATE items SET v = v + 2 WHERE id = 1'), // waits on idle
      w3.query('UPDATE items SET v = v + 3 WHERE id = 2'), // waits on w1: depth 2
      w4.query('SELECT v FROM items WHERE id = 2 FOR UPDATE'), // waits on w1: depth 2
      w5.query('UPDATE items SET v = v + 5 WHERE id = 1'), // waits on idle
    ].map((q) => q.catch((error: unknown) => error));
    await untilWaiting(db.url, waiterPids);

    const opened = await watch.waitFor(episode('open'), 10_000);
    expect(opened.roots.map((r) => r.pid)).toEqual([idlePid]);
    expect(opened.roots[0]?.state).toBe('idle in transaction');
    expect(opened.roots[0]?.query).toMatch(/UPDATE items SET v = v \+ \$1 WHERE id = \$2/);

    await new Promise((r) => setTimeout(r, 1200));
    await idle.query('COMMIT');
    await pending[0]; // w1 gets row 1; its COMMIT releases row 2 for w3 and w4
    await w1.query('COMMIT');
    await Promise.all(pending);

    const closed = await watch.waitFor(
      (line): line is BlockingEpisodeFinding => episode('closed')(line) && line.id === opened.id,
      10_000,
    );
    expect(closed.roots.map((r) => r.pid)).toEqual([idlePid]);
    expect(closed.maxDepth).toBeGreaterThanOrEqual(2);
    expect(closed.maxWaiters).toBe(5);
    expect(closed.victims.map((v) => v.pid).sort()).toEqual([...waiterPids].sort());
    for (const victim of closed.victims) expect(victim.rootPids).toEqual([idlePid]);
  });

  it('names a long SELECT as the root when an ALTER TABLE queues behind it and later SELECTs queue behind the ALTER', async () => {
    const long = await open('long-report');
    const alter = await open('migration');
    const readers = [await open('reader-1'), await open('reader-2')];
    const longPid = await backendPid(long);
    const alterPid = await backendPid(alter);
    const readerPids = await Promise.all(readers.map(backendPid));
    const running = long.query('SELECT pg_sleep(4), count(*) FROM catalog');
    await new Promise((r) => setTimeout(r, 200));
    const altering = alter.query('ALTER TABLE catalog ADD COLUMN note text');
    await untilWaiting(db.url, [alterPid]);
    const reading = readers.map((r) => r.query('SELECT name FROM catalog WHERE id = 1'));
    await untilWaiting(db.url, readerPids);

    const opened = await watch.waitFor(
      (line): line is BlockingEpisodeFinding =>
        episode('open')(line) && line.roots.some((r) => r.pid === longPid),
      10_000,
    );
    expect(opened.roots.map((r) => r.pid)).toEqual([longPid]);
    expect(opened.roots[0]?.query).toMatch(/pg_sleep/);
    await Promise.all([running, altering, ...reading]);
    const closed = await watch.waitFor(
      (line): line is BlockingEpisodeFinding => episode('closed')(line) && line.id === opened.id,
      10_000,
    );
    expect(closed.victims.map((v) => v.pid).sort()).toEqual([alterPid, ...readerPids].sort());
  });
});

describe('hindsight watch as a role with only pg_monitor', () => {
  it('sees other sessions, their queries and who blocks whom', async () => {
    const db = await createTestDatabase('mon');
    const role = `mon_${randomBytes(3).toString('hex')}`;
    await withClient(adminUrl(), (c) =>
      c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'monitor-pw' IN ROLE pg_monitor`),
    );
    const url = new URL(db.url);
    url.username = role;
    url.password = 'monitor-pw';
    const watch = new CliProcess(['watch', url.toString(), '--json', '--interval', '0.25']);
    const holder = await db.connect();
    const waiter = await db.connect();
    try {
      const holderPid = await backendPid(holder);
      await holder.query('CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)');
      await holder.query('BEGIN');
      await holder.query('UPDATE t SET id = 1 WHERE id = 1');
      const waiting = waiter.query('UPDATE t SET id = 1 WHERE id = 1');
      const opened = await watch.waitFor(episode('open'), 15_000);
      expect(opened.roots[0]?.pid).toBe(holderPid);
      expect(opened.roots[0]?.query).toMatch(/UPDATE t SET id/);
      await holder.query('COMMIT');
      await waiting;
    } finally {
      await watch.stop();
      await Promise.allSettled([holder.end(), waiter.end()]);
      await db.drop();
      await withClient(adminUrl(), (c) => c.query(`DROP ROLE ${role}`));
    }
  });
});

describe('hindsight watch stops with one clear line when it cannot go on', () => {
  it('a malformed URL', async () => {
    const result = await runCli(['watch', 'localhost:5432/shop']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/postgres:\/\/user:password@host:5432\/database/);
  });

  it('a host that does not resolve (a reachable target that goes away is retried instead)', async () => {
    const result = await runCli(['watch', 'postgres://u:p@no-such-host.invalid/shop']);
    expect(result.code).toBe(2);
    expect(
      result.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.includes('watching')),
    ).toEqual([expect.stringMatching(/"no-such-host\.invalid" .* does not resolve/)]);
  });

  it('a wrong password', async () => {
    const url = new URL(adminUrl());
    url.password = 'wrong-password';
    const result = await runCli(['watch', url.toString()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/authentication failed/i);
    expect(result.stderr).not.toContain('wrong-password');
  });

  it('a role without pg_monitor: it says which role to grant', async () => {
    const role = `nomon_${randomBytes(3).toString('hex')}`;
    await withClient(adminUrl(), (c) => c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`));
    try {
      const url = new URL(adminUrl());
      url.username = role;
      url.password = 'pw';
      const result = await runCli(['watch', url.toString()]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/GRANT pg_monitor TO/);
    } finally {
      await withClient(adminUrl(), (c) => c.query(`DROP ROLE ${role}`));
    }
  });

  it('an unreadable log file', async () => {
    const result = await runCli(['watch', adminUrl(), '--log', '/nonexistent/postgresql.log']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\/nonexistent\/postgresql\.log/);
  });
});
