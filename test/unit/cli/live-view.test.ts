import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { WatchState } from '../../../src/app/watch-cycle.js';
import { deadlockLines } from '../../../src/cli/commands/watch-run.js';
import { describeFinding, describeLock } from '../../../src/cli/finding-line.js';
import { renderWatchView } from '../../../src/cli/live-view.js';
import type { BlockingEpisodeFinding, DeadlockFinding } from '../../../src/core/finding.js';
import type { RowLockObject } from '../../../src/core/sample.js';
import { T0, sample, session, wait } from '../../support/sample-builder.js';

// Read the text, not the colours.
const plain = (text: string): string => stripVTControlCharacters(text);

const state = (over: Partial<WatchState>): WatchState => ({
  target: 'db/shop',
  reachable: true,
  problem: null,
  lastSample: null,
  samplesTaken: 0,
  recentFindings: [],
  ...over,
});

describe('renderWatchView', () => {
  it('says whether the active backends are working or waiting on locks, and behind whom', () => {
    const storm = sample(T0, {
      sessions: [
        session(4242, { state: 'idle in transaction' }),
        session(2, { waitEventType: 'Lock' }),
        session(3, { waitEventType: 'Lock' }),
        session(4),
      ],
      lockWaits: [wait(2, [4242]), wait(3, [4242])],
    });
    expect(plain(renderWatchView(state({ lastSample: storm }), T0, 200))).toContain(
      '67% of active backends waited on locks behind pid 4242; the slow queries are victims',
    );
    const calm = sample(T0, { sessions: [session(4)] });
    expect(plain(renderWatchView(state({ lastSample: calm }), T0, 200))).not.toContain('waited on locks');
  });

  it('draws each blocking tree from its root, waiters nested under the session they wait on', () => {
    const chain = sample(T0, {
      sessions: [
        session(1, {
          state: 'idle in transaction',
          stateChange: T0 - 40_000,
          application: 'checkout',
          query: 'UPDATE inventory SET qty = qty - $1',
        }),
        session(2, { query: 'UPDATE inventory SET qty = qty + $1' }),
        session(3, { query: 'SELECT qty FROM inventory FOR UPDATE' }),
      ],
      lockWaits: [
        wait(2, [1], { relation: 'public.inventory', waitStart: T0 - 12_000 }),
        wait(3, [2], { relation: 'public.inventory', waitStart: T0 - 3_000 }),
      ],
    });
    const text = plain(renderWatchView(state({ lastSample: chain }), T0, 200));
    const lines = text.split('\n');
    const root = lines.findIndex((l) => l.includes('ROOT pid 1'));
    expect(lines[root]).toContain('idle in transaction 40s · checkout');
    expect(lines[root + 1]).toMatch(
      /^ {4}└ pid 2 waits 12s for ShareLock on public\.inventory: UPDATE inventory/,
    );
    expect(lines[root + 2]).toMatch(/^ {6}└ pid 3 waits 3\.0s/);
    expect(text).toContain('waiting on a lock 2');
  });

  it('shows a cycle (a deadlock forming) even though it has no root', () => {
    const cycle = sample(T0, { lockWaits: [wait(7, [8]), wait(8, [7])] });
    expect(plain(renderWatchView(state({ lastSample: cycle }), T0, 120))).toContain(
      'CYCLE (deadlock forming)',
    );
  });

  it('says when the target is unreachable, and shows notes and recent findings', () => {
    const unreachable = {
      kind: 'target_unreachable',
      id: 'u',
      target: 'db/shop',
      at: T0,
      reason: 'connection refused',
    } as const;
    const text = plain(
      renderWatchView(
        state({ reachable: false, problem: 'connection refused', recentFindings: [unreachable] }),
        T0,
        120,
        {
          notes: ['log rotated'],
          logCounts: new Map([
            ['lock_timeout', 2],
            ['statement', 40],
          ]),
        },
      ),
    );
    expect(text).toContain('UNREACHABLE: connection refused (retrying)');
    expect(text).toContain(describeFinding(unreachable));
    expect(text).toContain('! log rotated');
    expect(text).toContain('server log since start: lock timeout 2');
    expect(text).not.toContain('statement 40'); // every logged statement would drown the rest
  });
});

