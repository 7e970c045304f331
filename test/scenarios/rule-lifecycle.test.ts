import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/core/finding.js';
import { createFindingDetector } from '../../src/core/finding-detector.js';
import { FakeClock } from '../support/fake-clock.js';
import { deadlock, storm } from '../support/finding-builder.js';
import { CountingIds, counters, sample } from '../support/sample-builder.js';
import { IncidentWorld } from './incident-world.js';

const MIN = 60_000;

describe('scenario: a rule around its threshold', () => {
  it('a value hovering between the resolve threshold and the threshold fires once and stays firing', async () => {
    const world = new IncidentWorld();
    await world.service('shop', {
      rules: { lock_wait_storm: { windowMs: 500, threshold: 10, resolveThreshold: 5 } },
    });
    await world.target('shop-db', 'shop');
    let fired = 0;
    let resolved = 0;
    const values: number[] = [];
    for (let i = 0; i < 30; i += 1) {
      const r = await world.tick(1_000, [
        storm(`s${i}`, world.clock.now() + 1_000, { waiters: i % 2 === 0 ? 12 : 7 }),
      ]);
      fired += r.fired;
      resolved += r.resolved;
      values.push((await world.store.ruleStates.get('lock_wait_storm:shop-db'))!.value);
    }
    expect(values.slice(0, 4)).toEqual([12, 7, 12, 7]);
    expect({ fired, resolved }).toEqual({ fired: 1, resolved: 0 });
    expect(await world.incidents.list({ state: 'all' })).toHaveLength(1);
  });

  it('a rule that flaps across both thresholds opens one incident, re-opened each time, not many', async () => {
    const world = new IncidentWorld();
    await world.service('shop', {
      rules: { lock_wait_storm: { windowMs: 500, threshold: 10, resolveThreshold: 5 } },
    });
    await world.target('shop-db', 'shop');
    for (let i = 0; i < 20; i += 1) {
      await world.tick(1_000, [storm(`s${i}`, world.clock.now() + 1_000, { waiters: i % 2 === 0 ? 12 : 2 })]);
    }
    const incidents = await world.incidents.list({ state: 'all' });
    expect(incidents).toHaveLength(1);
    const alerts = await world.store.alerts.list({ limit: 100 });
    expect(alerts).toHaveLength(10);
    expect(new Set(alerts.map((a) => a.incidentId))).toEqual(new Set([incidents[0]!.id]));
  });
});

describe('scenario: a deadlock counter reset', () => {
  it('a drop of pg_stat_database.deadlocks (stats reset) raises no finding and no alert', async () => {
    const world = new IncidentWorld();
    await world.service('shop');
    await world.target('shop-db', 'shop');
    const detectorClock = new FakeClock(world.clock.now());
    const detector = createFindingDetector({
      target: 'shop-db',
      clock: detectorClock,
      ids: new CountingIds(),
    });
    const seen: Finding[] = [];
    for (const total of [40, 40, 0, 0, 0]) {
      detectorClock.set(world.clock.now() + 1_000);
      const findings = detector.onSample(sample(detectorClock.now(), { counters: [counters(total)] }));
      seen.push(...findings);
      const report = await world.tick(1_000, findings);
      expect(report.fired).toBe(0);
    }
    // Let the detector's counter grace pass: still nothing.
    detectorClock.advance(20_000);
    const later = detector.onSample(sample(detectorClock.now(), { counters: [counters(0)] }));
    seen.push(...later);
    expect((await world.tick(20_000, later)).fired).toBe(0);
    expect(seen.filter((f) => f.kind === 'deadlock')).toEqual([]);
    expect(await world.incidents.list({ state: 'all' })).toEqual([]);
  });

  it('a counter finding that would count below zero adds nothing', async () => {
    const world = new IncidentWorld();
    await world.service('shop');
    await world.target('shop-db', 'shop');
    const report = await world.tick(1_000, [
      deadlock('c1', world.clock.now(), { source: 'counter', processes: [], count: -40 }),
    ]);
    expect(report.fired).toBe(0);
  });
});

