import { describe, expect, it } from 'vitest';
import type { SeriesPoint, SeriesValues, StatementPoint } from '../../src/core/metrics-series.js';
import { STATEMENTS_RESOLUTION_MS } from '../../src/app/metric-rule-cycle.js';
import { RuleCycle } from '../../src/app/rule-cycle.js';
import { HOST_CPU_METRIC } from '../../src/core/metric-rules.js';
import { episode, root, victim } from '../support/finding-builder.js';
import { deploy } from '../support/rollup-builder.js';
import { IncidentWorld } from './incident-world.js';

const SEC = 1_000;
const MIN = 60 * SEC;
const RES = 10 * SEC;

/**
 * The metric rules through the real rule cycle on the memory store with a fake clock: the series
 * points and statements an agent would have kept are saved, time moves on, cycles run as serve's do.
 */
class MetricsWorld extends IncidentWorld {
  async setUp(rules: Record<string, { threshold?: number; forMs?: number; windowMs?: number }> = {}) {
    await this.service('shop');
    await this.target('shop-db', 'shop', rules);
  }

  /** Points of shop-db for the intervals that closed in [from, until). */
  async points(from: number, until: number, values: (at: number) => SeriesValues): Promise<void> {
    const points: SeriesPoint[] = [];
    for (let at = Math.ceil(from / RES) * RES; at + RES <= until; at += RES)
      points.push({ target: 'shop-db', at, resolutionMs: RES, samples: 10, values: values(at) });
    await this.store.metrics.savePoints(points);
  }

  async statements(from: number, until: number, meanMs: (at: number) => number): Promise<void> {
    const res = STATEMENTS_RESOLUTION_MS;
    const rows: StatementPoint[] = [];
    for (let at = Math.ceil(from / res) * res; at + res <= until; at += res)
      rows.push({
        target: 'shop-db',
        at,
        resolutionMs: res,
        queryId: '7001',
        query: 'SELECT * FROM orders WHERE customer_id = $1',
        calls: 30 * (res / RES),
        totalExecMs: 30 * (res / RES) * meanMs(at),
        rows: 30,
      });
    await this.store.metrics.saveStatements(rows);
  }
}

