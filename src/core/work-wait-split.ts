import type { Sample } from './sample.js';
import { buildWaitForGraph, type WaitForGraph } from './wait-for-graph.js';

/**
 * Is the database busy because of work, or because it is waiting? Of the active client backends
 * of one sample: those waiting on a heavyweight lock (and behind which root blocker), those
 * working (on CPU: no wait event; or reading: an `IO` wait), and those waiting on something else
 * (LWLock, IPC, Client, BufferPin…). The seed's engineer chased "slow queries" that were victims
 * of one blocker; this is the measure that would have said so.
 */
export interface WorkWaitSplit {
  /** Active client backends (`state = 'active'`, `backend_type = 'client backend'`). */
  readonly active: number;
  /** Waiting on a heavyweight lock (`wait_event_type = 'Lock'`). */
  readonly lockWaiting: number;
  /** On CPU: active with no wait event. */
  readonly onCpu: number;
  /** Reading or writing (`wait_event_type = 'IO'`). */
  readonly io: number;
  /** Any other wait: LWLock, BufferPin, IPC, Client, Timeout, Extension, Activity. */
  readonly otherWait: number;
  /** Root blockers by how many of the lock-waiting active backends wait behind them, most first. */
  readonly behind: readonly RootShare[];
}

export interface RootShare {
  readonly pid: number;
  /** Active lock-waiting backends that reach this root, directly or through other waiters. */
  readonly waiters: number;
}

/** `graph`: the sample's wait-for graph when the caller has built it already. */
export const splitWorkAndWaits = (sample: Sample, graph?: WaitForGraph): WorkWaitSplit => {
  let active = 0;
  let lockWaiting = 0;
  let onCpu = 0;
  let io = 0;
  let otherWait = 0;
  const lockWaiters: number[] = [];
  for (const s of sample.sessions) {
    if (s.state !== 'active' || s.backendType !== 'client backend') continue;
    active += 1;
    if (s.waitEventType === null) onCpu += 1;
    else if (s.waitEventType === 'Lock') {
      lockWaiting += 1;
      lockWaiters.push(s.pid);
    } else if (s.waitEventType === 'IO') io += 1;
    else otherWait += 1;
  }
  const behind = new Map<number, number>();
  if (lockWaiters.length > 0) {
    const rootsOf = (graph ?? buildWaitForGraph(sample.lockWaits)).rootsOf;
    for (const pid of lockWaiters)
      for (const root of rootsOf.get(pid) ?? []) behind.set(root, (behind.get(root) ?? 0) + 1);
  }
  return {
    active,
    lockWaiting,
    onCpu,
    io,
    otherWait,
    behind: [...behind]
      .map(([pid, waiters]) => ({ pid, waiters }))
      .sort((a, b) => b.waiters - a.waiters || a.pid - b.pid),
  };
};

/** Share (0…1) of active backends waiting on locks; 0 when none is active. */
export const lockWaitShare = (split: WorkWaitSplit): number =>
  split.active === 0 ? 0 : split.lockWaiting / split.active;

/** Share (0…1) of active backends working: on CPU or in IO. */
export const workingShare = (split: WorkWaitSplit): number =>
  split.active === 0 ? 0 : (split.onCpu + split.io) / split.active;

const percent = (share: number): string => `${Math.round(share * 100)}%`;

/**
 * One clause for an incident summary: "CPU 91%; 64% of active backends waited on locks behind pid
 * 4242; the slow queries are victims" (the CPU part when the host was read), or "12 active backends working (9 on CPU, 3 in IO); 0 waited on
 * locks". The verdict "victims" is said only when most active backends wait on locks.
 */
export const describeWorkWaitSplit = (split: WorkWaitSplit, host?: { readonly cpuBusy: number }): string => {
  const cpu = host === undefined ? '' : `CPU ${percent(host.cpuBusy)}; `;
  return cpu + describeBackends(split);
};

const describeBackends = (split: WorkWaitSplit): string => {
  if (split.active === 0) return 'no active backends';
  if (split.lockWaiting === 0)
    return `${split.active} active backend${split.active === 1 ? '' : 's'} working (${split.onCpu} on CPU, ${split.io} in IO); none waited on locks`;
  const top = split.behind[0];
  const roots =
    top === undefined
      ? ''
      : split.behind.length === 1
        ? ` behind pid ${top.pid}`
        : ` behind pid ${top.pid} (${top.waiters}) and ${split.behind.length - 1} other root${split.behind.length === 2 ? '' : 's'}`;
  const share = lockWaitShare(split);
  const verdict =
    share > 0.5 ? '; the slow queries are victims' : `; ${percent(workingShare(split))} were working`;
  return `${percent(share)} of active backends waited on locks${roots}${verdict}`;
};