const accountsRow = (ctid: string): RowLockObject => ({
  kind: 'row',
  relation: 'public.accounts',
  relationOid: 16385,
  ctid,
});
const SAME = 'UPDATE accounts SET balance = balance + $1 WHERE id = $2';

/** A deadlock between two identical statements, as seen live and then as the server log reported it. */
const deadlock = (source: 'live' | 'log'): DeadlockFinding => ({
  kind: 'deadlock',
  id: 'deadlock-1',
  target: 'db/shop',
  at: T0,
  source,
  victimPid: source === 'log' ? 11 : null,
  count: 1,
  database: 'shop',
  processes: [
    {
      pid: 10,
      waitsForMode: 'ShareLock',
      waitsForObject: 'transaction 746',
      relation: 'public.accounts',
      blockedBy: 11,
      query: SAME,
      lockObject: { kind: 'transaction', transactionId: '746', holderPid: 11, row: accountsRow('(0,2)') },
      user: 'web',
      application: 'checkout',
    },
    {
      pid: 11,
      waitsForMode: 'ShareLock',
      waitsForObject: 'transaction 745',
      relation: 'public.accounts',
      blockedBy: 10,
      query: SAME,
      lockObject: { kind: 'transaction', transactionId: '745', holderPid: 10, row: accountsRow('(0,1)') },
      user: 'batch',
      application: 'payout',
    },
  ],
});

const longQuery =
  'UPDATE inventory SET qty = qty - $1, reserved = reserved + $1, updated_at = $2 WHERE product_id = $3 AND warehouse_id = $4';

const episode: BlockingEpisodeFinding = {
  kind: 'blocking_episode',
  id: 'episode-1',
  target: 'db/shop',
  phase: 'open',
  startedAt: T0,
  endedAt: null,
  roots: [
    {
      pid: 4242,
      state: 'idle in transaction',
      query: longQuery,
      user: 'web',
      application: 'shop-checkout-service',
      client: '10.0.0.1',
      xactAgeMs: 40_000,
      stateAgeMs: 38_000,
      blockedCount: 3,
    },
  ],
  victims: [],
  maxDepth: 2,
  maxWaiters: 3,
  longestWaitMs: 4_000,
  edges: [],
};

describe('locks told as what they are', () => {
  it('a row by its relation and ctid, a transaction by its holder’s pid, a relation, an advisory key', () => {
    expect(describeLock('ExclusiveLock', accountsRow('(0,1)'), 'public.accounts')).toBe(
      'row (0,1) of public.accounts',
    );
    expect(
      describeLock(
        'ShareLock',
        { kind: 'transaction', transactionId: '746', holderPid: 12, row: accountsRow('(0,1)') },
        'public.accounts',
      ),
    ).toBe('transaction 746 of pid 12 (row (0,1) of public.accounts)');
    expect(
      describeLock(
        'AccessExclusiveLock',
        { kind: 'relation', relation: 'public.accounts', relationOid: 1 },
        'x',
      ),
    ).toBe('AccessExclusiveLock on public.accounts');
    expect(describeLock('ExclusiveLock', { kind: 'advisory', key: '42' }, 'advisory')).toBe(
      'ExclusiveLock on advisory lock 42',
    );
    expect(
      describeLock(
        'ShareLock',
        { kind: 'virtual_transaction', virtualXid: '4/12', holderPid: 9 },
        'virtualxid',
      ),
    ).toBe('virtual transaction 4/12 of pid 9');
  });

  it('in the blocking tree: a row waiter is not shown as a table lock', () => {
    const chain = sample(T0, {
      sessions: [session(1, { state: 'idle in transaction' }), session(2), session(3)],
      lockWaits: [
        wait(2, [1], {
          relation: 'public.accounts',
          object: { kind: 'transaction', transactionId: '9', holderPid: 1, row: accountsRow('(0,1)') },
        }),
        wait(3, [2], {
          lockType: 'tuple',
          mode: 'ExclusiveLock',
          relation: 'public.accounts',
          object: accountsRow('(0,1)'),
        }),
      ],
    });
    const text = plain(renderWatchView(state({ lastSample: chain }), T0, 160));
    expect(text).toContain('pid 2 waits for transaction 9 of pid 1 (row (0,1) of public.accounts)');
    expect(text).toContain('pid 3 waits for row (0,1) of public.accounts');
    expect(text).not.toContain('ExclusiveLock on public.accounts');
  });
});

