import { execFile, spawnSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { startMetricsListener } from '../../../src/api/metrics-listener.js';
import { createServerMetrics } from '../../../src/api/server-metrics.js';
import { registerTargetMetrics } from '../../../src/api/target-exporter.js';
import type { WatchState } from '../../../src/app/watch-cycle.js';
import type { DeadlockFinding } from '../../../src/core/finding.js';
import type { HostReader, HostReading } from '../../../src/core/host-figures.js';
import type { Sample } from '../../../src/core/sample.js';
import { TargetMetricsBoard } from '../../../src/engine/target-metrics-board.js';
import { T0, counters, sample, session, wait } from '../../support/sample-builder.js';

const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

/** promtool reads the exposition as Prometheus would and lints it (names, types, HELP). */
const promtool = (text: string): Promise<{ code: number; output: string }> =>
  new Promise((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], (error, stdout, stderr) => {
      resolve({
        code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
        output: `${stdout}${stderr}`,
      });
    });
    child.stdin?.end(text);
  });

const state = (s: Sample | null, reachable = true): WatchState => ({
  target: s?.target ?? 'primary',
  reachable,
  problem: reachable ? null : 'connection refused',
  lastSample: s,
  samplesTaken: 1,
  recentFindings: [],
});

const storm = (at: number): Sample => ({
  ...sample(at, {
    sessions: [
      session(4242, { state: 'idle in transaction', xactStart: at - 60_000 }),
      session(11, { waitEventType: 'Lock', xactStart: at - 9_000 }),
      session(12, { waitEventType: 'Lock' }),
      session(13),
    ],
    lockWaits: [
      wait(11, [4242], { waitStart: at - 8_000 }),
      wait(12, [11], { waitStart: at - 2_000, mode: 'ExclusiveLock' }),
    ],
    counters: [
      { ...counters(3), commits: 120, rollbacks: 4, tempBytes: 8192, blocksHit: 990, blocksRead: 10 },
    ],
  }),
  serverNow: at,
  maxConnections: 100,
});

const deadlock = (id: string, source: DeadlockFinding['source'] = 'live'): DeadlockFinding => ({
  kind: 'deadlock',
  id,
  target: 'primary',
  at: T0,
  source,
  victimPid: null,
  processes: [],
  count: 1,
  database: 'shop',
});

/** Two readings of a host, one second apart: backend 13 burns 0.9 of a core. */
const fakeHost = (): HostReader => {
  let n = 0;
  return {
    read: (pids) => {
      n += 1;
      const reading: HostReading = {
        at: T0 + n * 1000,
        cpuTicks: { total: n * 200, idle: n * 20 },
        cpus: 2,
        load: [3.5, 2, 1],
        memory: { totalBytes: 8e9, availableBytes: 2e9 },
        disk: { path: '/var/lib/postgresql', totalBytes: 1e11, freeBytes: 4e10 },
        processTicks: new Map(pids.map((pid) => [pid, pid === 13 ? n * 90 : 5])),
        ticksPerSecond: 100,
      };
      return Promise.resolve(reading);
    },
  };
};

const boardWithStorm = async (): Promise<TargetMetricsBoard> => {
  const board = new TargetMetricsBoard({ hostReader: () => fakeHost(), logger: { warn: () => undefined } });
  board.sampled('primary', state(storm(T0)));
  await new Promise((r) => setTimeout(r, 10));
  board.sampled('primary', state(storm(T0 + 1000)));
  await new Promise((r) => setTimeout(r, 10));
  const sink = board.tee({ publish: () => undefined });
  sink.publish(deadlock('d1'));
  sink.publish(deadlock('d1', 'log')); // the same deadlock, from the server log
  sink.publish({ ...deadlock('d2', 'counter'), count: 2 });
  board.sampled('replica', state(null, false));
  return board;
};

