import { describe, expect, it } from 'vitest';
import { RuleCycle } from '../../../src/app/rule-cycle.js';
import type { IncidentStore } from '../../../src/core/incident-store.js';
import { deadlock } from '../../support/finding-builder.js';
import { IncidentWorld } from '../../scenarios/incident-world.js';

/** A world with `n` targets of one service, each with a deadlock in the next second. */
const burst = async (
  n: number,
): Promise<{ world: IncidentWorld; findings: ReturnType<typeof deadlock>[] }> => {
  const world = new IncidentWorld();
  await world.service('shop');
  const at = world.clock.now() + 1_000;
  const findings = [];
  for (let i = 0; i < n; i++) {
    const target = `db-${String(i).padStart(2, '0')}`;
    await world.target(target, 'shop');
    findings.push(deadlock(`d-${target}`, at, { target }));
  }
  return { world, findings };
};

describe('RuleCycle writes in batches', () => {
  it('a burst of alerts joining one incident: each alert, timeline entry, evidence link and version step is kept, in order', async () => {
    const { world, findings } = await burst(30);
    const report = await world.tick(1_000, findings);
    expect(report).toMatchObject({ fired: 30, incidentsOpened: 1, incidentsJoined: 29 });
    const [incident] = await world.incidents.list();
    const alerts = await world.store.alerts.list({ incidentId: incident!.id });
    expect(alerts).toHaveLength(30);
    const timeline = await world.store.timeline.list(incident!.id);
    // The summary rebuilt once at the end of the cycle comes after every alert's entry.
    expect(timeline.map((e) => e.kind)).toEqual([
      'opened',
      ...Array<string>(29).fill('alert_added'),
      'summary_updated',
    ]);
    expect(timeline.slice(0, 30).map((e) => alerts.find((a) => a.id === e.alertId)?.target)).toEqual(
      findings.map((f) => f.target),
    );
    expect((await world.store.evidence.findings(incident!.id)).map((f) => f.id).sort()).toEqual(
      findings.map((f) => f.id).sort(),
    );
    // Opened at version 1, one step per alert that joined, one for the summary: as if written one by one.
    expect((await world.store.incidents.get(incident!.id))?.version).toBe(1 + 29 + 1);
    // A second cycle at the same time writes nothing.
    const before = await world.snapshot();
    await world.cycle.run(world.clock.now());
    expect(await world.snapshot()).toEqual(before);
  });

  it('an incident changed by someone else while the cycle held its update: the cycle rolls back, and the next one places every alert', async () => {
    const { world, findings } = await burst(5);
    world.clock.advance(1_000);
    await world.intake.ingestFindings(findings, world.clock.now());
    // A store whose transactions let a user bump the incident right after the cycle opened it (the
    // memory store has no row locks to keep them out).
    let interfered = false;
    const store: IncidentStore = Object.create(world.store) as IncidentStore;
    store.transact = (lock, work) =>
      world.store.transact(lock, (tx) =>
        work({
          ...tx,
          incidents: {
            ...tx.incidents,
            insert: async (incident) => {
              await tx.incidents.insert(incident);
              if (interfered) return;
              interfered = true;
              await tx.incidents.update({
                ...incident,
                title: 'renamed by a user',
                version: incident.version + 1,
              });
            },
          },
        }),
      );
    const cycle = new RuleCycle({ store, clock: world.clock, ids: world.ids });
    await expect(cycle.run()).rejects.toMatchObject({ code: 'INCIDENT_CONFLICT' });
    expect(await world.store.alerts.list({})).toEqual([]);
    expect(await world.incidents.list()).toEqual([]);
    const report = await cycle.run();
    expect(report).toMatchObject({ fired: 5, incidentsOpened: 1, incidentsJoined: 4 });
    expect(await world.store.alerts.list({})).toHaveLength(5);
  });
});
