import { describe, expect, it } from 'vitest';
import { deliveryFailed } from '../../src/core/notification.js';
import { deadlock } from '../support/finding-builder.js';
import { PagingWorld } from './paging-world.js';

const MIN = 60_000;

describe("scenario: the seed's story, paged", () => {
  it('pages the on-call engineer of primary, then the database team after 5 min; an acknowledgement stops it, expires and re-triggers; resolving stops everything', async () => {
    const world = new PagingWorld();
    await world.configure();
    await world.target('shop-db', 'shop');

    // A deadlock opens an incident; the first cycles page alice (on call for primary) and the ops hook.
    await world.tick(1_000, [deadlock('dl-1', world.clock.now() + 500)]);
    const [incident] = await world.incidents.list();
    if (incident === undefined) throw new Error('no incident');
    expect(await world.page()).toEqual(['triggered → alice@mail', 'triggered → #ops-hook']);
    const first = world.outcomes.find((o) => o.kind === 'triggered');
    expect(first !== undefined && first.at - incident.createdAt).toBe(0);

    // Nobody acknowledges within 5 minutes: the database team is paged, once.
    expect(await world.pass(4 * MIN)).toEqual([]);
    expect(await world.pass(1 * MIN)).toEqual(['escalated → dora@mail', 'escalated → dan@mail']);
    expect(await world.pass(2 * MIN, 10_000)).toEqual([]);

    // alice acknowledges: everyone paged hears it; the repeat due at 10 min does not happen.
    await world.incidents.acknowledge(incident.id, 'alice');
    expect(await world.page()).toEqual([
      'acknowledged → alice@mail',
      'acknowledged → #ops-hook',
      'acknowledged → dora@mail',
      'acknowledged → dan@mail',
    ]);
    expect(await world.pass(29 * MIN)).toEqual([]);

    // The acknowledgement expires after 30 min: back to triggered, and step 1 pages again.
    expect(await world.pass(1 * MIN)).toEqual(['escalated → alice@mail', 'escalated → #ops-hook']);
    expect((await world.incidents.detail(incident.id)).incident.state).toBe('triggered');

    // Resolving stops everything.
    await world.incidents.resolve(incident.id, 'alice');
    expect(await world.page()).toEqual([
      'resolved → alice@mail',
      'resolved → #ops-hook',
      'resolved → dora@mail',
      'resolved → dan@mail',
    ]);
    expect(await world.pass(60 * MIN, 5 * MIN)).toEqual([]);

    const timeline = (await world.incidents.detail(incident.id)).timeline;
    const escalations = timeline.filter((e) => e.kind === 'escalated').map((e) => e.text);
    expect(escalations).toEqual([
      'step 1 of shop-oncall — schedule:primary, channel:ops-hook: paging alice via mail, ops-hook',
      'step 2 of shop-oncall — team:database: paging dora via mail, dan via mail',
      'step 1 of shop-oncall — schedule:primary, channel:ops-hook: paging alice via mail, ops-hook',
    ]);
    expect(timeline.filter((e) => e.kind === 'notification_sent')).toHaveLength(14);
    expect(timeline.filter((e) => e.kind === 'state_changed').map((e) => [e.actor, e.text])).toEqual([
      ['alice', 'acknowledged'],
      ['system', 'triggered'],
      ['alice', 'resolved'],
    ]);
  });

  it('a hand-off at the DST change pages the right person (Europe/Berlin, Sun 09:00 local = 07:00 UTC on 29 March)', async () => {
    const world = new PagingWorld();
    world.clock.set(Date.parse('2026-03-29T06:59:00Z'));
    await world.configure();
    await world.openIncident('weekend', 'before');
    expect(await world.page()).toEqual(['triggered → alice@mail']);
    world.clock.set(Date.parse('2026-03-29T07:00:00Z'));
    await world.openIncident('weekend', 'after');
    expect(await world.page()).toEqual(['triggered → bob@mail']);
  });

  it('"escalate now" takes the next step at once and the later ones keep their delays', async () => {
    const world = new PagingWorld();
    await world.configure();
    await world.openIncident('shop', 'i1');
    expect(await world.page()).toEqual(['triggered → alice@mail', 'triggered → #ops-hook']);
    world.clock.advance(MIN);
    await world.escalation.escalateNow('i1', 'alice', world.clock.now());
    expect(await world.page()).toEqual(['escalated → dora@mail', 'escalated → dan@mail']);
    expect(await world.pass(4 * MIN)).toEqual([]);
    // The repeat round starts one round (10 min) after the shifted start: 5 min after the manual step.
    expect(await world.pass(1 * MIN)).toEqual(['escalated → alice@mail', 'escalated → #ops-hook']);
    await expect(world.escalation.escalateNow('nope', 'alice', world.clock.now())).rejects.toMatchObject({
      code: 'INCIDENT_NOT_FOUND',
    });
  });
});

