import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * What `postmaster.pid` in a cluster directory says about the server that wrote it.
 *  - `none`: no file; the cluster is stopped cleanly.
 *  - `running`: its postmaster lives (e.g. orphaned by a `kill -9` of the process that started it).
 *  - `stale`: its process is gone; `shmInUse` while backends of the dead postmaster still hold its
 *    shared memory (they exit within moments of noticing).
 */
export type PostmasterState =
  | { readonly kind: 'none' }
  | { readonly kind: 'running'; readonly pid: number }
  | { readonly kind: 'stale'; readonly pid: number; readonly zombie: boolean; readonly shmInUse: boolean };

export async function postmasterState(clusterDir: string): Promise<PostmasterState> {
  const text = await readFile(join(clusterDir, 'postmaster.pid'), 'utf8').catch(() => null);
  if (text === null) return { kind: 'none' };
  const lines = text.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const process = Number.isInteger(pid) && pid > 0 ? await processState(pid, clusterDir) : 'gone';
  if (process === 'postgres') return { kind: 'running', pid };
  const shmId = Number.parseInt((lines[6] ?? '').trim().split(/\s+/)[1] ?? '', 10);
  return { kind: 'stale', pid, zombie: process === 'zombie', shmInUse: await sharedMemoryInUse(shmId) };
}

/**
 * Removes a `postmaster.pid` whose postmaster is a zombie — dead, but its pid still answers
 * `kill(pid, 0)` because nothing reaped it (PID 1 in some containers reaps nothing), which makes
 * PostgreSQL refuse to start ("Is another postmaster running?") — once no process holds its shared
 * memory any more. Any other stale file is PostgreSQL's to clear on start. Returns whether it removed it.
 */
export async function clearZombiePostmasterPid(clusterDir: string): Promise<boolean> {
  const state = await postmasterState(clusterDir);
  if (state.kind !== 'stale' || !state.zombie || state.shmInUse) return false;
  await rm(join(clusterDir, 'postmaster.pid'), { force: true });
  return true;
}

/** `postgres` (a live postmaster of this cluster), `zombie`, `other` (the pid was reused) or `gone`. */
async function processState(
  pid: number,
  clusterDir: string,
): Promise<'postgres' | 'zombie' | 'other' | 'gone'> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) {
    // No /proc (macOS): liveness is all we can learn.
    try {
      process.kill(pid, 0);
      return 'postgres';
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'postgres' : 'gone';
    }
  }
  // "pid (comm) S …": the name may hold spaces or parentheses, the state follows the last ')'.
  const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z' || state === 'X') return 'zombie';
  if (comm !== 'postgres') return 'other';
  // The postmaster keeps its command line (`postgres -D <cluster> …`): is it this cluster's?
  const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  return args.includes(clusterDir) ? 'postgres' : 'other';
}

/** Does a process still attach the System V segment the dead postmaster created? (Linux /proc.) */
async function sharedMemoryInUse(shmId: number): Promise<boolean> {
  if (!Number.isInteger(shmId)) return false;
  const table = await readFile('/proc/sysvipc/shm', 'utf8').catch(() => null);
  if (table === null) return true; // cannot tell: let PostgreSQL decide
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (Number(fields[1]) === shmId) return Number(fields[6]) > 0;
  }
  return false;
}
