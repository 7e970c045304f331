import type { Sample, SessionSnapshot } from './sample.js';

/**
 * The host a target runs on, when the agent runs there too: CPU, load, memory, disk, and the CPU
 * each backend burns — so "high CPU" names the statements burning it (as pg_activity does).
 */

/** Raw counters read at one instant; figures come from two readings (`hostFigures`). */
export interface HostReading {
  /** Epoch ms, from the agent's clock. */
  readonly at: number;
  /** Aggregate CPU time from `/proc/stat`'s `cpu` line, in clock ticks: all of it, and idle + iowait. */
  readonly cpuTicks: { readonly total: number; readonly idle: number };
  readonly cpus: number;
  /** 1, 5 and 15-minute load averages. */
  readonly load: readonly [number, number, number];
  readonly memory: { readonly totalBytes: number; readonly availableBytes: number };
  /** The file system of the data directory (or `/` when it cannot be seen). */
  readonly disk: { readonly path: string; readonly totalBytes: number; readonly freeBytes: number } | null;
  /** utime + stime of each backend pid that could be read, in clock ticks. */
  readonly processTicks: ReadonlyMap<number, number>;
  /** Clock ticks per second (`getconf CLK_TCK`, usually 100). */
  readonly ticksPerSecond: number;
}

/**
 * Reads the host of one target. `read` resolves null when the target is not on this host (its
 * backends cannot be seen in `/proc`, or host reading was turned off) — asked again later, it
 * may become readable (a server restarted on this host).
 */
export interface HostReader {
  read(pids: readonly number[], signal: AbortSignal): Promise<HostReading | null>;
}

export interface BackendCpu {
  readonly pid: number;
  /** CPU seconds per second over the interval: 1 = one core busy. */
  readonly cores: number;
  readonly state: SessionSnapshot['state'];
  readonly query: string | null;
  readonly application: string | null;
  readonly user: string | null;
  readonly database: string | null;
}

export interface HostFigures {
  readonly at: number;
  /** Share (0…1) of all CPUs busy over the interval. */
  readonly cpuBusy: number;
  readonly cpus: number;
  readonly load: readonly [number, number, number];
  readonly memory: HostReading['memory'];
  readonly disk: HostReading['disk'];
  /** Backends by CPU over the interval, busiest first (those that used none left out). */
  readonly backends: readonly BackendCpu[];
  /** Cores used by every backend read, together. */
  readonly backendCores: number;
}

/**
 * Figures over the interval between two readings of the same host, the backends named from the
 * sample taken with the later one. A pid in only one reading (born or gone between them), or
 * whose ticks went down (a new process under a reused pid), has no figure.
 */
export const hostFigures = (previous: HostReading, current: HostReading, sample: Sample): HostFigures => {
  const seconds = (current.at - previous.at) / 1000;
  const dTotal = current.cpuTicks.total - previous.cpuTicks.total;
  const dIdle = current.cpuTicks.idle - previous.cpuTicks.idle;
  const cpuBusy = dTotal > 0 ? Math.min(1, Math.max(0, 1 - dIdle / dTotal)) : 0;
  const sessions = new Map(sample.sessions.map((s) => [s.pid, s]));
  const backends: BackendCpu[] = [];
  let backendCores = 0;
  if (seconds > 0) {
    for (const [pid, ticks] of current.processTicks) {
      const before = previous.processTicks.get(pid);
      if (before === undefined || ticks < before) continue;
      const cores = (ticks - before) / current.ticksPerSecond / seconds;
      backendCores += cores;
      if (cores <= 0) continue;
      const s = sessions.get(pid);
      backends.push({
        pid,
        cores,
        state: s?.state ?? null,
        query: s?.query ?? null,
        application: s?.application ?? null,
        user: s?.user ?? null,
        database: s?.database ?? null,
      });
    }
  }
  backends.sort((a, b) => b.cores - a.cores || a.pid - b.pid);
  return {
    at: current.at,
    cpuBusy,
    cpus: current.cpus,
    load: current.load,
    memory: current.memory,
    disk: current.disk,
    backends,
    backendCores,
  };
};