describe('the target exporter', () => {
  it('serves the lock-aware metrics beside postgres_exporter’s, read at scrape time', async () => {
    const registry = new Registry();
    registerTargetMetrics(registry, await boardWithStorm());
    const text = await registry.metrics();
    const lines = text.split('\n');
    for (const line of [
      'pg_up{target="primary"} 1',
      'pg_up{target="replica"} 0',
      'pg_stat_database_xact_commit{target="primary",datname="shop"} 120',
      'pg_stat_database_xact_rollback{target="primary",datname="shop"} 4',
      'pg_stat_database_temp_bytes{target="primary",datname="shop"} 8192',
      'pg_stat_database_blks_hit{target="primary",datname="shop"} 990',
      'pg_stat_database_blks_read{target="primary",datname="shop"} 10',
      'pg_stat_database_numbackends{target="primary",datname="shop"} 4',
      'hindsight_pg_sessions{target="primary",datname="shop",state="active"} 3',
      'hindsight_pg_sessions{target="primary",datname="shop",state="idle"} 0',
      'pg_stat_activity_max_tx_duration{target="primary",datname="shop",state="idle in transaction"} 60',
      'pg_settings_max_connections{target="primary"} 100',
      'hindsight_pg_client_backends{target="primary"} 4',
      'hindsight_pg_blocked_sessions{target="primary"} 2',
      'hindsight_pg_longest_block_seconds{target="primary"} 8',
      'hindsight_pg_root_blockers{target="primary",state="idle in transaction"} 1',
      'hindsight_pg_lock_waits{target="primary",mode="ShareLock"} 1',
      'hindsight_pg_lock_waits{target="primary",mode="ExclusiveLock"} 1',
      'hindsight_pg_active_backends{target="primary",wait_event_type="Lock"} 2',
      'hindsight_pg_active_backends{target="primary",wait_event_type="CPU"} 1',
      'hindsight_pg_lock_waiters_behind_root{target="primary",pid="4242"} 2',
      'hindsight_pg_deadlocks_total{target="primary"} 3',
      'hindsight_host_cpu_busy_ratio{target="primary"} 0.9',
      'hindsight_host_load{target="primary",period="1m"} 3.5',
      'hindsight_host_memory_available_bytes{target="primary"} 2000000000',
      'hindsight_host_filesystem_avail_bytes{target="primary",path="/var/lib/postgresql"} 40000000000',
      'hindsight_pg_backend_cpu_cores{target="primary",pid="13",state="active"} 0.9',
    ])
      expect(lines).toContain(line);
    expect(text).toMatch(/^hindsight_pg_active_lock_wait_ratio\{target="primary"\} 0\.666/m);
    expect(text).toContain('# TYPE hindsight_pg_deadlocks_total counter');
    // An unreachable target before its first sample has pg_up only.
    expect(text).not.toContain('hindsight_pg_blocked_sessions{target="replica"}');
  });

  it.skipIf(!hasPromtool)(
    'passes promtool check metrics (the serve and --metrics-port expositions)',
    async () => {
      const listener = await startMetricsListener({
        host: '127.0.0.1',
        port: 0,
        source: await boardWithStorm(),
      });
      try {
        const response = await fetch(listener.url);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toContain('text/plain');
        const text = await response.text();
        expect(text).toContain('process_cpu_user_seconds_total');
        const checked = await promtool(text);
        expect(checked.output).toBe('');
        expect(checked.code).toBe(0);
        expect((await fetch(listener.url.replace('/metrics', '/'))).status).toBe(404);
      } finally {
        await listener.close();
      }
    },
  );

  it.skipIf(!hasPromtool)(
    'passes promtool check metrics on serve’s /metrics, beside the server’s own',
    async () => {
      const metrics = createServerMetrics({ processMetrics: true, targets: await boardWithStorm() });
      metrics.observeSampleLatency('primary', 0.004);
      const text = await metrics.render({
        alerts: { firing: 1, resolved: 0 },
        incidents: { triggered: 1, acknowledged: 0, mitigated: 0, resolved: 0, closed: 0, cancelled: 0 },
      });
      expect(text).toContain('hindsight_alerts_firing 1');
      expect(text).toContain('hindsight_pg_blocked_sessions{target="primary"} 2');
      const checked = await promtool(text);
      expect(checked.output).toBe('');
      expect(checked.code).toBe(0);
    },
  );

  it.runIf(!hasPromtool)(
    'needs promtool (Debian package prometheus; CI installs it) to check the exposition',
    () => {
      console.warn('promtool is not installed here: `promtool check metrics` on the exporter was skipped');
    },
  );

  it('says which port is taken', async () => {
    const first = await startMetricsListener({ host: '127.0.0.1', port: 0, source: { views: () => [] } });
    try {
      const port = Number(new URL(first.url).port);
      await expect(
        startMetricsListener({ host: '127.0.0.1', port, source: { views: () => [] } }),
      ).rejects.toThrow(`--metrics-port ${port} on 127.0.0.1 is already in use`);
    } finally {
      await first.close();
    }
  });
});
