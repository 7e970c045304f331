import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { LogEvent } from '../../../../src/core/log-event.js';
import type { LogFormat } from '../../../../src/postgres-log/log-format.js';
import { interpretLogEvent, type DeadlockSignal } from '../../../../src/postgres-log/log-signal.js';
import { tailLog, type LogTailProblem } from '../../../../src/agent/targets/postgres/log-tailer.js';
import { createTestDatabase, type TestDatabase } from '../../../support/database.js';

/**
 * Tails the suite's own server (logging collector on, stderr + csvlog + jsonlog, prefix
 * '%m [%p] %q%u@%d ') while two sessions deadlock, in all three formats at once.
 */
const logDirectory = inject('pgLogDirectory');

describe.skipIf(logDirectory === '')('tailing the live server log', () => {
  let db: TestDatabase;
  let a: pg.Client;
  let b: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase('logtail');
    a = await db.connect({ applicationName: 'checkout' });
    b = await db.connect({ applicationName: 'restock' });
    await a.query('CREATE TABLE inventory (id int PRIMARY KEY, qty int NOT NULL)');
    await a.query('INSERT INTO inventory VALUES (1, 10), (2, 10)');
  });

  afterAll(async () => {
    await a.end();
    await b.end();
    await db.drop();
  });

  it('reports a deadlock with both queries from stderr, csvlog and jsonlog within seconds', async () => {
    const controller = new AbortController();
    const formats: LogFormat[] = ['stderr', 'csvlog', 'jsonlog'];
    const seen = new Map<LogFormat, { signal: DeadlockSignal; at: number }>();
    const problems: LogTailProblem[] = [];
    let opened = 0;
    const tails = formats.map((format) =>
      tailLog(logDirectory, {
        format,
        ...(format === 'stderr' ? { prefix: '%m [%p] %q%u@%d ' } : {}),
        pollMs: 100,
        signal: controller.signal,
        onEvents: (events: LogEvent[]) => {
          for (const event of events) {
            const signal = interpretLogEvent(event);
            if (signal?.kind === 'deadlock' && event.database === db.name)
              seen.set(format, { signal, at: Date.now() });
          }
        },
        onProblem: (problem) => problems.push(problem),
        onOpen: () => opened++,
      }),
    );
    try {
      // The tailers open the files at their ends before the deadlock happens.
      const openBy = Date.now() + 10_000;
      while (opened < formats.length && Date.now() < openBy) await new Promise((r) => setTimeout(r, 20));
      expect(opened).toBe(formats.length);
      await a.query('BEGIN');
      await b.query('BEGIN');
      await a.query('UPDATE inventory SET qty = qty - 1 WHERE id = 1');
      await b.query('UPDATE inventory SET qty = qty - 1 WHERE id = 2');
      const first = a
        .query('UPDATE inventory SET qty = qty + 1 WHERE id = 2')
        .catch((error: unknown) => error);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const second = b
        .query('UPDATE inventory SET qty = qty + 1 WHERE id = 1')
        .catch((error: unknown) => error);
      const outcomes = await Promise.all([first, second]);
      const deadlockAt = Date.now();
      await a.query('ROLLBACK');
      await b.query('ROLLBACK');
      expect(
        outcomes.filter((outcome) => (outcome as { code?: string } | undefined)?.code === '40P01'),
      ).toHaveLength(1);

      const deadline = Date.now() + 10_000;
      while (seen.size < formats.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect([...seen.keys()].sort()).toEqual(['csvlog', 'jsonlog', 'stderr']);
      for (const { signal, at } of seen.values()) {
        expect(at - deadlockAt).toBeLessThan(2_000);
        const queries = signal.report.processes.map((p) => p.query).sort();
        expect(queries).toEqual([
          'UPDATE inventory SET qty = qty + 1 WHERE id = 1',
          'UPDATE inventory SET qty = qty + 1 WHERE id = 2',
        ]);
        expect(signal.report.processes.every((p) => p.waitsForMode === 'ShareLock')).toBe(true);
        expect(signal.report.victimPid).not.toBeNull();
        expect(signal.report.database).toBe(db.name);
      }
      expect(problems.filter((p) => p.kind !== 'rotated')).toEqual([]);
    } finally {
      controller.abort();
      await Promise.all(tails);
    }
  });
});
