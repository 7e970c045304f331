import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { PostgresTarget } from '../../../../src/agent/targets/postgres/postgres-target.js';
import { pgEnvironment } from '../../../../src/config/postgres-conninfo.js';
import { isHindsightError } from '../../../../src/core/errors.js';
import { adminUrl } from '../../../support/database.js';

/** Connection strings as psql takes them, against the suite's real server (its socket is in its data directory). */
describe('PostgresTarget reached as psql would reach it', () => {
  const admin = new URL(adminUrl());
  const socketDir = inject('pgDataDir');
  const port = admin.port;
  const password = decodeURIComponent(admin.password);
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hs-pgpass-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const sampleOnce = async (url: string, env: Record<string, string>): Promise<string> => {
    const target = await PostgresTarget.connect(url, { environment: pgEnvironment(env) });
    try {
      const sample = await target.sample();
      expect(sample.sessions.length).toBeGreaterThan(0);
      return target.name;
    } finally {
      await target.close();
    }
  };

  it.skipIf(socketDir === '')(
    'over the Unix socket: postgresql://user@/db?host=<dir>, the password from PGPASSWORD',
    async () => {
      const name = await sampleOnce(
        `postgresql://postgres@/postgres?host=${encodeURIComponent(socketDir)}&port=${port}`,
        {
          PGPASSWORD: password,
        },
      );
      expect(name).toBe(`${socketDir}/.s.PGSQL.${port} postgres`);
    },
  );

  it.skipIf(socketDir === '')(
    'with no URL but PG* variables, the password from the password file',
    async () => {
      const passfile = join(dir, 'pgpass');
      await writeFile(passfile, `localhost:${port}:postgres:postgres:${password.replaceAll(':', '\\:')}\n`, {
        mode: 0o600,
      });
      await sampleOnce('postgres://', {
        PGHOST: socketDir,
        PGPORT: port,
        PGUSER: 'postgres',
        PGDATABASE: 'postgres',
        PGPASSFILE: passfile,
      });
    },
  );

  it('over TCP with the database from PGDATABASE and the password from PGPASSWORD', async () => {
    await sampleOnce(`postgres://postgres@${admin.hostname}:${port}`, {
      PGDATABASE: 'postgres',
      PGPASSWORD: password,
    });
  });

  it('stops at once with a user error when the host does not resolve before any connection', async () => {
    const error: unknown = await PostgresTarget.connect('postgres://u:p@no-such-host.invalid/db').catch(
      (e: unknown) => e,
    );
    expect(isHindsightError(error) && error.kind === 'user' && error.code === 'TARGET_HOST_UNKNOWN').toBe(
      true,
    );
    expect((error as Error).message).toContain('"no-such-host.invalid"');
  });
});
