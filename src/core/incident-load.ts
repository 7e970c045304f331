import type { Finding } from './finding.js';
import { HOST_CPU_METRIC } from './metric-rules.js';
import type { SeriesPoint } from './metrics-series.js';
import type { WorkWaitSplit } from './work-wait-split.js';
import { describeWorkWaitSplit } from './work-wait-split.js';

/**
 * Was the database busy working or waiting while the incident was open? From its service's series
 * points over the incident's span (as incident-app-side.ts reads rollups), the busiest interval of
 * the busiest target: its active backends split into waiting on locks, on CPU, in IO and other
 * waits (work-wait-split.ts), the root blockers the incident's blocking episodes name, and the
 * host's CPU when the agent read it. So the summary says "CPU 91%; 64% of active backends waited
 * on locks behind pid 4242; the slow queries are victims" rather than leaving "the database was
 * slow" to be read as "the queries need optimizing".
 */
export interface IncidentLoad {
  readonly target: string;
  /** Start of the interval shown (epoch ms) and its length. */
  readonly at: number;
  readonly resolutionMs: number;
  /** Mean active backends in that interval, by what they did (not rounded). */
  readonly active: number;
  readonly lockWaiting: number;
  readonly onCpu: number;
  readonly io: number;
  readonly otherWait: number;
  /** Root blockers of the incident's blocking episodes on that target, by sessions blocked, most first. */
  readonly behind: readonly { readonly pid: number; readonly waiters: number }[];
  /** The host's busy CPU share in that interval; null when the host was not read. */
  readonly cpuBusy: number | null;
}

const activeOf = (p: SeriesPoint): number => {
  const v = p.values;
  return (
    (v.active_cpu ?? 0) +
    (v.active_lock ?? 0) +
    (v.active_lwlock ?? 0) +
    (v.active_io ?? 0) +
    (v.active_ipc ?? 0) +
    (v.active_client ?? 0) +
    (v.active_other ?? 0)
  );
};

/**
 * The load of the busiest interval (most active backends; then most waiting on locks; then the
 * latest) among `points` (the incident's span, its service's targets), with the roots of the
 * blocking episodes among `findings`. Null when no backend was active in the span.
 */
export const incidentLoadOf = (
  points: readonly SeriesPoint[],
  findings: readonly Finding[],
): IncidentLoad | null => {
  let best: SeriesPoint | null = null;
  for (const p of points) {
    if (activeOf(p) <= 0) continue;
    if (
      best === null ||
      activeOf(p) > activeOf(best) ||
      (activeOf(p) === activeOf(best) &&
        ((p.values.active_lock ?? 0) > (best.values.active_lock ?? 0) ||
          ((p.values.active_lock ?? 0) === (best.values.active_lock ?? 0) && p.at > best.at)))
    )
      best = p;
  }
  if (best === null) return null;
  const v = best.values;
  const target = best.target;
  const roots = new Map<number, number>();
  for (const f of findings) {
    if (f.kind !== 'blocking_episode' || f.target !== target) continue;
    for (const r of f.roots) roots.set(r.pid, Math.max(roots.get(r.pid) ?? 0, r.blockedCount));
  }
  const cpu = v[HOST_CPU_METRIC];
  return {
    target,
    at: best.at,
    resolutionMs: best.resolutionMs,
    active: activeOf(best),
    lockWaiting: v.active_lock ?? 0,
    onCpu: v.active_cpu ?? 0,
    io: v.active_io ?? 0,
    otherWait: (v.active_lwlock ?? 0) + (v.active_ipc ?? 0) + (v.active_client ?? 0) + (v.active_other ?? 0),
    behind: [...roots]
      .map(([pid, waiters]) => ({ pid, waiters }))
      .sort((a, b) => b.waiters - a.waiters || a.pid - b.pid),
    cpuBusy: cpu ?? null,
  };
};

/** The load as a split of whole backends (means rounded), for the sentence. */
export const loadSplit = (load: IncidentLoad): WorkWaitSplit => {
  const lockWaiting = Math.round(load.lockWaiting);
  const onCpu = Math.round(load.onCpu);
  const io = Math.round(load.io);
  const otherWait = Math.round(load.otherWait);
  return {
    active: Math.max(lockWaiting + onCpu + io + otherWait, Math.round(load.active)),
    lockWaiting,
    onCpu,
    io,
    otherWait,
    behind: load.behind,
  };
};

/** "CPU 91%; 64% of active backends waited on locks behind pid 4242; the slow queries are victims". */
export const describeIncidentLoad = (load: IncidentLoad): string =>
  describeWorkWaitSplit(loadSplit(load), load.cpuBusy === null ? undefined : { cpuBusy: load.cpuBusy });