describe('deadlocks in the human view', () => {
  it('show each side’s application and user, and the rows that tell identical statements apart', () => {
    const line = describeFinding(deadlock('log'));
    expect(line).toContain(
      'pid 10 [app checkout, user web] waits for transaction 746 of pid 11 (row (0,2) of public.accounts)',
    );
    expect(line).toContain(
      'pid 11 [app payout, user batch] (cancelled) waits for transaction 745 of pid 10 (row (0,1) of public.accounts)',
    );
  });

  it('appear once in the live view, as the latest (enriched) report of their id', () => {
    const text = plain(
      renderWatchView(state({ recentFindings: [deadlock('live'), episode, deadlock('log')] }), T0, 160),
    );
    expect(text.match(/DEADLOCK/g)).toHaveLength(1);
    expect(text).toContain('(cancelled)');
    // In its first place, before the episode that followed it.
    expect(text.indexOf('DEADLOCK')).toBeLessThan(text.indexOf('BLOCKING'));
  });

  it('print once as lines: a live sighting waits for the log report of the same id', async () => {
    const written: string[] = [];
    const lines = deadlockLines((l) => written.push(l), true, 50);
    lines.publish(deadlock('live'));
    expect(written).toEqual([]);
    lines.publish(deadlock('log'));
    expect(written).toHaveLength(1);
    expect(written[0]).toContain('(cancelled)');
    // No report in time: the live line alone, then the late report as an update of it.
    lines.publish({ ...deadlock('live'), id: 'deadlock-2' });
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(written).toHaveLength(2);
    lines.publish({ ...deadlock('log'), id: 'deadlock-2' });
    expect(written[2]).toContain('DEADLOCK (update');
    // Without a log there is nothing to wait for.
    const direct: string[] = [];
    deadlockLines((l) => direct.push(l), false).publish(deadlock('live'));
    expect(direct).toHaveLength(1);
  });
});

