import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPostgresServerLog } from '../../../../src/agent/targets/postgres/server-log.js';
import type { ServerSettings } from '../../../../src/agent/targets/postgres/server-settings.js';
import type { DeadlockReport } from '../../../../src/core/log-event.js';
import type { RelationRef } from '../../../../src/core/ports.js';
import type { LogTimezone } from '../../../../src/postgres-log/log-timezone.js';

/** Two deadlocks as PostgreSQL 18 logs them (prefix '%m [%p] %q%u@%d '), a lock timeout between them. */
const LOG = `2026-11-23 23:29:43.368 UTC [15903] postgres@shop ERROR:  deadlock detected
2026-11-23 23:29:43.368 UTC [15903] postgres@shop DETAIL:  Process 15903 waits for ShareLock on transaction 759; blocked by process 15904.
\tProcess 15904 waits for ExclusiveLock on tuple (0,1) of relation 16385 of database 16384; blocked by process 15903.
\tProcess 15903: UPDATE products SET price = 42 WHERE id = 1
\tProcess 15904: UPDATE inventory SET qty = qty + 1 WHERE id = 1
2026-11-23 23:29:43.368 UTC [15903] postgres@shop HINT:  See server log for query details.
2026-11-23 23:29:43.368 UTC [15903] postgres@shop CONTEXT:  while updating tuple (0,1) in relation "products"
2026-11-23 23:29:43.368 UTC [15903] postgres@shop STATEMENT:  UPDATE products SET price = 42 WHERE id = 1
2026-11-23 23:29:43.400 UTC [15910] postgres@shop ERROR:  canceling statement due to lock timeout
2026-11-23 23:29:43.400 UTC [15910] postgres@shop STATEMENT:  UPDATE inventory SET qty = 0 WHERE id = 2
2026-11-23 23:29:43.475 UTC [15905] postgres@shop ERROR:  deadlock detected
2026-11-23 23:29:43.475 UTC [15905] postgres@shop DETAIL:  Process 15905 waits for ShareLock on transaction 761; blocked by process 15906.
\tProcess 15906 waits for ShareLock on transaction 760; blocked by process 15905.
\tProcess 15905: UPDATE products SET price = 7 WHERE id = 3
\tProcess 15906: UPDATE inventory SET qty = 1 WHERE id = 3
2026-11-23 23:29:43.475 UTC [15905] postgres@shop STATEMENT:  UPDATE products SET price = 7 WHERE id = 3
`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hindsight-server-log-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const settings = (logLinePrefix: string): ServerSettings =>
  ({ logLinePrefix, logTimezone: 'Etc/UTC' }) as ServerSettings;

