import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SqlTags } from '../../../src/core/app-signal.js';
import type { BlockingEpisodeFinding, DeadlockFinding, Finding } from '../../../src/core/finding.js';
import type { DeadlockReport } from '../../../src/core/log-event.js';
import { normalizeQuery } from '../../../src/core/query-normalizer.js';
import { prependSqlTags } from '../../../src/core/sql-comment-tags.js';
import { PostgresTarget } from '../../../src/agent/targets/postgres/postgres-target.js';
import { createPostgresServerLog } from '../../../src/agent/targets/postgres/server-log.js';
import { openTargetWatch } from '../../../src/watch-deps.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

/**
 * The app's sqlcommenter tags read back by the agent, on the suite's real PostgreSQL: the tags the
 * SDK puts first in each statement come out of the server log's deadlock report (both sides) and
 * out of pg_stat_activity (a blocking episode's root and victim, an idle transaction), and the
 * queries findings show carry no comment.
 */
const logDirectory = inject('pgLogDirectory');

const CHECKOUT: SqlTags = {
  service: 'shop',
  release: 'v2',
  route: 'POST /checkout',
  callsite: 'demo/shop/checkout.ts:88',
};
const RESTOCK: SqlTags = {
  service: 'shop',
  release: 'v2',
  job: 'restock',
  callsite: 'demo/shop/restock.ts:20',
};
const CART: SqlTags = {
  service: 'shop',
  release: 'v2',
  route: 'POST /cart/:id',
  callsite: 'demo/shop/cart.ts:41',
};

const until = async <T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> => {
  const by = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > by) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