describe('database metric rules in the rule cycle (memory store, fake clock)', () => {
  it('active sessions over their baseline join the lock storm’s incident, whose summary separates waiting from working', async () => {
    const w = new MetricsWorld();
    await w.setUp();
    const t0 = w.clock.now();
    // 30 min of 4 active sessions, all working; then 20 active, 16 of them waiting on locks.
    const storm = (at: number) => at >= t0 + 2 * MIN;
    await w.points(t0 - 30 * MIN, t0 + 10 * MIN, (at) =>
      storm(at)
        ? { sessions_active: 20, active_cpu: 4, active_lock: 16 }
        : { sessions_active: 4, active_cpu: 3, active_io: 1 },
    );
    for (let i = 0; i < 12; i += 1) await w.tick(10 * SEC);
    expect(await w.store.incidents.list({ limit: 10 })).toEqual([]);

    // The storm: its blocking episode (root pid 4242, 16 blocked) and the active sessions' rise.
    const blocking = episode('ep-1', t0 + 2 * MIN, {
      roots: [
        root(4242, { state: 'active', blockedCount: 16, query: 'UPDATE inventory SET stock = stock - 1' }),
      ],
      victims: [victim(5001, { query: 'SELECT * FROM orders', waitedMs: 40_000 })],
      longestWaitMs: 40_000,
    });
    let fired = 0;
    for (let i = 0; i < 24; i += 1) fired += (await w.tick(10 * SEC, i === 0 ? [blocking] : [])).fired;
    expect(fired).toBe(2); // blocking, then active_sessions once it held for 1 min

    const incidents = await w.store.incidents.list({ limit: 10 });
    expect(incidents).toHaveLength(1);
    const alerts = await w.store.alerts.list({ limit: 10 });
    expect(alerts.map((a) => a.rule).sort()).toEqual(['active_sessions', 'blocking']);
    expect(new Set(alerts.map((a) => a.incidentId))).toEqual(new Set([incidents[0]?.id]));
    const summary = incidents[0]?.summary ?? '';
    expect(summary).toContain(
      '80% of active backends waited on locks behind pid 4242; the slow queries are victims',
    );
    expect(summary).toContain('20 active sessions on shop-db in 1 min, 5× the baseline 4');

    const detail = await w.incidents.detail(incidents[0]?.id ?? '');
    expect(detail.load).toMatchObject({
      target: 'shop-db',
      active: 20,
      lockWaiting: 16,
      onCpu: 4,
      behind: [{ pid: 4242, waiters: 16 }],
    });
  });

  it('a statement slower after a deploy fires, names the deploy, and resolves once it is fast again', async () => {
    const w = new MetricsWorld();
    await w.setUp();
    const t0 = w.clock.now();
    const slowFrom = t0 + 5 * MIN;
    const slowUntil = t0 + 12 * MIN;
    await w.statements(t0 - 30 * MIN, t0 + 30 * MIN, (at) => (at >= slowFrom && at < slowUntil ? 45 : 6));
    await w.store.deploys.insert(deploy('v2', slowFrom - 20 * SEC));
    const events: { at: number; fired: number; resolved: number }[] = [];
    for (let i = 0; i < 20 * 6; i += 1) {
      const r = await w.tick(10 * SEC);
      if (r.fired + r.resolved > 0)
        events.push({ at: w.clock.now() - t0, fired: r.fired, resolved: r.resolved });
    }
    // Fires as the first slow interval closes; resolves when the window holds only fast ones again.
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ fired: 1 });
    expect(events[0]?.at).toBeGreaterThanOrEqual(slowFrom - t0 + STATEMENTS_RESOLUTION_MS);
    expect(events[0]?.at).toBeLessThanOrEqual(slowFrom - t0 + STATEMENTS_RESOLUTION_MS + MIN);
    expect(events[1]).toMatchObject({ resolved: 1 });
    expect(events[1]?.at).toBeGreaterThan(slowUntil - t0);

    const [alert] = await w.store.alerts.list({ limit: 10 });
    expect(alert).toMatchObject({
      rule: 'statement_latency',
      fingerprint: 'rule:statement_latency:shop-db:7001',
      labels: { queryid: '7001' },
      status: 'resolved',
    });
    expect(alert?.summary).toMatch(
      /^`SELECT … FROM orders …` on shop-db: mean 45 ms over 1 min, 7.5× its baseline 6 ms \(\d+ calls\), after deploy v2 \(1\.3 min before\)$/,
    );
    const [incident] = await w.store.incidents.list({ state: undefined, limit: 10 } as never);
    expect(incident?.summary).toContain('after deploy v2');
    expect(incident?.state).toBe('resolved');
  });

  it('connections near max_connections need the share held for `for`; a target override lowers the threshold', async () => {
    const w = new MetricsWorld();
    await w.setUp({ connections_near_max: { threshold: 0.75 } });
    const t0 = w.clock.now();
    await w.points(t0 - MIN, t0 + 10 * MIN, (at) => ({
      connections: at >= t0 + MIN && at < t0 + 5 * MIN ? 80 : 40,
      max_connections: 100,
    }));
    const seen: string[] = [];
    for (let i = 0; i < 8 * 6; i += 1) {
      const r = await w.tick(10 * SEC);
      if (r.fired > 0) seen.push(`fired@${String((w.clock.now() - t0) / SEC)}`);
      if (r.resolved > 0) seen.push(`resolved@${String((w.clock.now() - t0) / SEC)}`);
    }
    // The 30 s window's mean is over 75% from 1:30 on (pending), fired 1 min later; back to 67% at
    // 5:10, as the first interval at 40 closes.
    expect(seen).toEqual(['fired@150', 'resolved@310']);
    const [alert] = await w.store.alerts.list({ limit: 10 });
    expect(alert?.summary).toBe('80% of max_connections in use on shop-db (80 of 100, 30 s)');
  });

  it('host CPU held high fires, naming the statements taking the time and the backends burning it', async () => {
    const w = new MetricsWorld();
    await w.setUp();
    const t0 = w.clock.now();
    await w.points(t0 - 5 * MIN, t0 + 5 * MIN, (at) => ({
      [HOST_CPU_METRIC]: at >= t0 ? 0.96 : 0.2,
      sessions_active: 3,
    }));
    await w.statements(t0 - 5 * MIN, t0 + 5 * MIN, () => 40);
    const cycle = new RuleCycle({
      store: w.store,
      clock: w.clock,
      ids: w.ids,
      hostBackends: (target) =>
        target === 'shop-db' ? [{ pid: 4242, cores: 0.98, query: 'SELECT sum(total) FROM orders' }] : [],
    });
    let fired = 0;
    for (let i = 0; i < 18; i += 1) {
      w.clock.advance(10 * SEC);
      fired += (await cycle.run(w.clock.now())).fired;
    }
    expect(fired).toBe(1);
    const [alert] = await w.store.alerts.list({ limit: 10 });
    expect(alert?.rule).toBe('host_cpu');
    expect(alert?.summary).toBe(
      'host CPU 96% on shop-db over 1 min; top statements: `SELECT … FROM orders …` (100% of time); busiest backends: pid 4242 (0.98 cores, `SELECT … FROM orders`)',
    );
  });

  it('a rollback spike under the volume minimum does not page; the same spike with volume does', async () => {
    for (const [perPoint, expected] of [
      [10, 0],
      [50, 1],
    ] as const) {
      const w = new MetricsWorld();
      await w.setUp();
      const t0 = w.clock.now();
      await w.points(t0 - 30 * MIN, t0 + 3 * MIN, (at) => {
        const r = at >= t0 ? 0.5 : 0.01;
        return { commits: perPoint * (1 - r), rollbacks: perPoint * r };
      });
      let fired = 0;
      for (let i = 0; i < 12; i += 1) fired += (await w.tick(10 * SEC)).fired;
      expect(fired).toBe(expected);
    }
  });
});
