import { Counter, Gauge, type Registry } from 'prom-client';
import type { HostFigures } from '../core/host-figures.js';
import type { TargetMetricValues } from '../core/target-metric-values.js';
import { lockWaitShare, workingShare } from '../core/work-wait-split.js';

/** One target as the exporter reads it at scrape time (engine/target-metrics-board.ts keeps them). */
export interface TargetMetricsSnapshot {
  readonly target: string;
  readonly reachable: boolean;
  readonly values: TargetMetricValues | null;
  readonly deadlocks: number;
  readonly host: HostFigures | null;
}

export interface TargetMetricsSource {
  views(): readonly TargetMetricsSnapshot[];
}

/** Backends and roots named by pid in a metric: a few, so pid labels cannot pile up series. */
const TOP_BACKENDS = 5;
const TOP_ROOTS = 3;

type Labels = Record<string, string | number>;
type Setter = (labels: Labels, value: number) => void;

/**
 * Registers the monitored targets' metrics in `registry`, read from `source` at each scrape
 * (prom-client `collect`): nothing is allocated between scrapes. Names follow postgres_exporter
 * where it has the same measure (`pg_stat_database_*`,
 * `pg_stat_activity_max_tx_duration`, `pg_settings_max_connections`, `pg_up`), so its dashboards
 * keep working, each with a `target` label; what no exporter has is `hindsight_pg_*`.
 *
 * `pg_stat_database_*` are cumulative like postgres_exporter's, but typed gauge: promtool refuses a
 * counter whose name lacks `_total`, and renaming them would break those dashboards; `rate()`
 * works on them all the same. postgres_exporter's `pg_stat_activity_count` is refused by promtool
 * whatever its type (a `_count` suffix belongs to histograms): it is `hindsight_pg_sessions` here,
 * and a recording rule `pg_stat_activity_count` = `hindsight_pg_sessions` keeps an old dashboard.
 */
