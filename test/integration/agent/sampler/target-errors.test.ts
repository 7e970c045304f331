import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresTarget } from '../../../../src/agent/targets/postgres/postgres-target.js';
import { isHindsightError, type HindsightError } from '../../../../src/core/errors.js';
import { adminUrl, createTestDatabase, withClient, type TestDatabase } from '../../../support/database.js';
import { FakeClock } from '../../../support/fake-clock.js';

function urlAs(base: string, user: string, password: string, database?: string): string {
  const url = new URL(base);
  url.username = user;
  url.password = password;
  if (database !== undefined) url.pathname = `/${database}`;
  return url.toString();
}

async function failure(work: () => Promise<unknown>): Promise<HindsightError> {
  try {
    await work();
  } catch (error) {
    if (isHindsightError(error)) return error;
    throw error;
  }
  throw new Error('expected a HindsightError, got success');
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        resolve(typeof address === 'object' && address ? address.port : 1);
      });
    });
  });
}

describe('PostgresTarget errors say what is wrong and what to do', () => {
  let db: TestDatabase;
  const plainRole = `hs_plain_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    db = await createTestDatabase('sampler_err');
    await withClient(adminUrl(), (c) => c.query(`CREATE ROLE ${plainRole} LOGIN PASSWORD 'plain-pw'`));
  });

  afterAll(async () => {
    await db.drop();
    await withClient(adminUrl(), (c) => c.query(`DROP ROLE IF EXISTS ${plainRole}`));
  });

  it('a malformed URL is a user error, without echoing the password', () => {
    for (const url of ['not a url', 'mysql://u@h/db', 'postgres://u:s3cret@host:99999/db']) {
      let caught: unknown;
      try {
        PostgresTarget.create(url);
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ code: 'TARGET_URL_INVALID', kind: 'user', retryable: false });
      expect((caught as Error).message).toContain('postgres://user:password@host:5432/database');
      expect((caught as Error).message).not.toContain('s3cret');
    }
  });

  it('a wrong password is a user error naming the role', async () => {
    const error = await failure(() => PostgresTarget.connect(urlAs(db.url, 'postgres', 'wrong-password')));
    expect(error).toMatchObject({ code: 'TARGET_AUTH_FAILED', kind: 'user' });
    expect(error.message).toContain('"postgres"');
    expect(error.message).not.toContain('wrong-password');
  });

  it('a database that does not exist is a user error', async () => {
    const error = await failure(() =>
      PostgresTarget.connect(urlAs(adminUrl(), 'postgres', 'postgres', 'no_such_db_x')),
    );
    expect(error).toMatchObject({ code: 'TARGET_DATABASE_MISSING', kind: 'user' });
    expect(error.message).toContain('no_such_db_x');
  });

  it('a role without pg_monitor is told the GRANT to run', async () => {
    const error = await failure(() => PostgresTarget.connect(urlAs(db.url, plainRole, 'plain-pw')));
    expect(error).toMatchObject({ code: 'TARGET_PRIVILEGE_MISSING', kind: 'user' });
    expect(error.message).toContain(`GRANT pg_monitor TO ${plainRole};`);
    expect(error.message).toContain('pg_read_all_stats');
    expect(error.message).toContain('pg_read_all_settings');
  });

  it('an unreachable port is transient, and every call is a new attempt (the watch loop paces them)', async () => {
    const clock = new FakeClock();
    const target = PostgresTarget.create(
      `postgres://postgres:postgres@127.0.0.1:${await closedPort()}/postgres`,
      {
        clock,
      },
    );
    try {
      const first = await failure(() => target.sample());
      expect(first).toMatchObject({ code: 'TARGET_UNREACHABLE', kind: 'transient', retryable: true });
      expect(first.message).toContain('ECONNREFUSED');
      // No delay of its own: a second call tries again at once (one owner of backoff: the loop).
      const second = await failure(() => target.sample());
      expect(second).not.toBe(first);
      expect(second.code).toBe('TARGET_UNREACHABLE');
      expect(target.counters().failures).toBe(2);
    } finally {
      await target.close();
    }
  });
});