describe.skipIf(logDirectory === '')('sqlcommenter tags read back by the agent', () => {
  let db: TestDatabase;
  let checkout: pg.Client;
  let restock: pg.Client;
  const findings: Finding[] = [];
  const stop = new AbortController();
  let watch: ReturnType<typeof openTargetWatch>;

  beforeAll(async () => {
    db = await createTestDatabase('sqltags');
    checkout = await db.connect({ applicationName: 'shop' });
    restock = await db.connect({ applicationName: 'shop-jobs' });
    await checkout.query('CREATE TABLE inventory (product_id int PRIMARY KEY, stock int NOT NULL)');
    await checkout.query('CREATE TABLE products (id int PRIMARY KEY, price int NOT NULL)');
    await checkout.query('INSERT INTO inventory VALUES (1, 10), (2, 10)');
    await checkout.query('INSERT INTO products VALUES (1, 100), (2, 100)');
    watch = openTargetWatch(
      {
        name: 'shop-db',
        url: db.url,
        // The newest file of the suite's server, from its start: entries of other databases are skipped.
        log: logDirectory,
        logFormat: 'jsonlog',
        logPrefix: null,
        fromStart: true,
        intervalMs: 150,
        rawQueries: false,
        thresholds: { blockingMs: 400, idleInTransactionMs: 1_500, longTransactionMs: 600_000 },
      },
      { publish: (finding) => findings.push(finding) },
      stop.signal,
    );
    await until('a first sample', () => watch.state.lastSample ?? undefined);
  });

  afterAll(async () => {
    stop.abort();
    await watch.stop();
    await checkout.end();
    await restock.end();
    await db.drop();
  });

  it('names both sides of a deadlock by their route or job and call site, from the server log', async () => {
    await checkout.query('BEGIN');
    await restock.query('BEGIN');
    await checkout.query(
      prependSqlTags('UPDATE inventory SET stock = stock - 1 WHERE product_id = $1', CHECKOUT),
      [1],
    );
    await restock.query(prependSqlTags('UPDATE products SET price = price + 1 WHERE id = $1', RESTOCK), [1]);
    const outcomes = await Promise.all([
      checkout
        .query(prependSqlTags('UPDATE products SET price = price - 1 WHERE id = $1', CHECKOUT), [1])
        .then(
          () => 'ok',
          (error: unknown) => (error as { code?: string }).code,
        ),
      restock
        .query(prependSqlTags('UPDATE inventory SET stock = stock + 5 WHERE product_id = $1', RESTOCK), [1])
        .then(
          () => 'ok',
          (error: unknown) => (error as { code?: string }).code,
        ),
    ]);
    await Promise.all([checkout.query('ROLLBACK'), restock.query('ROLLBACK')]);
    expect(outcomes.sort()).toEqual(['40P01', 'ok']);

    const logged = await until('the log report of the deadlock', () =>
      findings.find((f): f is DeadlockFinding => f.kind === 'deadlock' && f.source === 'log'),
    );
    const sides = logged.processes.map((p) => ({ query: p.query, tags: p.tags }));
    expect(sides).toHaveLength(2);
    expect(sides).toEqual(
      expect.arrayContaining([
        { query: 'UPDATE products SET price = price - $1 WHERE id = $2', tags: CHECKOUT },
        { query: 'UPDATE inventory SET stock = stock + $1 WHERE product_id = $2', tags: RESTOCK },
      ]),
    );
    // The same deadlock seen live (deadlock_timeout is 1 s, samples every 150 ms) carries them too.
    const live = findings.find((f): f is DeadlockFinding => f.kind === 'deadlock' && f.source === 'live');
    if (live !== undefined) {
      expect(live.processes.map((p) => p.tags)).toEqual(expect.arrayContaining([CHECKOUT, RESTOCK]));
    }
  });

  it('reads the same tags off the stderr and csvlog files of that deadlock (the ServerLogSource, each format)', async () => {
    const target = PostgresTarget.create(db.url, { name: 'shop-db' });
    try {
      for (const format of ['stderr', 'csvlog'] as const) {
        const reports: DeadlockReport[] = [];
        const stopLog = new AbortController();
        const following = createPostgresServerLog({
          path: logDirectory,
          format,
          // stderr: the prefix is read from the server, as watch does.
          prefix: null,
          fromStart: true,
          normalizeQuery: (sql) => normalizeQuery(sql),
          target: {
            database: db.name,
            relationNames: (refs, abort) => target.relationNames(refs, abort),
            ready: () => target.ready(),
          },
        }).follow(
          {
            onDeadlock: (report) => {
              reports.push(report);
              stopLog.abort();
            },
            onSignal: () => undefined,
            onProblem: () => undefined,
          },
          stopLog.signal,
        );
        const timer = setTimeout(() => {
          stopLog.abort();
        }, 15_000);
        await following;
        clearTimeout(timer);
        expect(
          reports.map((r) => r.processes.map((p) => p.tags)),
          format,
        ).toEqual([expect.arrayContaining([CHECKOUT, RESTOCK])]);
        expect(
          reports[0]?.processes.every((p) => p.query?.startsWith('UPDATE ')),
          format,
        ).toBe(true);
      }
    } finally {
      await target.close();
    }
  });

  it('names the root and the victim of a blocking episode, and an idle transaction, from pg_stat_activity', async () => {
    await restock.query('BEGIN');
    await restock.query(prependSqlTags('UPDATE inventory SET stock = 0 WHERE product_id = $1', RESTOCK), [2]);
    const waiting = checkout
      .query(prependSqlTags('UPDATE inventory SET stock = stock - 1 WHERE product_id = $1', CART), [2])
      .then(
        () => 'ok',
        (error: unknown) => error,
      );
    const episode = await until('a blocking episode', () =>
      findings.find((f): f is BlockingEpisodeFinding => f.kind === 'blocking_episode' && f.phase === 'open'),
    );
    const idle = await until('the idle transaction', () =>
      findings.find((f) => f.kind === 'idle_in_transaction'),
    );
    await restock.query('ROLLBACK');
    expect(await waiting).toBe('ok');

    expect(episode.roots.map((r) => [r.query, r.tags])).toEqual([
      ['UPDATE inventory SET stock = $1 WHERE product_id = $2', RESTOCK],
    ]);
    expect(episode.victims.map((v) => [v.query, v.tags])).toEqual([
      ['UPDATE inventory SET stock = stock - $1 WHERE product_id = $2', CART],
    ]);
    expect(idle).toMatchObject({
      query: 'UPDATE inventory SET stock = $1 WHERE product_id = $2',
      tags: RESTOCK,
    });
    const closed = await until('the episode closed', () =>
      findings.find(
        (f): f is BlockingEpisodeFinding => f.kind === 'blocking_episode' && f.phase === 'closed',
      ),
    );
    expect(closed.roots[0]?.tags).toEqual(RESTOCK);
  });
});