export function registerTargetMetrics(registry: Registry, source: TargetMetricsSource): void {
  /** A gauge filled at scrape time from the views (cheap: the board computes values once per sample). */
  const gauge = (
    name: string,
    help: string,
    labelNames: readonly string[],
    fill: (set: Setter, view: TargetMetricsSnapshot) => void,
  ): void => {
    const g: Gauge = new Gauge({
      name,
      help,
      labelNames: ['target', ...labelNames],
      registers: [registry],
      collect() {
        g.reset();
        for (const view of source.views())
          fill((labels, value) => {
            g.set({ target: view.target, ...labels }, value);
          }, view);
      },
    });
  };
  const values = (
    name: string,
    help: string,
    labelNames: readonly string[],
    fill: (set: Setter, v: TargetMetricValues) => void,
  ): void => {
    gauge(name, help, labelNames, (set, view) => {
      if (view.values !== null) fill(set, view.values);
    });
  };
  const host = (
    name: string,
    help: string,
    labelNames: readonly string[],
    fill: (set: Setter, h: HostFigures) => void,
  ): void => {
    gauge(name, help, labelNames, (set, view) => {
      if (view.host !== null) fill(set, view.host);
    });
  };

  gauge('pg_up', 'Whether the last sample of the target reached it (1) or not (0).', [], (set, view) => {
    set({}, view.reachable ? 1 : 0);
  });

  const database = (
    column: string,
    help: string,
    read: (c: TargetMetricValues['databases'][number]) => number | undefined,
  ): void => {
    values(
      `pg_stat_database_${column}`,
      `${help} (pg_stat_database.${column}, cumulative: use rate()).`,
      ['datname'],
      (set, v) => {
        for (const c of v.databases) {
          const n = read(c);
          if (n !== undefined) set({ datname: c.database }, n);
        }
      },
    );
  };
  database('xact_commit', 'Transactions committed in this database', (c) => c.commits);
  database('xact_rollback', 'Transactions rolled back in this database', (c) => c.rollbacks);
  database('deadlocks', 'Deadlocks detected in this database', (c) => c.deadlocks);
  database('conflicts', 'Queries canceled by recovery conflicts in this database', (c) => c.conflicts);
  database('temp_bytes', 'Bytes written to temporary files by queries in this database', (c) => c.tempBytes);
  database('blks_hit', 'Buffer reads found in shared buffers', (c) => c.blocksHit);
  database('blks_read', 'Blocks read from the operating system (not in shared buffers)', (c) => c.blocksRead);

  values(
    'pg_stat_database_numbackends',
    'Client backends connected to this database.',
    ['datname'],
    (set, v) => {
      for (const b of v.backends) set({ datname: b.database }, b.count);
    },
  );
  values(
    'hindsight_pg_sessions',
    "Client backends by database and state (postgres_exporter's pg_stat_activity_count, a name promtool refuses).",
    ['datname', 'state'],
    (set, v) => {
      for (const s of v.sessions) set({ datname: s.database, state: s.state }, s.count);
    },
  );
  values(
    'pg_stat_activity_max_tx_duration',
    'Age in seconds of the oldest transaction, by database and state (idle in transaction: the oldest one left open).',
    ['datname', 'state'],
    (set, v) => {
      for (const s of v.sessions) set({ datname: s.database, state: s.state }, s.maxTxSeconds);
    },
  );
  values('pg_settings_max_connections', 'The server setting max_connections.', [], (set, v) => {
    if (v.maxConnections !== null) set({}, v.maxConnections);
  });
  values(
    'hindsight_pg_client_backends',
    'Client backends of every database: what max_connections limits.',
    [],
    (set, v) => {
      set({}, v.connections);
    },
  );

  values(
    'hindsight_pg_blocked_sessions',
    'Sessions waiting on a lock another session holds (or is queued ahead for).',
    [],
    (set, v) => {
      set({}, v.blockedSessions);
    },
  );
  values(
    'hindsight_pg_longest_block_seconds',
    'The longest current lock wait, in seconds (0 when none waits).',
    [],
    (set, v) => {
      set({}, v.longestBlockSeconds);
    },
  );
  values(
    'hindsight_pg_root_blockers',
    'Sessions at the head of a blocking chain (they block others and wait on nobody), by their state.',
    ['state'],
    (set, v) => {
      for (const r of v.rootBlockers) set({ state: r.state }, r.count);
    },
  );
  values('hindsight_pg_lock_waits', 'Lock waits by the mode waited for.', ['mode'], (set, v) => {
    for (const w of v.lockWaits) set({ mode: w.mode }, w.count);
  });
  values(
    'hindsight_pg_active_backends',
    'Active client backends by wait-event type (CPU: not waiting, i.e. working).',
    ['wait_event_type'],
    (set, v) => {
      for (const a of v.activeByWait) set({ wait_event_type: a.waitEventType }, a.count);
    },
  );
  values(
    'hindsight_pg_active_lock_wait_ratio',
    'Share (0-1) of active client backends waiting on a heavyweight lock.',
    [],
    (set, v) => {
      set({}, lockWaitShare(v.split));
    },
  );
  values(
    'hindsight_pg_active_working_ratio',
    'Share (0-1) of active client backends working: on CPU or in IO.',
    [],
    (set, v) => {
      set({}, workingShare(v.split));
    },
  );
  values(
    'hindsight_pg_lock_waiters_behind_root',
    `Active backends waiting on locks behind a root blocker, for the ${TOP_ROOTS} roots with most.`,
    ['pid'],
    (set, v) => {
      for (const r of v.split.behind.slice(0, TOP_ROOTS)) set({ pid: r.pid }, r.waiters);
    },
  );

  host(
    'hindsight_host_cpu_busy_ratio',
    "Share (0-1) of the database host's CPUs busy between the last two samples.",
    [],
    (set, h) => {
      set({}, h.cpuBusy);
    },
  );
  host('hindsight_host_cpus', 'CPUs of the database host.', [], (set, h) => {
    set({}, h.cpus);
  });
  host(
    'hindsight_host_load',
    'Load average of the database host, over 1, 5 and 15 minutes.',
    ['period'],
    (set, h) => {
      set({ period: '1m' }, h.load[0]);
      set({ period: '5m' }, h.load[1]);
      set({ period: '15m' }, h.load[2]);
    },
  );
  host('hindsight_host_memory_total_bytes', 'Memory of the database host.', [], (set, h) => {
    set({}, h.memory.totalBytes);
  });
  host(
    'hindsight_host_memory_available_bytes',
    'Memory available for new work on the database host (MemAvailable).',
    [],
    (set, h) => {
      set({}, h.memory.availableBytes);
    },
  );
  host(
    'hindsight_host_filesystem_size_bytes',
    'Size of the file system holding the data directory (or /).',
    ['path'],
    (set, h) => {
      if (h.disk !== null) set({ path: h.disk.path }, h.disk.totalBytes);
    },
  );
  host(
    'hindsight_host_filesystem_avail_bytes',
    'Space available to PostgreSQL on that file system.',
    ['path'],
    (set, h) => {
      if (h.disk !== null) set({ path: h.disk.path }, h.disk.freeBytes);
    },
  );
  host(
    'hindsight_pg_backends_cpu_cores',
    'CPU used by all backends of the target between the last two samples, in cores.',
    [],
    (set, h) => {
      set({}, h.backendCores);
    },
  );
  host(
    'hindsight_pg_backend_cpu_cores',
    `CPU used by each of the ${TOP_BACKENDS} busiest backends between the last two samples, in cores (1 = one core).`,
    ['pid', 'state'],
    (set, h) => {
      for (const b of h.backends.slice(0, TOP_BACKENDS))
        set({ pid: b.pid, state: b.state ?? 'background' }, b.cores);
    },
  );

  const deadlocks: Counter = new Counter({
    name: 'hindsight_pg_deadlocks_total',
    help: 'Deadlocks found on the target since the watch started (server log, live cycles, pg_stat_database counter), each once.',
    labelNames: ['target'],
    registers: [registry],
    collect() {
      deadlocks.reset();
      for (const view of source.views()) deadlocks.inc({ target: view.target }, view.deadlocks);
    },
  });
}