describe('scenario: resolve and re-open', () => {
  it('resolves the incident when its alert resolves, re-opens it when deadlocks return within the window, and opens a new one after', async () => {
    const world = new IncidentWorld();
    await world.service('shop');
    await world.target('shop-db', 'shop');
    await world.tick(1_000, [deadlock('d1', world.clock.now() + 1_000)]);
    const [first] = await world.incidents.list();
    expect(first?.state).toBe('triggered');

    // Five quiet minutes: the deadlock leaves the rule's window; the alert and the incident resolve.
    const quiet = await world.tick(5 * MIN + 1_000);
    expect(quiet).toMatchObject({ resolved: 1, incidentsResolved: 1 });
    const resolved = await world.incidents.detail(first!.id);
    expect(resolved.incident.state).toBe('resolved');
    expect(resolved.alerts[0]?.status).toBe('resolved');
    expect(resolved.timeline.at(-1)).toMatchObject({
      kind: 'state_changed',
      actor: 'system',
      data: { from: 'triggered', to: 'resolved' },
    });

    // Back within 10 min of the resolution: the same incident re-opens.
    const back = await world.tick(3 * MIN, [deadlock('d2', world.clock.now() + 3 * MIN)]);
    expect(back).toMatchObject({ fired: 1, incidentsReopened: 1, incidentsOpened: 0 });
    const reopened = await world.incidents.detail(first!.id);
    expect(reopened.incident).toMatchObject({ state: 'triggered', resolvedAt: null });
    expect(reopened.alerts).toHaveLength(2);
    expect(reopened.timeline.map((e) => e.kind)).toContain('alert_added');
    expect(reopened.incident.summary).toBe(
      '2 deadlocks between `UPDATE inventory …` and `UPDATE products …` on shop-db',
    );

    // Resolved again, then quiet past the grouping window: a new deadlock is a new incident.
    await world.tick(5 * MIN + 1_000);
    const again = await world.tick(11 * MIN, [deadlock('d3', world.clock.now() + 11 * MIN)]);
    expect(again).toMatchObject({ fired: 1, incidentsOpened: 1 });
    expect(await world.incidents.list({ state: 'all' })).toHaveLength(2);
  });

  it('never re-opens a closed incident', async () => {
    const world = new IncidentWorld();
    await world.service('shop');
    await world.target('shop-db', 'shop');
    await world.tick(1_000, [deadlock('d1', world.clock.now() + 1_000)]);
    const [first] = await world.incidents.list();
    await world.incidents.resolve(first!.id, 'alice');
    await world.incidents.close(first!.id, 'alice');
    await world.tick(5 * MIN + 1_000);
    await world.tick(1_000, [deadlock('d2', world.clock.now() + 1_000)]);
    const all = await world.incidents.list({ state: 'all' });
    expect(all.map((i) => i.state).sort()).toEqual(['closed', 'triggered']);
  });
});

describe('scenario: grouping', () => {
  const twoTargets = async (world: IncidentWorld): Promise<void> => {
    await world.target('shop-db', 'shop');
    await world.target('shop-replica', 'shop');
    await world.tick(1_000, [
      deadlock('d1', world.clock.now() + 1_000),
      deadlock('d2', world.clock.now() + 1_000, { target: 'shop-replica' }),
    ]);
    await world.tick(1_000, [storm('s1', world.clock.now() + 1_000)]);
  };

  it('by default alerts of one service within the window join one incident', async () => {
    const world = new IncidentWorld();
    await world.service('shop');
    await twoTargets(world);
    const incidents = await world.incidents.list();
    expect(incidents).toHaveLength(1);
    const detail = await world.incidents.detail(incidents[0]!.id);
    expect(detail.alerts).toHaveLength(3);
    expect(detail.incident.summary).toBe(
      '1 deadlock between `UPDATE inventory …` and `UPDATE products …` on shop-db; lock-wait storm on public.orders (12 waiters); ' +
        '1 deadlock between `UPDATE inventory …` and `UPDATE products …` on shop-replica',
    );
  });

  it('with grouping off every alert is its own incident', async () => {
    const world = new IncidentWorld();
    await world.service('shop', { grouping: { kind: 'off' } });
    await twoTargets(world);
    expect(await world.incidents.list()).toHaveLength(3);
  });

  it('grouped by target, each target has its incident', async () => {
    const world = new IncidentWorld();
    await world.service('shop', { grouping: { kind: 'window', windowMs: 10 * MIN, by: ['target'] } });
    await twoTargets(world);
    const incidents = await world.incidents.list();
    expect(incidents.map((i) => i.groupKey).sort()).toEqual(['target=shop-db', 'target=shop-replica']);
  });
});

describe('scenario: the cycle is idempotent', () => {
  it('running it twice at the same instant changes nothing', async () => {
    const world = new IncidentWorld();
    await world.service('shop');
    await world.target('shop-db', 'shop');
    await world.target('other-db', 'shop');
    await world.tick(1_000, [
      deadlock('d1', world.clock.now() + 1_000),
      storm('s1', world.clock.now() + 1_000, { target: 'other-db' }),
    ]);
    await world.tick(2_000, [deadlock('d2', world.clock.now() + 2_000)]);
    const before = await world.snapshot();
    const report = await world.cycle.run(world.clock.now());
    expect(await world.snapshot()).toEqual(before);
    expect(report).toMatchObject({ fired: 0, refreshed: 0, resolved: 0, firing: 2 });
    // And after the window, resolving once, a second run still changes nothing.
    world.clock.advance(6 * MIN);
    await world.cycle.run(world.clock.now());
    const resolvedOnce = await world.snapshot();
    await world.cycle.run(world.clock.now());
    expect(await world.snapshot()).toEqual(resolvedOnce);
  });

  it('two cycles started together (two replicas) raise one alert', async () => {
    const world = new IncidentWorld();
    await world.service('shop');
    await world.target('shop-db', 'shop');
    await world.intake.ingestFindings([deadlock('d1', world.clock.now())], world.clock.now());
    const [a, b] = await Promise.all([
      world.cycle.run(world.clock.now()),
      world.cycle.run(world.clock.now()),
    ]);
    expect(a.fired + b.fired).toBe(1);
    expect(await world.store.alerts.list({})).toHaveLength(1);
  });
});