describe('scenario: delivery that never loses or doubles a page', () => {
  it('retries a retryable failure with backoff and the Retry-After asked for, and records each attempt', async () => {
    const world = new PagingWorld();
    await world.configure();
    await world.openIncident('weekend', 'i1');
    world.notifiers.failNext(
      deliveryFailed('503 from mail.example.com', { retryable: true, retryAfterMs: 20_000 }),
    );
    expect(await world.page()).toEqual([]);
    expect(await world.pass(19_000, 19_000)).toEqual([]);
    expect(await world.pass(1_000, 1_000)).toEqual(['triggered → bob@mail']);
    const texts = (await world.incidents.detail('i1')).timeline
      .filter((e) => e.kind.startsWith('notification'))
      .map((e) => e.text);
    expect(texts).toEqual([
      'attempt 1 of triggered to bob via email mail failed: 503 from mail.example.com; retrying in 20 s',
      'sent triggered to bob via email mail',
    ]);
  });

  it('a channel down for 60 s receives its page once it is back, exactly once', async () => {
    const world = new PagingWorld();
    await world.configure();
    await world.openIncident('weekend', 'i1');
    const down = deliveryFailed('could not reach mail.example.com: connection refused', { retryable: true });
    // Down for the attempts at 0, 1, 3, 7, 15 and 31 s; the one at 63 s finds it back.
    world.notifiers.failNext(down, down, down, down, down, down);
    expect(await world.page()).toEqual([]);
    expect(await world.pass(62_000, 1_000)).toEqual([]);
    expect(await world.pass(1_000, 1_000)).toEqual(['triggered → bob@mail']);
    expect(await world.pass(10 * MIN, MIN)).toEqual([]);
    const outbox = await world.store.outbox.list({});
    expect(outbox.map((m) => [m.state, m.attempts])).toEqual([['sent', 7]]);
  });

  it('gives up on a failure that is not retryable, and marks a send that may have arrived unknown — never resent', async () => {
    const world = new PagingWorld();
    await world.configure();
    await world.openIncident('shop', 'i1');
    world.notifiers.failNext(
      deliveryFailed('535 authentication failed', { retryable: false }),
      deliveryFailed('timed out after the request left', { retryable: true, maybeDelivered: true }),
    );
    expect(await world.page()).toEqual([]);
    expect(await world.pass(4 * MIN)).toEqual([]);
    expect((await world.store.outbox.list({})).map((m) => m.state)).toEqual(['failed', 'unknown']);
    // Escalation moves on regardless.
    expect(await world.pass(1 * MIN)).toEqual(['escalated → dora@mail', 'escalated → dan@mail']);
  });

  it('a message left sending by a crash is marked unknown after the lease, not resent, and escalation moves on', async () => {
    const world = new PagingWorld();
    await world.configure();
    await world.openIncident('shop', 'i1');
    await world.escalation.run(world.clock.now());
    // The process claims the messages, then dies before any outcome is written.
    expect(await world.store.outbox.claim({ now: world.clock.now(), limit: 10 })).toHaveLength(2);
    const restarted = world.newSender({ leaseMs: 30_000 });
    world.sender = restarted;
    expect(await world.pass(1 * MIN)).toEqual([]);
    expect((await world.store.outbox.list({})).map((m) => m.state)).toEqual(['unknown', 'unknown']);
    expect(await world.pass(4 * MIN)).toEqual(['escalated → dora@mail', 'escalated → dan@mail']);
    const unknown = (await world.incidents.detail('i1')).timeline.filter(
      (e) => e.kind === 'notification_unknown',
    );
    expect(unknown).toHaveLength(2);
  });

  it('a pass slowed by a channel timing out puts the rest of its batch back before another replica could call it abandoned', async () => {
    const world = new PagingWorld({ leaseMs: 60_000 });
    await world.configure();
    for (const id of ['i1', 'i2', 'i3']) await world.openIncident('weekend', id);
    await world.escalation.run(world.clock.now());
    world.notifiers.duringSend = () => {
      world.clock.advance(40_000);
    };
    const report = await world.sender.run(world.clock.now(), new AbortController().signal);
    expect([report.sent, report.deferred]).toEqual([1, 2]);
    // Put back unsent, the attempt not counted (the first message of the batch went out).
    expect((await world.store.outbox.list({ states: ['pending'] })).map((m) => m.attempts)).toEqual([0, 0]);
    world.notifiers.duringSend = null;
    expect(await world.page()).toEqual([
      'triggered → bob@mail',
      'triggered → bob@mail',
      'triggered → bob@mail',
    ]);
    expect(await world.store.outbox.countByState()).toMatchObject({ sent: 3, unknown: 0 });
  });

  it('bundles a storm for one person into one digest, and holds back what the channel rate limit does not allow', async () => {
    const world = new PagingWorld({ digestThreshold: 5, ratePerMinute: 2 });
    await world.configure();
    for (let i = 0; i < 12; i += 1) await world.openIncident('weekend', `i${String(i).padStart(2, '0')}`);
    expect(await world.page()).toEqual(['digest → bob@mail']);
    const digest = world.notifiers.received;
    expect(digest).toEqual([]);
    const outbox = await world.store.outbox.list({});
    expect(outbox.map((m) => m.state)).toEqual(Array.from({ length: 12 }, () => 'sent'));
    // Rate limit (2 a minute, one used by the digest): two pages due with one token left go as one digest…
    await world.openIncident('weekend', 'x1');
    await world.openIncident('weekend', 'x2');
    expect(await world.page()).toEqual(['digest → bob@mail']);
    // …and the next one waits for a token, 30 s.
    await world.openIncident('weekend', 'x3');
    expect(await world.page()).toEqual([]);
    expect((await world.store.outbox.list({ states: ['pending'] })).map((m) => m.incidentId)).toEqual(['x3']);
    expect(await world.pass(29_000, 29_000)).toEqual([]);
    expect(await world.pass(1_000, 1_000)).toEqual(['triggered → bob@mail']);
    expect(await world.store.outbox.countByState()).toMatchObject({ pending: 0, sent: 15 });
  });
});
