import { describe, expect, it } from 'vitest';
import type { InboundAlert } from '../../src/core/alert.js';
import { isHindsightError } from '../../src/core/errors.js';
import { deadlock } from '../support/finding-builder.js';
import { IncidentWorld } from './incident-world.js';

const am = (action: InboundAlert['action'], over: Partial<InboundAlert> = {}): InboundAlert => ({
  source: 'alertmanager',
  service: 'shop',
  fingerprint: 'c0ffee12',
  action,
  severity: 'error',
  summary: 'HighErrorRate: POST /checkout failing for 31% of users',
  labels: { alertname: 'HighErrorRate', route: '/checkout' },
  at: Date.UTC(2026, 2, 1, 19, 58),
  ...over,
});

const codeOf = async (work: Promise<unknown>): Promise<string> => {
  try {
    await work;
  } catch (error) {
    if (isHindsightError(error)) return error.code;
    throw error;
  }
  throw new Error('expected a HindsightError');
};

describe('scenario: an Alertmanager-style inbound alert', () => {
  it('a firing alert opens an incident, a repeat is deduplicated, its resolution resolves the incident', async () => {
    const world = new IncidentWorld();
    await world.service('shop');
    const [fired] = await world.inbound.receive([am('trigger')], 'integration:alertmanager');
    expect(fired).toMatchObject({ dedupKey: 'c0ffee12', action: 'trigger' });
    expect(fired!.incidentId).not.toBeNull();

    world.clock.advance(60_000);
    const [repeat] = await world.inbound.receive(
      [am('trigger', { summary: 'HighErrorRate: POST /checkout failing for 35% of users' })],
      'integration:alertmanager',
    );
    expect(repeat).toMatchObject({ alertId: fired!.alertId, incidentId: fired!.incidentId });
    expect(await world.store.alerts.list({})).toHaveLength(1);

    world.clock.advance(60_000);
    const [resolved] = await world.inbound.receive([am('resolve')], 'integration:alertmanager');
    expect(resolved).toMatchObject({ alertId: fired!.alertId, incidentId: fired!.incidentId });
    const detail = await world.incidents.detail(fired!.incidentId!);
    expect(detail.incident).toMatchObject({ state: 'resolved', title: 'HighErrorRate' });
    expect(detail.incident.summary).toBe('HighErrorRate: POST /checkout failing for 35% of users');
    expect(detail.alerts[0]).toMatchObject({ status: 'resolved', startedAt: am('trigger').at });
    expect(detail.timeline.map((e) => [e.kind, e.actor])).toEqual([
      ['opened', 'integration:alertmanager'],
      ['alert_resolved', 'integration:alertmanager'],
      ['state_changed', 'system'],
    ]);

    // A resolve for an alert that is not firing is answered, and changes nothing.
    const [late] = await world.inbound.receive([am('resolve')], 'integration:alertmanager');
    expect(late).toEqual({ alertId: null, incidentId: null, dedupKey: 'c0ffee12', action: 'resolve' });
  });

  it('joins the incident a rule opened for the same service, and acknowledges it (PagerDuty acknowledge)', async () => {
    const world = new IncidentWorld();
    await world.service('shop');
    await world.target('shop-db', 'shop');
    await world.tick(1_000, [deadlock('d1', world.clock.now() + 1_000)]);
    const [outcome] = await world.inbound.receive(
      [am('trigger', { source: 'pagerduty', fingerprint: 'dk-1' })],
      'integration:pagerduty',
    );
    const [incident] = await world.incidents.list();
    expect(outcome?.incidentId).toBe(incident!.id);
    await world.inbound.receive(
      [am('acknowledge', { source: 'pagerduty', fingerprint: 'dk-1' })],
      'integration:pagerduty',
    );
    const detail = await world.incidents.detail(incident!.id);
    expect(detail.incident.state).toBe('acknowledged');
    expect(detail.incident.summary).toBe(
      '1 deadlock between `UPDATE inventory …` and `UPDATE products …` on shop-db; HighErrorRate: POST /checkout failing for 31% of users',
    );
    expect(detail.timeline.at(-1)).toMatchObject({
      kind: 'state_changed',
      actor: 'integration:pagerduty',
      data: { from: 'triggered', to: 'acknowledged' },
    });
  });
});

describe('scenario: people respond', () => {
  it('an acknowledgement is recorded on the timeline with actor and time; a second one is a conflict', async () => {
    const world = new IncidentWorld();
    await world.service('shop');
    await world.target('shop-db', 'shop');
    await world.tick(1_000, [deadlock('d1', world.clock.now() + 1_000)]);
    const [incident] = await world.incidents.list();
    world.clock.advance(30_000);
    const acked = await world.incidents.acknowledge(incident!.id, 'alice');
    expect(acked).toMatchObject({
      state: 'acknowledged',
      acknowledgedAt: world.clock.now(),
      version: incident!.version + 1,
    });
    const { timeline } = await world.incidents.detail(incident!.id);
    expect(timeline.at(-1)).toMatchObject({
      kind: 'state_changed',
      actor: 'alice',
      at: world.clock.now(),
      text: 'acknowledged',
      data: { from: 'triggered', to: 'acknowledged' },
    });
    expect(await codeOf(world.incidents.acknowledge(incident!.id, 'bob'))).toBe('INCIDENT_CONFLICT');
    expect(
      await codeOf(world.incidents.mitigate(incident!.id, 'bob', { expectedVersion: incident!.version })),
    ).toBe('INCIDENT_CONFLICT');
    expect(await codeOf(world.incidents.acknowledge('nope', 'bob'))).toBe('INCIDENT_NOT_FOUND');
  });

  it('notes (dead ends marked) go on the timeline; empty ones are refused', async () => {
    const world = new IncidentWorld();
    await world.service('shop');
    await world.target('shop-db', 'shop');
    await world.tick(1_000, [deadlock('d1', world.clock.now() + 1_000)]);
    const [incident] = await world.incidents.list();
    const note = await world.incidents.addNote(incident!.id, 'alice', {
      text: '  optimized the slow SELECT on orders: no change ',
      deadEnd: true,
    });
    expect(note).toMatchObject({
      kind: 'note',
      actor: 'alice',
      deadEnd: true,
      text: 'optimized the slow SELECT on orders: no change',
    });
    expect((await world.incidents.detail(incident!.id)).timeline.at(-1)).toEqual(note);
    expect(await codeOf(world.incidents.addNote(incident!.id, 'alice', { text: '  ' }))).toBe(
      'INVALID_INPUT',
    );
    expect(await codeOf(world.incidents.addNote('nope', 'alice', { text: 'x' }))).toBe('INCIDENT_NOT_FOUND');
  });

  it('lists open and resolved incidents apart', async () => {
    const world = new IncidentWorld();
    await world.service('shop', { grouping: { kind: 'off' } });
    await world.target('a-db', 'shop');
    await world.target('b-db', 'shop');
    await world.tick(1_000, [
      deadlock('d1', world.clock.now() + 1_000, { target: 'a-db' }),
      deadlock('d2', world.clock.now() + 1_000, { target: 'b-db' }),
    ]);
    const [first] = await world.incidents.list();
    await world.incidents.resolve(first!.id, 'alice');
    expect((await world.incidents.list({ state: 'open' })).map((i) => i.id)).not.toContain(first!.id);
    expect((await world.incidents.list({ state: 'resolved' })).map((i) => i.id)).toEqual([first!.id]);
    expect(await world.incidents.list({ state: 'all', service: 'other' })).toEqual([]);
  });
});
