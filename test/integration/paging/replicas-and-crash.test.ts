import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EscalationCycle } from '../../../src/app/escalation-cycle.js';
import { OutboxSender } from '../../../src/app/outbox-sender.js';
import { parseConfig } from '../../../src/config/config-file.js';
import { openIncident } from '../../../src/core/alert-correlation.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import type { IdSource } from '../../../src/core/ports.js';
import { RecordingNotifiers, SHOP_PAGING } from '../../scenarios/paging-world.js';

/**
 * Paging on the PostgreSQL store as several serve replicas run it: escalation cycles and senders of
 * two "replicas" (two stores, two pools) racing over the same incidents page each step once; a
 * sender that dies between claiming and finishing leaves messages that the next one marks unknown
 * and never resends.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('paging');
});
afterAll(async () => {
  await db.drop();
});

const MIN = 60_000;

/** Ids unique across replicas (each has its own source, as each process does). */
const replicaIds = (replica: string): IdSource => {
  let n = 0;
  return { next: (prefix) => `${prefix}-${replica}-${(n += 1)}` };
};

async function configure(store: PostgresStore, at: number): Promise<void> {
  const parsed = parseConfig(SHOP_PAGING, { env: { HOOK_SECRET: 'x' } });
  if (!parsed.ok) throw new Error('bad config');
  await store.paging.save(parsed.config.paging, at);
  for (const s of parsed.config.services)
    await store.services.save({
      name: s.name,
      grouping: s.grouping,
      integrations: [],
      rules: {},
      escalationPolicy: s.escalationPolicy ?? null,
    });
}

describe('paging on PostgreSQL with two replicas', () => {
  it('two replicas racing through 40 incidents for 10 minutes page every step exactly once', async () => {
    const [a, b] = await Promise.all([
      PostgresStore.open({ url: db.url }),
      PostgresStore.open({ url: db.url }),
    ]);
    try {
      let now = Date.parse('2026-03-01T20:00:00Z');
      await configure(a, now);
      for (let i = 0; i < 40; i += 1) {
        await a.incidents.insert(
          openIncident({
            id: `i${String(i).padStart(2, '0')}`,
            service: 'shop',
            groupKey: `g${i}`,
            title: 't',
            summary: 's',
            severity: 'critical',
            at: now,
          }),
        );
      }
      const notifiers = new RecordingNotifiers();
      const replicas = [a, b].map((store, r) => ({
        escalation: new EscalationCycle({ store, ids: replicaIds(`e${r}`), baseUrl: 'http://h' }),
        sender: new OutboxSender(
          { store, notifiers, ids: replicaIds(`s${r}`) },
          { digestThreshold: 1_000, ratePerMinute: 100_000 },
        ),
      }));
      for (let t = 0; t <= 10; t += 1) {
        await Promise.all(replicas.flatMap((r) => [r.escalation.run(now), r.escalation.run(now)]));
        await Promise.all(replicas.map((r) => r.sender.run(now, new AbortController().signal)));
        now += MIN;
      }
      const keys = notifiers.received.map((r) => r.notification.idempotencyKey);
      expect(new Set(keys).size).toBe(keys.length);
      // Per incident: step 1 (alice + ops-hook), step 2 at 5 min (dora, dan), the repeat at 10 min (alice + ops-hook).
      expect(keys.length).toBe(40 * 6);
      expect(await a.outbox.countByState()).toEqual({
        pending: 0,
        sending: 0,
        sent: 240,
        failed: 0,
        unknown: 0,
      });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a sender that died mid-send leaves messages the next one marks unknown after the lease, never resent; escalation moves on', async () => {
    const own = await createTestDatabase('paging_crash');
    const store = await PostgresStore.open({ url: own.url });
    let now = Date.parse('2026-03-02T20:00:00Z');
    await configure(store, now);
    await store.incidents.insert(
      openIncident({
        id: 'crash',
        service: 'shop',
        groupKey: 'crash',
        title: 't',
        summary: 's',
        severity: 'critical',
        at: now,
      }),
    );
    const ids = replicaIds('before');
    await new EscalationCycle({ store, ids, baseUrl: 'http://h' }).run(now);
    // The dying process: claims (committed), then is gone before any outcome.
    const claimed = await store.outbox.claim({ now, limit: 100 });
    expect(claimed.filter((m) => m.incidentId === 'crash')).toHaveLength(2);
    await store.close();

    const restarted = await PostgresStore.open({ url: own.url });
    try {
      const notifiers = new RecordingNotifiers();
      const ids = replicaIds('after');
      const sender = new OutboxSender({ store: restarted, notifiers, ids }, { leaseMs: 30_000 });
      const escalation = new EscalationCycle({ store: restarted, ids, baseUrl: 'http://h' });
      now += 10_000;
      await sender.run(now, new AbortController().signal);
      expect(notifiers.received).toEqual([]);
      now += 30_000;
      const report = await sender.run(now, new AbortController().signal);
      expect(report.unknown).toBe(2);
      for (let t = 0; t < 5; t += 1) {
        now += MIN;
        await escalation.run(now);
        await sender.run(now, new AbortController().signal);
      }
      expect(notifiers.lines()).toEqual(['escalated → dora@mail', 'escalated → dan@mail']);
      const states = (await restarted.outbox.list({ incidentId: 'crash' })).map((m) => m.state);
      expect(states).toEqual(['unknown', 'unknown', 'sent', 'sent']);
      const timeline = await restarted.timeline.list('crash');
      expect(timeline.filter((e) => e.kind === 'notification_unknown')).toHaveLength(2);
    } finally {
      await restarted.close();
      await own.drop();
    }
  });
});
