import { execFile } from 'node:child_process';
import { readFile, readlink, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostReader, HostReading } from '../../core/host-figures.js';
import type { Clock } from '../../core/ports.js';
import { isPostgresCommand, parseLoadAvg, parseMemInfo, parsePidStat, parseProcStat } from './proc-text.js';

export interface ProcHostReaderOptions {
  /** The target's host as its URL says (a name, an address, or a socket directory). */
  readonly targetHost: string;
  readonly clock: Clock;
  /** Where procfs is mounted (tests point it at a recorded tree). */
  readonly procRoot?: string;
  /** Clock ticks per second; read once from `getconf CLK_TCK` when not given. */
  readonly ticksPerSecond?: number;
}

/** A target on this host: a socket directory, no host at all, or a loopback name or address. */
export const isLocalHost = (host: string): boolean =>
  host === '' || host.startsWith('/') || host === 'localhost' || host === '::1' || host.startsWith('127.');

/**
 * `HostReader` on Linux procfs. The target counts as on this host when its URL names a local
 * host or socket and its backends are PostgreSQL processes of one postmaster in this `/proc`
 * (a container's published port on 127.0.0.1 has pids of another namespace: they are not). Only
 * children of that postmaster are read, so a pid reused by another program is never counted.
 */
export const createProcHostReader = (options: ProcHostReaderOptions): HostReader => {
  const proc = options.procRoot ?? '/proc';
  const local = isLocalHost(options.targetHost);
  let ticksPerSecond: Promise<number> | null =
    options.ticksPerSecond === undefined ? null : Promise.resolve(options.ticksPerSecond);
  let postmaster: number | null = null;
  let dataDir: string | null = null;

  const text = (path: string): Promise<string | null> => readFile(join(proc, path), 'utf8').catch(() => null);

  const findPostmaster = async (pids: readonly number[]): Promise<number | null> => {
    for (const pid of pids.slice(0, 8)) {
      const stat = await text(`${pid}/stat`);
      const parsed = stat === null ? null : parsePidStat(stat);
      if (parsed === null) continue;
      const [own, parent] = await Promise.all([text(`${pid}/cmdline`), text(`${parsed.ppid}/cmdline`)]);
      if (own !== null && parent !== null && isPostgresCommand(own) && isPostgresCommand(parent))
        return parsed.ppid;
    }
    return null;
  };

  return {
    async read(pids, signal) {
      if (!local || pids.length === 0 || signal.aborted) return null;
      if (postmaster !== null && (await text(`${postmaster}/stat`)) === null) postmaster = null;
      if (postmaster === null) {
        postmaster = await findPostmaster(pids);
        if (postmaster === null) return null;
        // The postmaster runs in its data directory; unreadable unless we are its user (or root).
        dataDir = await readlink(join(proc, String(postmaster), 'cwd')).catch(() => null);
      }
      ticksPerSecond ??= clockTicks();
      const at = options.clock.now();
      const [stat, loadavg, meminfo, tps] = await Promise.all([
        text('stat'),
        text('loadavg'),
        text('meminfo'),
        ticksPerSecond,
      ]);
      const cpu = stat === null ? null : parseProcStat(stat);
      const load = loadavg === null ? null : parseLoadAvg(loadavg);
      const memory = meminfo === null ? null : parseMemInfo(meminfo);
      if (cpu === null || load === null || memory === null) return null;
      const owner = postmaster;
      // Read in parallel, kept in the pids' order (not the order the reads finish in).
      const stats = await Promise.all(pids.map(async (pid) => [pid, await text(`${pid}/stat`)] as const));
      const processTicks = new Map<number, number>();
      for (const [pid, s] of stats) {
        const parsed = s === null ? null : parsePidStat(s);
        if (parsed !== null && parsed.ppid === owner) processTicks.set(pid, parsed.ticks);
      }
      const reading: HostReading = {
        at,
        cpuTicks: { total: cpu.total, idle: cpu.idle },
        cpus: cpu.cpus,
        load,
        memory,
        disk: await disk(dataDir ?? '/'),
        processTicks,
        ticksPerSecond: tps,
      };
      return reading;
    },
  };
};

const disk = async (path: string): Promise<HostReading['disk']> => {
  try {
    const s = await statfs(path);
    return { path, totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
  } catch {
    return null;
  }
};

/** `getconf CLK_TCK`, else 100 (Linux's USER_HZ on every common architecture). */
const clockTicks = (): Promise<number> =>
  new Promise((resolve) => {
    execFile('getconf', ['CLK_TCK'], { timeout: 2_000 }, (error, stdout) => {
      const n = Number(stdout.trim());
      resolve(error === null && Number.isInteger(n) && n > 0 ? n : 100);
    });
  });