describe('the live view at 80 and 160 columns', () => {
  const chain = sample(T0, {
    sessions: [
      session(4242, {
        state: 'idle in transaction',
        stateChange: T0 - 38_000,
        application: 'shop-checkout-service',
        query: longQuery,
      }),
      session(4243, { query: longQuery }),
      session(4244, {
        query: `SELECT qty FROM inventory WHERE product_id = $1 AND warehouse_id = $2 FOR UPDATE`,
      }),
      session(4245, { query: longQuery }),
    ],
    lockWaits: [
      wait(4243, [4242], {
        waitStart: T0 - 12_000,
        relation: 'public.inventory',
        object: {
          kind: 'transaction',
          transactionId: '123456',
          holderPid: 4242,
          row: { kind: 'row', relation: 'public.inventory', relationOid: 1, ctid: '(1234,56)' },
        },
      }),
      wait(4244, [4243], {
        waitStart: T0 - 9_000,
        lockType: 'tuple',
        mode: 'ExclusiveLock',
        relation: 'public.inventory',
        object: { kind: 'row', relation: 'public.inventory', relationOid: 1, ctid: '(1234,56)' },
      }),
      wait(4245, [4244], {
        waitStart: T0 - 3_000,
        lockType: 'tuple',
        mode: 'ExclusiveLock',
        relation: 'public.inventory',
        object: { kind: 'row', relation: 'public.inventory', relationOid: 1, ctid: '(1234,56)' },
      }),
    ],
  });

  for (const width of [80, 160]) {
    it(`keeps every line within ${width} columns, and never cuts a count or the root blocker’s pid`, () => {
      const text = plain(
        renderWatchView(
          state({
            lastSample: chain,
            recentFindings: [episode, { ...episode, phase: 'closed', endedAt: T0 + 5000 }, deadlock('log')],
          }),
          T0,
          width,
          {
            notes: [
              `watching db/shop every 1 s, log /var/lib/postgresql/data/log/postgresql-2026-01-01_120000.log`,
            ],
          },
        ),
      );
      for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(width);
      const oneLine = text.replace(/\n +/g, ' ');
      // The counts of the summary and of the finding, the root and every waiter's pid and lock.
      expect(oneLine).toContain('waiting on a lock 3');
      expect(oneLine).toMatch(/deadlocks since stats reset 0/);
      expect(oneLine).toContain('ROOT pid 4242');
      expect(oneLine).toContain('up to 3 waiting, longest wait 4.0 s, 0 victim statement(s) · root pid 4242');
      expect(oneLine).toContain('pid 4245 waits 3.0s for row (1234,56) of public.inventory');
      expect(oneLine).toContain('pid 11 [app payout, user batch] (cancelled)');
      // The query is abbreviated, not dropped.
      expect(oneLine).toContain(
        'ROOT pid 4242 (idle in transaction 38s · shop-checkout-service) · blocks 1 directly: UPDATE inventory',
      );
    });
  }
});

