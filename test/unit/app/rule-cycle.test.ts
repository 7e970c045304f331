import { describe, expect, it } from 'vitest';
import { deadlock, episode, root, storm } from '../../support/finding-builder.js';
import { IncidentWorld } from '../../scenarios/incident-world.js';

const value = async (world: IncidentWorld, key: string): Promise<number | undefined> =>
  (await world.store.ruleStates.get(key))?.value;

describe('RuleCycle', () => {
  it("reads findings past the store's page size: 2,500 deadlocks count 2,500", async () => {
    const world = new IncidentWorld();
    await world.service('shop');
    await world.target('shop-db', 'shop');
    const start = world.clock.now();
    await world.tick(
      60_000,
      Array.from({ length: 2_500 }, (_, i) => deadlock(`d${i}`, start + i * 10)),
    );
    expect(await value(world, 'deadlocks:shop-db')).toBe(2_500);
  });

  it('reads target by target when over a page of findings share one millisecond', async () => {
    const world = new IncidentWorld();
    await world.service('shop');
    await world.target('a-db', 'shop');
    await world.target('b-db', 'shop');
    const at = world.clock.now() + 1_000;
    const findings = Array.from({ length: 1_100 }, (_, i) =>
      deadlock(`d${String(i).padStart(4, '0')}`, at, { target: i % 2 === 0 ? 'a-db' : 'b-db' }),
    );
    await world.tick(1_000, findings);
    expect(await value(world, 'deadlocks:a-db')).toBe(550);
    expect(await value(world, 'deadlocks:b-db')).toBe(550);
  });

  it('applies overrides: global ← service ← target; a disabled rule does not fire', async () => {
    const world = new IncidentWorld();
    await world.service('shop', { rules: { deadlocks: { threshold: 3 } } });
    await world.target('a-db', 'shop');
    await world.target('b-db', 'shop', { deadlocks: { threshold: 1 } });
    await world.target('c-db', 'shop', { deadlocks: { enabled: false } });
    const at = world.clock.now() + 1_000;
    const report = await world.tick(
      1_000,
      ['a-db', 'b-db', 'c-db'].map((target) => deadlock(`d-${target}`, at, { target })),
    );
    expect(report.fired).toBe(1);
    expect((await world.store.alerts.list({})).map((a) => a.target)).toEqual(['b-db']);
  });

  it('resolves the alerts of a target that was removed', async () => {
    const world = new IncidentWorld();
    await world.service('shop');
    await world.target('shop-db', 'shop');
    await world.tick(1_000, [deadlock('d1', world.clock.now() + 1_000)]);
    await world.store.targets.delete('shop-db');
    const report = await world.tick(1_000);
    expect(report).toMatchObject({ resolved: 1, incidentsResolved: 1 });
    expect((await world.store.ruleStates.get('deadlocks:shop-db'))?.phase).toBe('ok');
  });

  it('refreshes a firing alert with new evidence, and a user resolving meanwhile does not lose the update', async () => {
    const world = new IncidentWorld();
    await world.service('shop');
    await world.target('shop-db', 'shop');
    await world.tick(1_000, [deadlock('d1', world.clock.now() + 1_000)]);
    const [incident] = await world.incidents.list();
    await world.incidents.resolve(incident!.id, 'alice');
    // The deadlocks go on: the alert takes the new evidence and re-opens the incident.
    const report = await world.tick(1_000, [deadlock('d2', world.clock.now() + 1_000)]);
    expect(report.refreshed).toBe(1);
    const detail = await world.incidents.detail(incident!.id);
    expect(detail.incident.state).toBe('triggered');
    expect(detail.alerts[0]?.evidence).toEqual(['d1', 'd2']);
    expect(detail.evidence.map((f) => f.id)).toEqual(['d1', 'd2']);
    expect(detail.timeline.map((e) => [e.kind, e.actor])).toEqual([
      ['opened', 'rule:deadlocks'],
      ['state_changed', 'alice'],
      ['state_changed', 'rule:deadlocks'],
      ['summary_updated', 'rule:deadlocks'],
    ]);
  });

  it('an idle-in-transaction root blocker fires its rule and names the blocker in the summary', async () => {
    const world = new IncidentWorld();
    await world.service('shop');
    await world.target('shop-db', 'shop');
    const report = await world.tick(1_000, [
      episode('e1', world.clock.now() - 5_000, { roots: [root(4242, { stateAgeMs: 94_000 })] }),
    ]);
    // Blocking for 6 s is under its 30 s threshold; the root idle in transaction for 94 s is not.
    expect(report.fired).toBe(1);
    const [alert] = await world.store.alerts.list({});
    expect(alert).toMatchObject({
      rule: 'idle_in_transaction_blocker',
      summary: 'root blocker pid 4242 idle in transaction for 94 s on shop-db, 3 waiting',
    });
    const [incident] = await world.incidents.list();
    expect(incident).toMatchObject({
      title: 'Idle-in-transaction blocker on shop-db',
      summary:
        'blocking root pid 4242 idle in transaction for 94 s on shop-db; victims, not causes: `SELECT … FROM orders …` (waited 12 s)',
    });
  });

  it('alerts of one group fired and resolved in the same cycle stay in one incident', async () => {
    const world = new IncidentWorld();
    await world.service('shop');
    for (const t of ['a-db', 'b-db', 'c-db']) await world.target(t, 'shop');
    await world.tick(1_000, [deadlock('d-b', world.clock.now() + 1_000, { target: 'b-db' })]);
    const [incident] = await world.incidents.list();
    // Five minutes on: b-db's deadlock leaves the window as storms start on a-db and c-db.
    world.clock.advance(5 * 60_000);
    const at = world.clock.now() + 1_000;
    const report = await world.tick(1_000, [
      storm('s-a', at, { target: 'a-db' }),
      storm('s-c', at, { target: 'c-db' }),
    ]);
    expect(report).toMatchObject({
      fired: 2,
      resolved: 1,
      incidentsJoined: 2,
      incidentsOpened: 0,
      incidentsResolved: 0,
    });
    const detail = await world.incidents.detail(incident!.id);
    expect(detail.incident.state).toBe('triggered');
    expect(detail.alerts.map((a) => [a.target, a.status]).sort()).toEqual([
      ['a-db', 'firing'],
      ['b-db', 'resolved'],
      ['c-db', 'firing'],
    ]);
    expect(detail.incident.summary).toBe(
      'lock-wait storm on public.orders (12 waiters) on a-db; 1 deadlock between `UPDATE inventory …` and `UPDATE products …` on b-db; ' +
        'lock-wait storm on public.orders (12 waiters) on c-db',
    );
  });
});
