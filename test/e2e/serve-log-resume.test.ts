import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DeadlockFinding, Finding } from '../../src/core/finding.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { makeDeadlock } from '../support/deadlock.js';
import { eventually, ServeProcess } from '../support/serve-process.js';

/**
 * A deadlock that happens while serve is down (an upgrade, a restart) is in the server log: the
 * restarted serve reads the log on from where the last run stopped — the position kept in its data
 * directory — instead of at the log's end, and records it.
 */
const ADMIN = 'resume-admin-token';
const logDirectory = inject('pgLogDirectory');

describe.skipIf(logDirectory === '')('serve restarted reads the log on where it stopped', () => {
  let db: TestDatabase;
  let dir: string;
  let serve: ServeProcess | null = null;
  const start = async (): Promise<ServeProcess> => {
    const process = new ServeProcess(
      ['--config', join(dir, 'hindsight.config.yaml'), '--port', '0', '--data-dir', join(dir, 'data')],
      { HINDSIGHT_ADMIN_TOKEN: ADMIN, SHOP_DB_URL: db.url },
    );
    serve = process;
    await process.ready();
    return process;
  };
  const deadlocks = async (process: ServeProcess): Promise<DeadlockFinding[]> => {
    const { body } = await process.api<{ findings: Finding[] }>(
      '/api/v1/findings?target=shop-db&kind=deadlock',
      { token: ADMIN },
    );
    return body.findings.filter((f): f is DeadlockFinding => f.kind === 'deadlock');
  };

  beforeAll(async () => {
    db = await createTestDatabase('resume');
    await withClient(db.url, (c) =>
      c.query(
        'CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL); INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 10) g;',
      ),
    );
    dir = await mkdtemp(join(tmpdir(), 'hindsight-resume-'));
    await chmod(dir, 0o755); // the embedded store's PostgreSQL runs as `postgres` and must reach the data dir
    await writeFile(
      join(dir, 'hindsight.config.yaml'),
      `targets:\n  - name: shop-db\n    url: \${SHOP_DB_URL}\n    interval: 250ms\n    log: ${logDirectory}\n    logFormat: jsonlog\n`,
    );
  });

  afterAll(async () => {
    await serve?.stop();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('records the deadlock that happened while it was stopped, from the log', async () => {
    const first = await start();
    const positionFile = join(dir, 'data', 'log-positions', 'shop-db.json');
    await eventually(
      () => Promise.resolve(existsSync(positionFile) ? true : undefined),
      'the log position kept',
    );
    expect(await first.stop()).toBe(0);

    // While serve is down.
    const [a, b]: pg.Client[] = [await db.connect(), await db.connect()];
    try {
      await makeDeadlock(a!, b!, 3, 4);
    } finally {
      await Promise.allSettled([a!.end(), b!.end()]);
    }

    const second = await start();
    const found = await eventually(
      async () => {
        const all = await deadlocks(second);
        return all.find((d) => d.source === 'log') ?? undefined;
      },
      'the deadlock of the downtime, read from the log',
      20_000,
    );
    expect(found.victimPid).not.toBeNull();
    expect(found.processes.map((p) => p.query ?? '').join(' ')).toMatch(/UPDATE accounts SET balance/);
    expect(second.stderr).toMatch(/going on where the last run stopped|rotated since the last run/);
  });
});