describe('the app’s sqlcommenter tags in the human view', () => {
  const CHECKOUT = {
    route: 'POST /checkout',
    callsite: 'demo/shop/checkout.ts:88',
    release: 'v2',
    service: 'shop',
  };
  const RESTOCK = { job: 'restock', callsite: 'demo/shop/restock.ts:20' };

  it('name the route or job and the call site before each side’s statement of a deadlock', () => {
    const finding: DeadlockFinding = {
      kind: 'deadlock',
      id: 'd1',
      target: 'db/shop',
      at: T0,
      source: 'log',
      victimPid: 11,
      count: 1,
      database: 'shop',
      processes: [
        {
          pid: 10,
          waitsForMode: 'ShareLock',
          waitsForObject: 'transaction 7',
          relation: 'public.inventory',
          blockedBy: 11,
          query: 'UPDATE inventory SET stock = stock - $1 WHERE product_id = $2',
          tags: CHECKOUT,
        },
        {
          pid: 11,
          waitsForMode: 'ShareLock',
          waitsForObject: 'transaction 6',
          relation: 'public.products',
          blockedBy: 10,
          query: 'UPDATE products SET price = $1',
          tags: RESTOCK,
        },
      ],
    };
    const line = describeFinding(finding);
    expect(line).toContain(
      'ShareLock on public.inventory: POST /checkout at demo/shop/checkout.ts:88 · UPDATE inventory SET stock',
    );
    expect(line).toContain(
      '(cancelled) waits for ShareLock on public.products: job restock at demo/shop/restock.ts:20 · UPDATE products SET price = $1',
    );
    // Untagged statements read as before.
    expect(
      describeFinding({ ...finding, processes: finding.processes.map(({ tags: _, ...p }) => p) }),
    ).toContain('public.products: UPDATE products SET price = $1');
  });

  it('name them for a blocking root, an idle transaction, and in the live tree', () => {
    const episode: BlockingEpisodeFinding = {
      kind: 'blocking_episode',
      id: 'e1',
      target: 'db/shop',
      phase: 'open',
      startedAt: T0,
      endedAt: null,
      roots: [
        {
          pid: 1,
          state: 'idle in transaction',
          query: 'UPDATE inventory SET stock = $1',
          user: 'app',
          application: 'shop-jobs',
          client: null,
          xactAgeMs: 5_000,
          stateAgeMs: 4_000,
          blockedCount: 1,
          tags: RESTOCK,
        },
      ],
      victims: [],
      maxDepth: 1,
      maxWaiters: 1,
      longestWaitMs: 1_000,
      edges: [],
    };
    expect(describeFinding(episode)).toContain(
      'root pid 1 (idle in transaction for 4.0 s · shop-jobs) · job restock at demo/shop/restock.ts:20 · UPDATE inventory',
    );
    expect(
      describeFinding({
        kind: 'idle_in_transaction',
        id: 'i',
        target: 'db/shop',
        at: T0,
        pid: 1,
        idleMs: 40_000,
        query: 'SELECT $1',
        application: null,
        tags: CHECKOUT,
      }),
    ).toContain('last: POST /checkout at demo/shop/checkout.ts:88 · SELECT $1');
    const chain = sample(T0, {
      sessions: [
        session(1, { state: 'idle in transaction', query: 'UPDATE inventory SET stock = $1', tags: RESTOCK }),
        session(2, { query: 'UPDATE inventory SET stock = stock - $1', tags: CHECKOUT }),
      ],
      lockWaits: [wait(2, [1], { relation: 'public.inventory' })],
    });
    const text = plain(renderWatchView(state({ lastSample: chain }), T0, 200));
    expect(text).toContain(
      'blocks 1 directly: job restock at demo/shop/restock.ts:20 · UPDATE inventory SET stock = $1',
    );
    expect(text).toContain(
      'for ShareLock on public.inventory: POST /checkout at demo/shop/checkout.ts:88 · UPDATE inventory SET stock = stock - $1',
    );
  });

  it('show control characters in tags escaped, never sent to the terminal', () => {
    const hostile = { route: 'GET /\u001b[2J\u001b[31mowned', callsite: 'x.ts:1\u0007' };
    const line = describeFinding({
      kind: 'long_transaction',
      id: 'l',
      target: 'db/shop',
      at: T0,
      pid: 3,
      ageMs: 9_000,
      state: 'active',
      query: 'SELECT $1',
      application: null,
      tags: hostile,
    });
    expect(line).toContain('GET /\\x1b[2J\\x1b[31mowned at x.ts:1\\x07 · SELECT $1');
    expect(Array.from(line, (c) => c.charCodeAt(0)).filter((code) => code < 32 || code === 127)).toEqual([]);
    const chain = sample(T0, {
      sessions: [session(1, { state: 'idle in transaction', tags: hostile }), session(2)],
      lockWaits: [wait(2, [1])],
    });
    expect(plain(renderWatchView(state({ lastSample: chain }), T0, 200))).toContain(
      'GET /\\x1b[2J\\x1b[31mowned',
    );
  });
});

describe('renderWatchView with the host', () => {
  it('names the backends burning CPU and their statements', () => {
    const text = plain(
      renderWatchView(
        {
          target: 'primary',
          reachable: true,
          problem: null,
          lastSample: sample(T0, { sessions: [session(7)] }),
          samplesTaken: 2,
          recentFindings: [],
        },
        T0,
        200,
        {
          host: {
            at: T0,
            cpuBusy: 0.91,
            cpus: 2,
            load: [3.46, 2, 1],
            memory: { totalBytes: 8 * 1024 ** 3, availableBytes: 2 * 1024 ** 3 },
            disk: null,
            backendCores: 1.21,
            backends: [
              {
                pid: 7,
                cores: 1.2,
                state: 'active',
                query: 'SELECT sum(x) FROM big',
                application: 'report',
                user: 'app',
                database: 'shop',
              },
              {
                pid: 8,
                cores: 0.01,
                state: 'active',
                query: 'SELECT 1',
                application: null,
                user: null,
                database: null,
              },
            ],
          },
        },
      ),
    );
    expect(text).toContain('host CPU 91% of 2 · load 3.5 · memory 2.0 GB of 8.0 GB free');
    expect(text).toContain('  pid 7 1.20 cores: SELECT sum(x) FROM big');
    expect(text).not.toContain('pid 8 ');
  });
});
