import { describe, expect, it } from 'vitest';
import { deadlock, storm } from '../support/finding-builder.js';
import { IncidentWorld } from './incident-world.js';

describe('scenario: a burst of deadlocks', () => {
  it('200 deadlocks over 20 s make one alert and one incident whose summary names both statements', async () => {
    const world = new IncidentWorld();
    await world.service('shop');
    await world.target('shop-db', 'shop');
    let n = 0;
    for (let second = 0; second < 20; second += 1) {
      const at = world.clock.now() + 1_000;
      const burst = Array.from({ length: 10 }, () => deadlock(`dl-${(n += 1)}`, at - 500));
      await world.tick(1_000, burst);
    }

    const incidents = await world.incidents.list({ state: 'all' });
    expect(incidents).toHaveLength(1);
    const detail = await world.incidents.detail(incidents[0]!.id);
    expect(detail.alerts).toHaveLength(1);
    expect(detail.alerts[0]).toMatchObject({
      rule: 'deadlocks',
      status: 'firing',
      summary: '200 deadlocks in 5 min on shop-db',
    });
    expect(detail.alerts[0]!.evidence).toHaveLength(200);
    expect(detail.evidence).toHaveLength(200);
    expect(detail.incident).toMatchObject({
      title: 'Deadlocks on shop-db',
      severity: 'critical',
      state: 'triggered',
    });
    expect(detail.incident.summary).toBe(
      '200 deadlocks between `UPDATE inventory …` and `UPDATE products …` on shop-db',
    );
    const kinds = detail.timeline.map((e) => e.kind);
    expect(kinds[0]).toBe('opened');
    expect(kinds.filter((k) => k === 'opened' || k === 'alert_added')).toEqual(['opened']);
    // The summary grew with every cycle of the burst; the timeline is not flooded with each new count.
    expect(detail.incident.version).toBeGreaterThan(10);
    expect(kinds.filter((k) => k === 'summary_updated')).toEqual([]);

    // New kind of evidence (a lock-wait storm on the same database): the summary says so, and so does the timeline.
    await world.tick(1_000, [storm('s1', world.clock.now() + 1_000)]);
    const grown = await world.incidents.detail(incidents[0]!.id);
    expect(grown.incident.summary).toBe(
      '200 deadlocks between `UPDATE inventory …` and `UPDATE products …` on shop-db; lock-wait storm on public.orders (12 waiters)',
    );
    expect(grown.timeline.filter((e) => e.kind === 'summary_updated').map((e) => [e.actor, e.text])).toEqual([
      ['rule:lock_wait_storm', grown.incident.summary],
    ]);
  });

  it('a deadlock is an incident after the cycle that follows its finding, not later', async () => {
    const world = new IncidentWorld();
    await world.service('shop');
    await world.target('shop-db', 'shop');
    const report = await world.tick(1, [deadlock('dl-1', world.clock.now())]);
    expect(report).toMatchObject({ fired: 1, incidentsOpened: 1 });
    const [incident] = await world.incidents.list();
    expect(incident?.summary).toBe(
      '1 deadlock between `UPDATE inventory …` and `UPDATE products …` on shop-db',
    );
  });
});
