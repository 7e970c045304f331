import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlockingEpisodeFinding, Finding } from '../../src/core/finding.js';
import { LocalPostgres } from '../../src/platform/local-postgres.js';
import { CliProcess } from '../support/cli-process.js';

const isKind =
  <K extends Finding['kind']>(kind: K) =>
  (line: unknown): line is Extract<Finding, { kind: K }> =>
    typeof line === 'object' && line !== null && (line as { kind?: unknown }).kind === kind;

// Stops a server of its own for 20 s: the suite's shared server stays up.
describe('hindsight watch when the database goes away for 20 s', () => {
  let server: LocalPostgres;
  beforeAll(async () => {
    server = await LocalPostgres.start();
  });
  afterAll(async () => {
    await server.destroy();
  });

  it('survives, reports target_unreachable, then recovery, and resumes findings', async () => {
    const watch = new CliProcess(['watch', server.url(), '--json', '--interval', '0.25']);
    try {
      await new Promise((r) => setTimeout(r, 2500));
      await server.stop();
      const down = await watch.waitFor(isKind('target_unreachable'), 10_000);
      expect(down.reason).not.toBe('');
      await new Promise((r) => setTimeout(r, 20_000));
      expect(watch.child.exitCode).toBeNull(); // still running
      expect(watch.lines.filter(isKind('target_unreachable'))).toHaveLength(1); // said once, not every retry
      await server.resume();
      const up = await watch.waitFor(isKind('target_recovered'), 20_000);
      expect(up.downMs).toBeGreaterThanOrEqual(19_000);

      const holder = new pg.Client(server.url());
      const waiter = new pg.Client(server.url());
      await Promise.all([holder.connect(), waiter.connect()]);
      await holder.query(
        'CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY); INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING',
      );
      await holder.query('BEGIN');
      await holder.query('UPDATE t SET id = 1 WHERE id = 1');
      const waiting = waiter.query('UPDATE t SET id = 1 WHERE id = 1');
      const opened = await watch.waitFor(
        (l): l is BlockingEpisodeFinding => isKind('blocking_episode')(l) && l.phase === 'open',
        15_000,
      );
      expect(opened.roots).toHaveLength(1);
      await holder.query('COMMIT');
      await waiting;
      await Promise.all([holder.end(), waiter.end()]);
    } finally {
      expect(await watch.stop()).toBe(0);
    }
  }, 90_000);
});
