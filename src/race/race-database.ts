import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { transientError, userError } from '../core/errors.js';
import { LocalPostgres } from '../platform/local-postgres.js';
import { redact } from './schedule-engine.js';

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
  const local = url === undefined ? await LocalPostgres.start() : undefined;
  const adminUrl = local ? local.url() : (url ?? '');
  const created: string[] = [];
  let usedLocalDefault = false;
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: adminUrl });
    try {
      await client.connect();
    } catch (cause) {
      throw transientError('RACE_CONNECT', `could not connect to ${redact(adminUrl)}: ${String(cause)}; check --db`, cause);
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
            `could not create a scratch database on ${redact(adminUrl)} (${String(cause)}); the role needs CREATEDB (and superuser or GRANT SET ON PARAMETER deadlock_timeout)`,
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
      if (local) {
        await local.destroy();
        return;
      }
      await admin(async (c) => {
        for (const name of created) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      });
    },
  };
}
