import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { openEmbeddedStore, type ServerRestart } from '../../../src/store/postgres/embedded-store.js';

const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
const writer = fileURLToPath(new URL('./embedded-store-writer.ts', import.meta.url));

/** Pids of the writers started, killed in afterAll should a test fail before it kills them. */
const writers: number[] = [];

/** Running, not a zombie (PID 1 of this sandbox reaps no orphans): /proc/<pid>/stat state. */
const isAlive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
};

/**
 * Runs the writer until it has reported `commits` commits, then kills it with SIGKILL (and its
 * postmaster too when asked). Returns the ids it reported committed and the postmaster's pid.
 */
async function writeThenKill(dataDir: string, prefix: string, commits: number, killPostmaster: boolean) {
  const child = spawn(tsx, [writer, dataDir, prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const committed: string[] = [];
  let writerPid = 0;
  let postmasterPid = 0;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`writer did not commit ${commits} rows in time:\n${stderr}`));
    }, 60_000);
    child.once('exit', () => {
      reject(new Error(`writer exited early:\n${stderr}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [word, value = '', postmaster = ''] = line.split(' ');
      if (word === 'open') {
        writerPid = Number(value);
        postmasterPid = Number(postmaster);
        writers.push(writerPid);
      }
      if (word === 'committed') committed.push(value);
      if (committed.length === commits) {
        clearTimeout(timer);
        process.kill(writerPid, 'SIGKILL');
        if (killPostmaster) process.kill(postmasterPid, 'SIGKILL');
        resolve();
      }
    });
  });
  await exited;
  return { committed, postmasterPid };
}

const retry = async (f: () => Promise<unknown>): Promise<void> => {
  for (let attempt = 1; ; attempt++) {
    try {
      await f();
      return;
    } catch (error) {
      if (attempt === 20) throw error;
      await sleep(250);
    }
  }
};

const tokenRow = (id: string) => ({
  id,
  name: id,
  secretHash: `hash-${id}`,
  role: 'viewer' as const,
  createdAt: 1,
});

describe('the embedded store', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hindsight-store-'));
  });
  afterAll(async () => {
    // Stop whatever a failed test left running, then remove everything.
    for (const pid of writers.filter(isAlive)) process.kill(pid, 'SIGKILL');
    await openEmbeddedStore({ dataDir }).then(
      (store) => store.close(),
      () => undefined,
    );
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps every committed row after kill -9 of its process, stopping the orphaned server and starting again', async () => {
    const { committed, postmasterPid } = await writeThenKill(dataDir, 'a', 30, false);
    expect(isAlive(postmasterPid)).toBe(true); // orphaned, still running
    const started = performance.now();
    const store = await openEmbeddedStore({ dataDir });
    const startMs = performance.now() - started;
    try {
      const ids = new Set((await store.tokens.list()).map((t) => t.id));
      expect(committed.filter((id) => !ids.has(id))).toEqual([]);
      expect(isAlive(postmasterPid)).toBe(false); // the orphan was stopped; ours is another
      expect(startMs).toBeLessThan(30_000);
    } finally {
      await store.close();
    }
  });

  it('keeps every committed row after kill -9 of its process and of the server (stale postmaster.pid, WAL replay)', async () => {
    const { committed, postmasterPid } = await writeThenKill(dataDir, 'b', 30, true);
    expect(isAlive(postmasterPid)).toBe(false);
    await expect(stat(join(dataDir, 'postgres', 'postmaster.pid'))).resolves.toBeTruthy(); // left behind
    const store = await openEmbeddedStore({ dataDir });
    try {
      const ids = new Set((await store.tokens.list()).map((t) => t.id));
      expect(committed.filter((id) => !ids.has(id))).toEqual([]);
      expect(ids.has('a-0')).toBe(true); // and the first run's rows
      const log = readFileSync(join(dataDir, 'postgres', 'server.log'), 'utf8');
      expect(log).toContain('automatic recovery in progress'); // PostgreSQL replayed its WAL
    } finally {
      await store.close();
    }
  });

  it('starts its server again when it dies under a running store (kill -9 of the postmaster), losing no committed row', async () => {
    const restarts: ServerRestart[] = [];
    const store = await openEmbeddedStore({
      dataDir,
      superviseEveryMs: 200,
      onServerRestart: (e) => restarts.push(e),
    });
    try {
      await store.tokens.insert(tokenRow('c-before'));
      const pid = Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGKILL');
      const deadline = performance.now() + 30_000;
      while (restarts.length === 0 && performance.now() < deadline) await sleep(100);
      expect(restarts).toEqual([{ kind: 'restarted', downMs: expect.any(Number) as unknown }]);
      // The pool's connections to the dead server fail once each, then new ones reach the new one.
      await retry(() => store.tokens.insert(tokenRow('c-after')));
      const ids = new Set((await store.tokens.list()).map((t) => t.id));
      expect(['c-before', 'c-after'].filter((id) => !ids.has(id))).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('refuses a second user of the same data directory while the first runs', async () => {
    const store = await openEmbeddedStore({ dataDir });
    try {
      await expect(openEmbeddedStore({ dataDir })).rejects.toMatchObject({
        code: 'STORE_DATA_DIR_IN_USE',
        kind: 'user',
      });
      expect(await store.ping()).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('says what to do when the data directory is unusable', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'hindsight-bad-'));
    try {
      const file = join(scratch, 'a-file');
      await writeFile(file, 'not a directory');
      await expect(openEmbeddedStore({ dataDir: file })).rejects.toMatchObject({
        code: 'STORE_DATA_DIR_UNUSABLE',
        kind: 'user',
        message: expect.stringMatching(/not a directory.*--data-dir/s) as unknown,
      });
      const junk = join(scratch, 'junk');
      await mkdir(join(junk, 'postgres'), { recursive: true });
      await writeFile(join(junk, 'postgres', 'notes.txt'), 'mine');
      await expect(openEmbeddedStore({ dataDir: junk })).rejects.toMatchObject({
        code: 'STORE_DATA_DIR_UNUSABLE',
        message: expect.stringMatching(/no PostgreSQL cluster/) as unknown,
      });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