describe('createPostgresServerLog', () => {
  it('hands deadlock reports on named and normalized, in log order, and counts the other entries', async () => {
    const path = join(dir, 'postgresql.log');
    await writeFile(path, LOG);
    const asked: RelationRef[][] = [];
    const log = createPostgresServerLog({
      path,
      format: 'auto',
      prefix: null,
      fromStart: true,
      normalizeQuery: (sql) => sql.replace(/\d+/g, '$n'),
      target: {
        database: 'shop',
        // Slow to answer: the second report (nothing to name) must still come after the first.
        relationNames: async (refs) => {
          asked.push([...refs]);
          await new Promise((resolve) => setTimeout(resolve, 300));
          return new Map([['16384/16385', 'public.inventory']]);
        },
        ready: () => Promise.resolve(settings('%m [%p] %q%u@%d ')),
      },
    });
    const reports: DeadlockReport[] = [];
    const signals: string[] = [];
    const problems: string[] = [];
    const stop = new AbortController();
    const following = log.follow(
      {
        onDeadlock: (report) => {
          reports.push(report);
          if (reports.length === 2) stop.abort();
        },
        onSignal: (kind) => signals.push(kind),
        onProblem: (message) => problems.push(message),
      },
      stop.signal,
    );
    const timeout = setTimeout(() => {
      stop.abort();
    }, 10_000);
    await following;
    clearTimeout(timeout);

    expect(asked).toEqual([[{ databaseOid: 16384, relationOid: 16385 }]]);
    expect(reports.map((r) => r.victimPid)).toEqual([15903, 15905]);
    expect(reports[0]?.processes.map((p) => [p.pid, p.relation, p.query])).toEqual([
      [15903, 'products', 'UPDATE products SET price = $n WHERE id = $n'],
      [15904, 'public.inventory', 'UPDATE inventory SET qty = qty + $n WHERE id = $n'],
    ]);
    // Each lock as what it is; the victim's row (from its CONTEXT) and user (its own log entry).
    expect(reports[0]?.processes.map((p) => [p.pid, p.lockObject, p.user])).toEqual([
      [
        15903,
        {
          kind: 'transaction',
          transactionId: '759',
          holderPid: 15904,
          row: { kind: 'row', relation: 'products', relationOid: null, ctid: '(0,1)' },
        },
        'postgres',
      ],
      [15904, { kind: 'row', relation: 'public.inventory', relationOid: 16385, ctid: '(0,1)' }, undefined],
    ]);
    expect(signals).toEqual(['lock_timeout']);
    expect(problems).toEqual([]);
  });

  it('skips what other databases of the same server logged; keeps entries that name no database', async () => {
    /** The log of one server with two databases: `billing`'s deadlock and lock timeout are not shop's. */
    const other = LOG.split('\n')
      .slice(0, 10)
      .map((line) =>
        line
          .replaceAll('postgres@shop', 'postgres@billing')
          .replaceAll('[15903]', '[16903]')
          .replaceAll('Process 15903', 'Process 16903')
          .replaceAll('process 15903', 'process 16903')
          .replaceAll('[15910]', '[16910]'),
      )
      .join('\n');
    const follow = async (
      text: string,
      prefix: string,
    ): Promise<{ victims: (number | null)[]; signals: string[] }> => {
      const path = join(dir, `p-${Math.random().toString(36).slice(2)}.log`);
      await writeFile(path, text);
      const log = createPostgresServerLog({
        path,
        format: 'stderr',
        prefix,
        fromStart: true,
        normalizeQuery: (sql) => sql,
        target: {
          database: 'shop',
          relationNames: () => Promise.resolve(new Map()),
          ready: () => Promise.reject(new Error('unused')),
        },
      });
      const victims: (number | null)[] = [];
      const signals: string[] = [];
      const stop = new AbortController();
      const timer = setTimeout(() => {
        stop.abort();
      }, 1500);
      await log.follow(
        {
          onDeadlock: (r) => victims.push(r.victimPid),
          onSignal: (k) => signals.push(k),
          onProblem: () => undefined,
        },
        stop.signal,
      );
      clearTimeout(timer);
      return { victims, signals };
    };
    expect(await follow(`${other}\n${LOG}`, '%m [%p] %q%u@%d ')).toEqual({
      victims: [15903, 15905],
      signals: ['lock_timeout'],
    });
    // Without %d in the prefix no entry names its database: all are kept.
    const bare = `${other}\n${LOG}`.replaceAll(' postgres@billing ', ' ').replaceAll(' postgres@shop ', ' ');
    expect(await follow(bare, '%m [%p] ')).toEqual({
      victims: [16903, 15903, 15905],
      signals: ['lock_timeout', 'lock_timeout'],
    });
  });

  it('rejects at once with a user error when the log cannot be read', async () => {
    const log = createPostgresServerLog({
      path: join(dir, 'missing.log'),
      format: 'stderr',
      prefix: '%m [%p] ',
      fromStart: false,
      normalizeQuery: (sql) => sql,
      target: {
        database: 'shop',
        relationNames: () => Promise.resolve(new Map()),
        ready: () => Promise.reject(new Error('unused')),
      },
    });
    const handlers = { onDeadlock: () => undefined, onSignal: () => undefined, onProblem: () => undefined };
    await expect(log.follow(handlers, new AbortController().signal)).rejects.toMatchObject({ kind: 'user' });
  });

  it("reads ambiguous zone abbreviations in the server's log_timezone, or in --log-timezone when given", async () => {
    const path = join(dir, 'postgresql.log');
    // IST: India, Ireland or Israel. The server says which (SHOW log_timezone).
    await writeFile(
      path,
      LOG.replace(/23:29:(\d\d\.\d+) UTC/g, '04:59:$1 IST').replaceAll('2026-11-23', '2026-11-24'),
    );
    const firstAt = async (options: { timezone?: LogTimezone | null; serverZone: string }) => {
      const stop = new AbortController();
      let at: number | null = null;
      const log = createPostgresServerLog({
        path,
        format: 'auto',
        prefix: null,
        fromStart: true,
        ...(options.timezone === undefined ? {} : { timezone: options.timezone }),
        normalizeQuery: (sql) => sql,
        target: {
          database: 'shop',
          relationNames: () => Promise.resolve(new Map()),
          ready: () =>
            Promise.resolve({
              logLinePrefix: '%m [%p] %q%u@%d ',
              logTimezone: options.serverZone,
            } as ServerSettings),
        },
      });
      const timeout = setTimeout(() => {
        stop.abort();
      }, 10_000);
      await log.follow(
        {
          onDeadlock: (report) => {
            at ??= report.at;
            stop.abort();
          },
          onSignal: () => undefined,
          onProblem: () => undefined,
        },
        stop.signal,
      );
      clearTimeout(timeout);
      return at;
    };
    const utc = Date.parse('2026-11-23T23:29:43.368Z');
    expect(await firstAt({ serverZone: 'Asia/Kolkata' })).toBe(utc);
    // The same text from a server in Israel (IST is +02:00 there) is another moment.
    expect(await firstAt({ serverZone: 'Asia/Jerusalem' })).toBe(utc + 3.5 * 3_600_000);
    expect(
      await firstAt({ serverZone: 'Europe/Dublin', timezone: { kind: 'zone', name: 'Asia/Kolkata' } }),
    ).toBe(utc);
  });
});
