import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { userError } from '../core/errors.js';
import { freePort, LocalPostgres } from '../platform/local-postgres.js';
import { redactUrl } from '../core/url-redaction.js';

/** Where race tests run: scratch databases on a server, each wiped between schedules. */
export interface RaceServer {
  /** Creates a scratch database and returns its URL. */
  createDatabase(): Promise<string>;
  /** Drops the scratch databases and stops the server if we started it. */
  close(): Promise<void>;
}

/**
 * A throwaway local PostgreSQL by default; with `url`, scratch databases on that server (never
 * the database in the URL itself: the race tester drops every schema between schedules).
 */
export async function openRaceServer(url?: string): Promise<RaceServer> {
  const started = url === undefined ? await startLocal() : undefined;
  const local = started?.server;
  const adminUrl = local ? local.url() : (url ?? '');
  const created: string[] = [];
  let usedLocalDefault = false;
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: adminUrl });
    try {
      await client.connect();
    } catch (cause) {
      // Exit 2 like any bad input: a wrong password or host is fixed in --db, not by retrying.
      throw userError(
        'RACE_CONNECT',
        `could not connect to ${redactUrl(adminUrl)}: ${String(cause)}; check the --db URL (host, port, user, password)`,
        cause,
      );
    }
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  return {
    async createDatabase() {
      // Our own throwaway server: its first database costs nothing, later ones are scratch ones.
      if (local && !usedLocalDefault) {
        usedLocalDefault = true;
        return local.url();
      }
      const name = `hindsight_race_${randomBytes(4).toString('hex')}`;
      await admin(async (c) => {
        try {
          await c.query(`CREATE DATABASE ${name}`);
        } catch (cause) {
          throw userError(
            'RACE_CREATEDB',
            `could not create a scratch database on ${redactUrl(adminUrl)} (${String(cause)}); the role needs CREATEDB (and superuser or GRANT SET ON PARAMETER deadlock_timeout)`,
            cause,
          );
        }
      });
      created.push(name);
      const target = new URL(adminUrl);
      target.pathname = `/${name}`;
      return target.toString();
    },
    async close() {
      if (started) {
        await started.server.destroy();
        if (started.copy) await rm(started.copy, { recursive: true, force: true });
        return;
      }
      await admin(async (c) => {
        for (const name of created) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      });
    },
  };
}

const run = promisify(execFile);
const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * A throwaway server in well under a second: `initdb` runs once per machine and user into a
 * template cluster in the temp directory; each run copies it (`cp -a` keeps the owner) and starts
 * the copy on a free port. Anything wrong with the template falls back to a fresh `initdb`.
 */
async function startLocal(): Promise<{ server: LocalPostgres; copy: string | undefined }> {
  const template = join(tmpdir(), `hindsight-race-template-${userInfo().uid}`);
  let copy: string | undefined;
  try {
    if (!(await exists(join(template, 'PG_VERSION')))) {
      const building = `${template}-${process.pid}-${randomBytes(3).toString('hex')}`;
      const fresh = await LocalPostgres.start({ dataDir: building });
      await fresh.stop();
      await rm(join(building, 'server.log'), { force: true });
      // Another run may have won the race to build it: then ours is just removed.
      await rename(building, template).catch(() => rm(building, { recursive: true, force: true }));
    }
    copy = join(tmpdir(), `hindsight-race-${process.pid}-${randomBytes(4).toString('hex')}`);
    await run('cp', ['-a', template, copy]);
    const port = await freePort();
    // Later settings win: the copy listens on its own port and socket directory.
    await appendFile(
      join(copy, 'postgresql.conf'),
      `\nport = ${port}\nunix_socket_directories = '${copy}'\n`,
    );
    return { server: await LocalPostgres.start({ dataDir: copy, port }), copy };
  } catch {
    // A template from other binaries (an upgrade) or half-built: rebuilt by the next run.
    if (copy) await rm(copy, { recursive: true, force: true });
    await rm(template, { recursive: true, force: true });
    return { server: await LocalPostgres.start(), copy: undefined };
  }
}
