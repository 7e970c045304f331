import type { MonitoredTarget } from '../core/catalog.js';
import type { Finding } from '../core/finding.js';
import type { StoreRepositories } from '../core/incident-store.js';
import type { Incident } from '../core/incident.js';
import { appSideSpan } from '../core/incident-app-side.js';
import type { IncidentLoad } from '../core/incident-load.js';
import { incidentLoadOf } from '../core/incident-load.js';
import { HOST_CPU_METRIC } from '../core/metric-rules.js';
import type { SeriesPoint, StoredMetric } from '../core/metrics-series.js';
import { ACTIVE_METRICS, DEFAULT_SERIES_RESOLUTION_MS } from '../core/metrics-series.js';

const LOAD_METRICS: readonly StoredMetric[] = [
  ...ACTIVE_METRICS,
  // Kept when the agent runs on the database's host.
  HOST_CPU_METRIC,
];

/**
 * Working or waiting (core/incident-load.ts): the 10 s points of the incident's service's targets
 * over its span (from a minute before it opened to its end, at most 24 h: as the app's side reads
 * rollups), with the root blockers of `findings` (its evidence). Read when asked — the API, the
 * summary — so a resolved incident shows the same figures while its 10 s points are kept (a day);
 * the summary sentence keeps them after that. `known`: the targets, when the caller has read them.
 */
export const readIncidentLoad = async (
  tx: Pick<StoreRepositories, 'targets' | 'metrics'>,
  incident: Incident,
  findings: readonly Finding[],
  now: number,
  known?: readonly MonitoredTarget[],
  resolutionMs: number = DEFAULT_SERIES_RESOLUTION_MS,
): Promise<IncidentLoad | null> => {
  const targets = (known ?? (await tx.targets.list())).filter((t) => t.service === incident.service);
  if (targets.length === 0) return null;
  const span = appSideSpan(incident, now);
  const points: SeriesPoint[] = (
    await Promise.all(
      targets.map((t) =>
        tx.metrics.points({
          resolutionMs,
          // A point is of the interval it starts: the one under way at the span's start counts.
          from: span.from - resolutionMs,
          until: span.until + 1,
          target: t.name,
          metrics: LOAD_METRICS,
        }),
      ),
    )
  ).flat();
  return incidentLoadOf(points, findings);
};
